"""The hourly schedule: which windows are due, how they tile time, and the task definitions' retry rules."""
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.conf import settings
from django.utils import timezone

from governance.models import Stage
from monitoring.models import Baseline, BaselineStatus, DriftRun, RunStatus
from monitoring.tasks.drift import drift_window, due_windows, last_complete_window, schedule_hourly_runs
from tests.factories import DriftRunFactory, MonitoringPolicyFactory, UseCaseFactory

NOW = datetime(2026, 3, 4, 15, 5, 12, tzinfo=UTC)


def _frozen(use_case):
    return Baseline.objects.create(use_case=use_case, start=NOW - timedelta(days=60), end=NOW - timedelta(days=30),
                                   status=BaselineStatus.FROZEN, embedding_model="all-MiniLM-L6-v2:384",
                                   frozen_at=NOW - timedelta(days=29))


def test_the_last_complete_hourly_window_is_the_hour_that_just_ended():
    assert last_complete_window(now=NOW, window_hours=1) == (datetime(2026, 3, 4, 14, tzinfo=UTC),
                                                             datetime(2026, 3, 4, 15, tzinfo=UTC))


def test_longer_windows_tile_time_without_overlapping():
    start, end = last_complete_window(now=NOW, window_hours=6)
    later_start, _ = last_complete_window(now=NOW + timedelta(hours=6), window_hours=6)

    assert (start, end) == (datetime(2026, 3, 4, 6, tzinfo=UTC), datetime(2026, 3, 4, 12, tzinfo=UTC))
    assert later_start == end


@pytest.fixture
def newest_window_only(settings):
    """Look at the newest window alone; catching up older windows has its own tests."""
    settings.DRIFTGATE_DRIFT_CATCH_UP_WINDOWS = 1


@pytest.mark.django_db
@pytest.mark.usefixtures("newest_window_only")
def test_only_enabled_policies_with_a_frozen_baseline_on_live_use_cases_are_due():
    due_case = MonitoringPolicyFactory().use_case
    _frozen(due_case)
    disabled = MonitoringPolicyFactory(enabled=False).use_case
    _frozen(disabled)
    MonitoringPolicyFactory()  # no baseline
    retired = MonitoringPolicyFactory(use_case=UseCaseFactory(stage=Stage.RETIRED)).use_case
    _frozen(retired)

    due = due_windows(now=NOW)

    assert due == [(due_case.pk, datetime(2026, 3, 4, 14, tzinfo=UTC), datetime(2026, 3, 4, 15, tzinfo=UTC))]


@pytest.mark.django_db
@pytest.mark.usefixtures("newest_window_only")
def test_a_window_already_run_is_not_due_again_but_a_failed_one_is():
    done = MonitoringPolicyFactory().use_case
    failed = MonitoringPolicyFactory().use_case
    for use_case in (done, failed):
        _frozen(use_case)
    start, end = last_complete_window(now=NOW, window_hours=1)
    DriftRunFactory(use_case=done, window_start=start, window_end=end)
    DriftRunFactory(use_case=failed, window_start=start, window_end=end, status="failed", severity="")

    assert [use_case_id for use_case_id, _, _ in due_windows(now=NOW)] == [failed.pk]


@pytest.mark.django_db
def test_older_windows_without_a_run_are_caught_up_within_the_horizon(settings):
    settings.DRIFTGATE_DRIFT_CATCH_UP_WINDOWS = 4
    use_case = MonitoringPolicyFactory().use_case
    _frozen(use_case)
    hour = datetime(2026, 3, 4, 14, tzinfo=UTC)
    # 13:00 ran, 12:00 failed for good (not retried every hour), 11:00 never got a run (lost message).
    DriftRunFactory(use_case=use_case, window_start=hour - timedelta(hours=1), window_end=hour)
    DriftRunFactory(use_case=use_case, window_start=hour - timedelta(hours=2), window_end=hour - timedelta(hours=1),
                    status="failed", severity="")

    due = [start for _, start, _ in due_windows(now=NOW)]

    assert due == [hour, hour - timedelta(hours=3)]


@pytest.mark.django_db
def test_catching_up_never_reaches_back_into_the_baseline_period(settings):
    settings.DRIFTGATE_DRIFT_CATCH_UP_WINDOWS = 24
    use_case = MonitoringPolicyFactory().use_case
    baseline = _frozen(use_case)
    Baseline.objects.filter(pk=baseline.pk).update(end=datetime(2026, 3, 4, 12, tzinfo=UTC))

    due = [start for _, start, _ in due_windows(now=NOW)]

    assert due == [datetime(2026, 3, 4, 14, tzinfo=UTC), datetime(2026, 3, 4, 13, tzinfo=UTC),
                   datetime(2026, 3, 4, 12, tzinfo=UTC)]


@pytest.mark.django_db(transaction=True)
def test_the_schedule_embeds_then_runs_each_due_window(settings):
    settings.DRIFTGATE_DRIFT_CATCH_UP_WINDOWS = 1
    # No broker in the test settings: Celery runs the chain in-process, through the same code paths.
    use_case = MonitoringPolicyFactory().use_case
    _frozen(use_case)

    scheduled = schedule_hourly_runs.apply().get()

    assert scheduled == 1
    run = DriftRun.objects.get(use_case=use_case)
    start, end = last_complete_window(now=timezone.now(), window_hours=1)
    assert (run.window_start, run.window_end) == (start, end)
    assert run.status == RunStatus.SKIPPED  # the window has no traffic


def test_the_drift_task_retries_only_named_transient_errors_and_survives_a_lost_worker():
    assert drift_window.name == "monitoring.tasks.drift_window"
    assert drift_window.acks_late and drift_window.reject_on_worker_lost
    assert drift_window.time_limit == settings.DRIFTGATE_DRIFT_TIME_LIMIT
    assert 0 < drift_window.soft_time_limit < drift_window.time_limit
    assert psycopg.OperationalError in drift_window.autoretry_for
    assert Exception not in drift_window.autoretry_for and drift_window.max_retries == 5


def test_the_tasks_go_to_the_drift_queue_and_beat_runs_the_schedule_hourly():
    routes = settings.CELERY_TASK_ROUTES
    assert routes["monitoring.tasks.drift_*"]["queue"] == "drift"
    assert routes["monitoring.tasks.schedule_*"]["queue"] == "drift"
    entry = settings.CELERY_BEAT_SCHEDULE["monitoring-hourly-drift-runs"]
    assert entry["task"] == schedule_hourly_runs.name
    assert entry["schedule"].minute == {5} and len(entry["schedule"].hour) == 24
