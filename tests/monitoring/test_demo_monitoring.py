"""`manage.py demo_seed` leaves a demo that shows monitoring: traffic that repeats, a frozen baseline, a week of
hourly runs with a new-topic episode (review, triaged as a legitimate change) and a quality drop (stop, halted)."""
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Q

from governance.audit import audit_verify_chain
from governance.models import AuditEvent, UseCase
from governance.selectors.status import use_case_status
from monitoring.demo import seed as demo
from monitoring.demo.texts import E_INVOICING
from monitoring.models import Alert, AlertStatus, BaselineStatus, DriftRun, RunStatus, TrafficRecord


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def seeded(postgres_only, monkeypatch):
    monkeypatch.setenv("DRIFTGATE_DEMO_PASSWORD", "demo password for tests")
    out = io.StringIO()
    call_command("demo_seed", stdout=out)
    return UseCase.objects.get(slug="invoice-assistant"), out.getvalue()


# One seed takes most of a minute, so one test checks the seeded demo at length.


def test_the_demo_shows_a_month_of_traffic_a_baseline_and_a_week_of_runs_with_an_episode(seeded):
    use_case, output = seeded
    records = TrafficRecord.objects.filter(use_case=use_case)
    first, last = records.order_by("timestamp").first(), records.order_by("-timestamp").first()

    assert records.count() > 60_000
    assert timedelta(days=29) < last.timestamp - first.timestamp <= timedelta(days=30)
    distinct = records.values("prompt_digest").distinct().count()
    # Real support traffic repeats itself: far fewer distinct prompts than records, yet enough to cluster.
    assert 300 < distinct < records.count() / 20
    top = records.values("prompt_digest").annotate(n=Count("id")).order_by("-n").first()
    assert top["n"] > 1000
    baseline = use_case.baselines.get(status=BaselineStatus.FROZEN)
    assert baseline.end <= last.timestamp - timedelta(days=7)
    assert baseline.summary["distinct_prompts"] > 100
    assert f"baseline {baseline.pk} frozen" in output
    assert "http://127.0.0.1:8000/use-cases/invoice-assistant/monitoring/" in output

    runs = DriftRun.objects.filter(use_case=use_case)
    end = runs.order_by("-window_end").first().window_end

    assert runs.count() == 7 * 24
    assert runs.filter(status=RunStatus.SKIPPED).count() == 4  # traffic stopped after the halt
    episode_start, episode_end = end - timedelta(hours=111), end - timedelta(hours=108)
    reviews = Alert.objects.filter(use_case=use_case, severity="review", run__window_start__gte=episode_start,
                                   run__window_start__lt=episode_end)
    assert reviews.exists()
    assert {signal.name for alert in reviews for signal in alert.run.signals.all() if signal.severity == "review"
            } & {"prompt_drift", "topic_novelty"}
    triaged = reviews.filter(status=AlertStatus.TRIAGED)
    assert triaged.exists() and set(triaged.values_list("verdict", flat=True)) == {"legitimate_change"}
    stops = Alert.objects.filter(use_case=use_case, severity="stop").order_by("run__window_start")
    assert stops.exists()
    assert all(end - timedelta(hours=6) <= alert.run.window_start < end - timedelta(hours=4) for alert in stops)
    first_stop = stops.first()
    assert first_stop.halt_applied
    assert "quality_drop" in first_stop.summary["raised_by"]
    use_case.refresh_from_db()
    assert use_case.halted
    status = use_case_status(use_case=use_case, require=None)
    assert status["ok"] is False and status["halted"] is True

    # The new topic is asked about in the episode's hours only.
    new_topic = Q()
    for prompt in E_INVOICING[0].prompts:
        new_topic |= Q(prompt__contains=prompt)
    hours = set(records.filter(new_topic).values_list("hour", flat=True).distinct())
    assert hours == {end - timedelta(hours=h + 1) for h in demo.NEW_TOPIC_HOURS}

    # Seeding again changes nothing.
    events = AuditEvent.objects.count()
    counts = (TrafficRecord.objects.count(), DriftRun.objects.count(), Alert.objects.count())

    call_command("demo_seed", stdout=io.StringIO())

    assert AuditEvent.objects.count() == events
    assert (TrafficRecord.objects.count(), DriftRun.objects.count(), Alert.objects.count()) == counts
    assert audit_verify_chain().ok
