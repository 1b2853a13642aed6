"""The drift task on a real Celery worker and Redis broker: redeliveries and concurrent workers make one run.

The worker runs in this process (celery.contrib.testing) against the transactional PostgreSQL test database;
the broker is a dedicated Redis database that is emptied before and after. Embeddings are real.
"""
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from driftgate.actors import Actor
from monitoring.models import Alert, DriftRun, DriftSignal, RunStatus
from monitoring.services.baselines import baseline_build, baseline_freeze
from monitoring.services.runs import drift_run_execute
from monitoring.tasks import drift as drift_tasks
from monitoring.tasks.drift import drift_window
from tests.factories import MonitoringPolicyFactory, drift_scenario_traffic
from tests.monitoring.worker_support import emptied_broker, finished_task_ids, production_like_app, wait_for

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
BASELINE_START = datetime(2026, 1, 5, tzinfo=UTC)
BASELINE_END = BASELINE_START + timedelta(days=7)
WINDOW_START = datetime(2026, 2, 2, 10, tzinfo=UTC)
WINDOW_END = WINDOW_START + timedelta(hours=1)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


@pytest.fixture
def broker():
    """An empty Redis database for the broker and results; skipped when Redis is not running."""
    with emptied_broker(REDIS_URL) as url:
        yield url


@pytest.fixture
def worker_app(broker):
    """A Celery app configured like production (settings, routes, acks_late) but on the test broker."""
    with production_like_app("driftgate-tests", broker) as app:
        yield app


@pytest.fixture
def finished_tasks():
    """Count tasks that finished in the worker, so a test can wait for every delivery, duplicates included."""
    with finished_task_ids() as done:
        yield done


def _wait_for(done: list, count: int, timeout: float = 180.0) -> None:
    wait_for(done, count, timeout=timeout, what="deliveries")


@pytest.fixture
def shifted_window(use_case, settings):
    """A frozen baseline and a window with a new topic and a quality drop: its run raises a stop alert."""
    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 300
    settings.DRIFTGATE_RUN_MIN_RECORDS = 100
    drift_scenario_traffic(use_case=use_case, start=BASELINE_START, end=BASELINE_END, records=900, prefix="base",
                           seed=21)
    actor = Actor.system("tests")
    baseline_freeze(actor=actor, baseline=baseline_build(actor=actor, use_case=use_case, start=BASELINE_START,
                                                         end=BASELINE_END))
    MonitoringPolicyFactory(use_case=use_case, auto_halt=True)
    drift_scenario_traffic(use_case=use_case, start=WINDOW_START, end=WINDOW_END, records=400, new_topic_share=0.3,
                           quality_drop=0.2, prefix="w", seed=22)
    return (use_case.pk, WINDOW_START.isoformat(), WINDOW_END.isoformat())


def test_a_window_delivered_twice_and_redelivered_makes_one_run_and_one_alert(worker_app, shifted_window,
                                                                              finished_tasks):
    task = worker_app.tasks[drift_window.name]

    with start_worker(worker_app, pool="solo", perform_ping_check=False, queues=["drift"], shutdown_timeout=30):
        first = task.apply_async(args=shifted_window)
        second = task.apply_async(args=shifted_window)
        # A redelivery is the same message again: same task id, same arguments.
        task.apply_async(args=shifted_window, task_id=first.id)
        _wait_for(finished_tasks, 3)

    assert first.get(timeout=10)["status"] == RunStatus.SUCCEEDED
    assert second.get(timeout=10)["run"] == first.get(timeout=10)["run"]
    run = DriftRun.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.severity == "stop"
    assert Alert.objects.filter(run=run).count() == 1
    assert DriftSignal.objects.filter(run=run).count() == run.signals.count() > 0


def test_two_concurrent_workers_on_one_window_make_one_run(worker_app, shifted_window, monkeypatch):
    # The delivery that finds the window running elsewhere looks again a second later instead of in minutes.
    monkeypatch.setattr(drift_tasks, "RUNNING_RECHECK_SECONDS", 1)
    task = worker_app.tasks[drift_window.name]

    with start_worker(worker_app, pool="threads", concurrency=2, perform_ping_check=False, queues=["drift"],
                      shutdown_timeout=30):
        results = [task.apply_async(args=shifted_window) for _ in range(2)]
        outcomes = [result.get(timeout=180) for result in results]

    assert len({outcome["run"] for outcome in outcomes}) == 1
    assert {outcome["status"] for outcome in outcomes} == {RunStatus.SUCCEEDED}
    assert DriftRun.objects.count() == 1 and Alert.objects.count() == 1


def test_concurrent_calls_of_the_service_make_one_run(shifted_window, use_case):
    barrier = threading.Barrier(3)
    runs, errors = [], []

    def call():
        try:
            barrier.wait()
            runs.append(drift_run_execute(use_case=use_case, window_start=WINDOW_START, window_end=WINDOW_END))
        except Exception as exc:  # collected and asserted below, so a failure in a thread fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(180)

    assert not errors
    assert len({run.pk for run in runs}) == 1
    assert DriftRun.objects.count() == 1 and Alert.objects.count() == 1
    assert sorted(run.status for run in runs).count(RunStatus.SUCCEEDED) == 1
