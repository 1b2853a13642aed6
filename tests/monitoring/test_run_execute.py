"""drift_run_execute: one run per window, skipped when there is nothing to compare, real statistics otherwise."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import ValidationFailed
from governance.models import AuditEvent
from monitoring.models import (
    Alert,
    Baseline,
    BaselineStatus,
    CalibrationItem,
    CalibrationRating,
    DriftRun,
    DriftSignal,
    RunStatus,
)
from monitoring.services.baselines import baseline_build, baseline_freeze
from monitoring.services.runs import _label_pairs, drift_run_execute, run_seed
from tests.factories import DriftRunFactory, MonitoringPolicyFactory, drift_scenario_traffic

pytestmark = pytest.mark.django_db

BASELINE_START = datetime(2026, 1, 5, tzinfo=UTC)
BASELINE_END = BASELINE_START + timedelta(days=7)
WINDOW_START = datetime(2026, 2, 2, 10, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(hours=1)


@pytest.fixture
def frozen_baseline(use_case, settings):
    """A frozen baseline of 900 records repeating ~350 real sentences, with quality scores around 0.8."""
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 300
    drift_scenario_traffic(use_case=use_case, start=BASELINE_START, end=BASELINE_END, records=900, prefix="base",
                           seed=11)
    actor = Actor.system("tests")
    baseline = baseline_build(actor=actor, use_case=use_case, start=BASELINE_START, end=BASELINE_END)
    return baseline_freeze(actor=actor, baseline=baseline)


def _placeholder_baseline(use_case) -> Baseline:
    return Baseline.objects.create(use_case=use_case, start=BASELINE_START, end=BASELINE_END,
                                   status=BaselineStatus.FROZEN, embedding_model="all-MiniLM-L6-v2:384",
                                   frozen_at=timezone.now())


def test_a_window_without_a_frozen_baseline_is_skipped(use_case):
    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert run.status == RunStatus.SKIPPED and "baseline" in run.error
    assert run.finished_at is not None and not Alert.objects.exists()


def test_a_window_with_too_few_records_is_skipped_with_the_reason(use_case, settings):
    settings.DRIFTGATE_RUN_MIN_RECORDS = 50
    _placeholder_baseline(use_case)
    drift_scenario_traffic(use_case=use_case, start=WINDOW_START, end=WINDOW_END, records=20, prefix="w", seed=1)

    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert run.status == RunStatus.SKIPPED and run.n == 20
    assert "20 in the window, 50 needed" in run.error


def test_a_finished_run_is_returned_as_is_when_the_window_is_delivered_again(use_case):
    finished = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END,
                               severity="review")

    again = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert again.pk == finished.pk and again.severity == "review"
    assert DriftRun.objects.count() == 1 and not DriftSignal.objects.exists()


def test_a_window_another_worker_is_running_is_left_alone(use_case):
    running = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END,
                              status="running", severity="", finished_at=None, started_at=timezone.now())

    again = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert again.pk == running.pk and again.status == RunStatus.RUNNING


def test_a_run_left_running_past_the_time_limit_is_taken_over(use_case, settings):
    stale = timezone.now() - timedelta(seconds=settings.DRIFTGATE_DRIFT_TIME_LIMIT + 5)
    left = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END, status="running",
                           severity="", finished_at=None, started_at=stale)

    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert run.pk == left.pk and run.status == RunStatus.SKIPPED and run.started_at > stale


def test_a_failed_run_is_claimed_again(use_case):
    failed = DriftRunFactory(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END, status="failed",
                             severity="", error="OperationalError: server closed the connection")

    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert run.pk == failed.pk and run.status == RunStatus.SKIPPED


def test_the_seed_comes_from_the_window_unless_given(use_case):
    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)
    other = drift_run_execute(use_case=use_case, window_start=WINDOW_END, window_end=WINDOW_END + timedelta(hours=1),
                              seed=7)

    assert run.seed == run_seed(use_case_id=use_case.pk, window_start=WINDOW_START)
    in_another_zone = WINDOW_START.astimezone(timezone.get_fixed_timezone(120))
    assert run.seed == run_seed(use_case_id=use_case.pk, window_start=in_another_zone)
    assert other.seed == 7


@pytest.mark.parametrize(("start", "end"), [
    (WINDOW_END, WINDOW_START),
    (WINDOW_START, WINDOW_START),
    (WINDOW_START.replace(tzinfo=None), WINDOW_END.replace(tzinfo=None)),
])
def test_an_empty_inverted_or_naive_window_is_refused(use_case, start, end):
    with pytest.raises(ValidationFailed) as caught:
        drift_run_execute(use_case=use_case, window_start=start, window_end=end)

    assert caught.value.code == "invalid_window"
    assert not DriftRun.objects.exists()


def test_label_pairs_take_each_items_latest_rating_inside_the_window(use_case):
    first = CalibrationItem.objects.create(use_case=use_case, key="refund", prompt="p", response="r",
                                          baseline_rating=4.0)
    second = CalibrationItem.objects.create(use_case=use_case, key="tariff", prompt="p", response="r",
                                           baseline_rating=3.0)
    CalibrationItem.objects.create(use_case=use_case, key="unrated", prompt="p", response="r", baseline_rating=5.0)
    CalibrationRating.objects.create(item=first, rating=3.5, rater="ana", rated_at=WINDOW_START + timedelta(minutes=5))
    CalibrationRating.objects.create(item=first, rating=2.5, rater="ana", rated_at=WINDOW_START + timedelta(minutes=50))
    CalibrationRating.objects.create(item=first, rating=1.0, rater="ana", rated_at=WINDOW_END + timedelta(minutes=1))
    CalibrationRating.objects.create(item=second, rating=3.0, rater="bo", rated_at=WINDOW_START)

    before, after = _label_pairs(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert before.tolist() == [4.0, 3.0] and after.tolist() == [2.5, 3.0]


def test_a_window_like_the_baseline_is_ok_and_raises_no_alert(use_case, frozen_baseline, settings):
    settings.DRIFTGATE_RUN_MIN_RECORDS = 100
    MonitoringPolicyFactory(use_case=use_case, auto_halt=True)
    drift_scenario_traffic(use_case=use_case, start=WINDOW_START, end=WINDOW_END, records=400, prefix="w", seed=12)

    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.severity == "ok" and run.n == 400 and run.baseline == frozen_baseline
    assert run.duration_ms is not None and run.signals.filter(name="prompt_drift").exists()
    assert not Alert.objects.exists()
    use_case.refresh_from_db()
    assert not use_case.halted


def test_a_new_topic_and_a_quality_drop_raise_a_stop_that_halts_under_auto_halt(use_case, frozen_baseline, settings):
    settings.DRIFTGATE_RUN_MIN_RECORDS = 100
    MonitoringPolicyFactory(use_case=use_case, auto_halt=True)
    drift_scenario_traffic(use_case=use_case, start=WINDOW_START, end=WINDOW_END, records=400, new_topic_share=0.3,
                           quality_drop=0.2, prefix="w", seed=13)

    run = drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.severity == "stop"
    assert run.signals.get(name="quality_drop").severity == "stop"
    alert = Alert.objects.get(run=run)
    assert alert.severity == "stop" and alert.halt_applied and "quality_drop" in alert.summary["raised_by"]
    use_case.refresh_from_db()
    assert use_case.halted
    assert AuditEvent.objects.filter(action="alert.raised", object_id=str(alert.pk)).exists()
    assert AuditEvent.objects.filter(action="use_case.halted", use_case=use_case).exists()
