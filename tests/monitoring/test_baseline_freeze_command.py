"""`manage.py baseline_freeze`: build and freeze as the system, with clear errors."""
from datetime import UTC, datetime, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditEvent
from monitoring.models import Baseline, BaselineStatus
from tests.factories import pydoc_sentences, traffic_rows

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=30)


@pytest.fixture(autouse=True)
def small_baselines(settings):
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 300


@pytest.fixture
def traffic(use_case):
    by_topic = pydoc_sentences()
    sentences = [sentence for topic in sorted(by_topic) for sentence in by_topic[topic]]
    rng = np.random.default_rng(11)
    traffic_rows(use_case=use_case, prompts=[sentences[i] for i in rng.integers(0, 150, size=350)],
                 responses=[sentences[150 + i] for i in rng.integers(0, 120, size=350)], start=START, end=END,
                 scores=list(rng.uniform(0.5, 1.0, size=350)))


def run(*args: str) -> str:
    out = StringIO()
    call_command("baseline_freeze", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_builds_freezes_and_prints_a_summary(use_case, traffic):
    output = run("--use-case", use_case.slug, "--start", START.isoformat(), "--end", END.isoformat())
    baseline = Baseline.objects.get(use_case=use_case)
    assert baseline.status == BaselineStatus.FROZEN
    assert f"baseline {baseline.pk} of {use_case.slug}: frozen" in output
    assert "350 sampled of 350 in range" in output
    assert baseline.artifact_sha256 in output
    frozen = AuditEvent.objects.get(action="baseline.frozen", object_id=str(baseline.pk))
    assert (frozen.actor_kind, frozen.actor_display) == ("system", "system:baseline_freeze")


@pytest.mark.django_db
def test_the_sample_size_option_caps_the_records(use_case, traffic):
    run("--use-case", use_case.slug, "--start", START.isoformat(), "--end", END.isoformat(), "--sample-size", "300")
    assert Baseline.objects.get(use_case=use_case).n_records == 300


@pytest.mark.django_db
def test_a_second_run_needs_a_reason_and_replaces_the_first(use_case, traffic):
    args = ["--use-case", use_case.slug, "--start", START.isoformat(), "--end", END.isoformat()]
    run(*args)
    with pytest.raises(CommandError, match="reason_required"):
        run(*args)
    run(*args, "--reason", "Quarterly rebaseline")
    assert list(Baseline.objects.filter(use_case=use_case).order_by("pk").values_list("status", flat=True)) == [
        BaselineStatus.REPLACED, BaselineStatus.FROZEN]


@pytest.mark.parametrize("args, message", [
    (["--use-case", "nope", "--start", "2026-03-01T00:00:00Z", "--end", "2026-03-31T00:00:00Z"], "Unknown use case"),
    (["--start", "March", "--end", "2026-03-31T00:00:00Z"], "not an ISO 8601"),
    (["--start", "2026-03-01T00:00:00", "--end", "2026-03-31T00:00:00Z"], "needs a time zone"),
    (["--start", "2026-03-31T00:00:00Z", "--end", "2026-03-01T00:00:00Z"], "invalid_range"),
])
@pytest.mark.django_db
def test_bad_arguments_stop_the_command_with_a_clear_message(use_case, args, message):
    if "--use-case" not in args:
        args = ["--use-case", use_case.slug, *args]
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Baseline.objects.exists()


@pytest.mark.django_db
def test_too_little_traffic_is_reported_with_its_code(use_case):
    with pytest.raises(CommandError, match="baseline_too_small"):
        run("--use-case", use_case.slug, "--start", START.isoformat(), "--end", END.isoformat())
