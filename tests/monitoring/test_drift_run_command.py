"""`manage.py drift_run`, end to end on PostgreSQL with real embeddings, and its refusals."""
import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.services.tokens import api_token_create
from monitoring.models import Alert, DriftRun
from monitoring.services.baselines import baseline_build, baseline_freeze
from tests.factories import MonitoringPolicyFactory, drift_scenario_traffic

BASELINE_START = datetime(2026, 1, 5, tzinfo=UTC)
BASELINE_END = BASELINE_START + timedelta(days=7)
WINDOW_START = datetime(2026, 2, 2, 10, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(hours=1)
SIGNAL_KEYS = {"name", "statistic", "p_value", "p_adjusted", "effect_size", "effect_unit", "severity", "details"}


def _drift_run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("drift_run", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def monitored(use_case, settings):
    """A use case with a frozen baseline of real sentences and a policy that halts on stop."""
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 300
    settings.DRIFTGATE_RUN_MIN_RECORDS = 100
    drift_scenario_traffic(use_case=use_case, start=BASELINE_START, end=BASELINE_END, records=900, prefix="base",
                           seed=31)
    actor = Actor.system("tests")
    baseline_freeze(actor=actor, baseline=baseline_build(actor=actor, use_case=use_case, start=BASELINE_START,
                                                         end=BASELINE_END))
    MonitoringPolicyFactory(use_case=use_case, auto_halt=True)
    return use_case


@pytest.mark.django_db
def test_a_shifted_window_with_worse_answers_stops_and_halts_and_ci_status_turns_red(monitored, make_user, grant):
    use_case = monitored
    drift_scenario_traffic(use_case=use_case, start=WINDOW_START, end=WINDOW_END, records=400, new_topic_share=0.3,
                           quality_drop=0.2, prefix="w", seed=32)

    out, _ = _drift_run("--use-case", use_case.slug, "--start", WINDOW_START.isoformat(),
                        "--end", WINDOW_END.isoformat(), "--json")

    data = json.loads(out)
    assert set(data) == {"use_case", "window", "n", "status", "severity", "duration_ms", "duration_seconds", "signals"}
    assert data["use_case"] == use_case.slug and data["n"] == 400 and data["severity"] == "stop"
    run = DriftRun.objects.get(use_case=use_case)
    # The duration is the stored run's, from claim to result, and it covered the window's embedding.
    assert data["duration_ms"] == run.duration_ms > 0 and data["duration_seconds"] == run.duration_ms / 1000
    assert data["window"] == {"start": WINDOW_START.isoformat(), "end": WINDOW_END.isoformat()}
    assert all(set(signal) == SIGNAL_KEYS for signal in data["signals"])
    by_name = {signal["name"]: signal for signal in data["signals"]}
    assert by_name["quality_drop"]["severity"] == "stop"
    # Input drift alone may only reach review under the seed policy; the quality drop is what stops.
    assert by_name["prompt_drift"]["severity"] == "review" and by_name["prompt_drift"]["p_adjusted"] < 0.01
    assert Alert.objects.get().halt_applied
    use_case.refresh_from_db()
    assert use_case.halted

    ci = make_user()
    grant(ci, use_case, "viewer")
    _, raw = api_token_create(actor=Actor.for_user(ci), owner_username=ci.username, name="ci", scopes=["status:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    status = client.get(f"/api/v1/use-cases/{use_case.slug}/status")
    assert status.status_code == 200
    body = status.json()
    assert body["ok"] is False and body["halted"] is True
    assert body["drift"]["open_stop_alerts"] == 1
    assert any("halt" in reason.lower() for reason in body["reasons"])


@pytest.mark.django_db
def test_running_the_same_window_again_prints_the_stored_run(monitored):
    drift_scenario_traffic(use_case=monitored, start=WINDOW_START, end=WINDOW_END, records=300, prefix="w", seed=33)
    args = ("--use-case", monitored.slug, "--start", WINDOW_START.isoformat(), "--end", WINDOW_END.isoformat(),
            "--json")

    first, _ = _drift_run(*args)
    second, _ = _drift_run(*args)

    assert first == second and DriftRun.objects.count() == 1


@pytest.mark.django_db
def test_without_json_it_prints_a_table_and_reports_a_skip(use_case):
    out, err = _drift_run("--use-case", use_case.slug, "--start", "2026-02-02T10:00:00Z", "--end",
                          "2026-02-02T11:00:00Z")

    assert out.startswith(f"{use_case.slug}  2026-02-02T10:00:00+00:00") and "severity=skipped" in out
    assert "No frozen baseline" in err


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "message"), [
    (("--use-case", "nope", "--start", "2026-02-02T10:00:00Z", "--end", "2026-02-02T11:00:00Z"),
     "Unknown use case 'nope'"),
    (("--use-case", "{slug}", "--start", "yesterday", "--end", "2026-02-02T11:00:00Z"), "not an ISO 8601"),
    (("--use-case", "{slug}", "--start", "2026-02-30T10:00:00Z", "--end", "2026-03-02T11:00:00Z"), "not an ISO 8601"),
    (("--use-case", "{slug}", "--start", "2026-02-02T10:00:00", "--end", "2026-02-02T11:00:00Z"), "needs a time zone"),
    (("--use-case", "{slug}", "--start", "2026-02-02T11:00:00Z", "--end", "2026-02-02T10:00:00Z"), "invalid_window"),
])
def test_it_exits_with_a_clear_message_on_bad_arguments(use_case, args, message):
    args = tuple(arg.format(slug=use_case.slug) for arg in args)

    with pytest.raises(CommandError, match=message):
        _drift_run(*args)

    assert not DriftRun.objects.exists()
