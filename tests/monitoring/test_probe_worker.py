"""Probe runs on a real Celery worker and Redis broker: routed to the `probes` queue, once per schedule slot.

The service queues through its on-commit hook into the test broker; a worker that consumes only the `probes`
queue runs them, so a route that sent them elsewhere would leave them unrun.
"""
import os
from datetime import UTC, datetime, timedelta

import pytest
from celery.contrib.testing.worker import start_worker

from monitoring.models import ProbeResult, ProbeRun, ProbeRunStatus, ProbeTrigger
from monitoring.services import probes as probe_services
from monitoring.services.probes import model_endpoint_set, probe_runs_schedule_due
from monitoring.tasks.probes import probe_run
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case
from tests.monitoring.worker_support import emptied_broker, finished_task_ids, production_like_app, wait_for

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
# Set per test to the worker app's task, so the service's own queueing reaches the test broker.
WORKER_TASK = None

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


@pytest.fixture
def worker_app(monkeypatch):
    """A Celery app with the project's settings and routes, on an emptied Redis database."""
    with emptied_broker(REDIS_URL) as broker, production_like_app("driftgate-probe-tests", broker) as app:
        monkeypatch.setattr(f"{__name__}.WORKER_TASK", app.tasks[probe_run.name])
        monkeypatch.setattr(probe_services, "PROBE_TASK", f"{__name__}.WORKER_TASK")
        yield app


@pytest.fixture
def finished_tasks():
    """Task ids the worker finished, duplicates included."""
    with finished_task_ids() as done:
        yield done


def _wait_for(done: list, count: int, timeout: float = 120.0) -> None:
    wait_for(done, count, timeout=timeout)


def test_the_schedule_queues_base_and_model_runs_once_per_slot_and_the_probes_worker_runs_them(
        worker_app, finished_tasks, openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS, interval_hours=24)
    model_endpoint_set(actor=probed.owner, model_version=probed.version, target="model", url=openai_stub.url,
                       model_name="arith-regress")
    model_endpoint_set(actor=probed.owner, model_version=probed.version, target="base", url=openai_stub.url,
                       model_name="good")

    with start_worker(worker_app, pool="solo", perform_ping_check=False, queues=["probes"], shutdown_timeout=30):
        queued = probe_runs_schedule_due(now=NOW)
        assert [run.target for run in queued] == ["base", "model"]
        _wait_for(finished_tasks, 2)
        # The same slot an hour later queues nothing; a redelivered message finds its run finished.
        assert probe_runs_schedule_due(now=NOW + timedelta(hours=1)) == []
        WORKER_TASK.apply_async(args=[queued[0].pk], task_id=finished_tasks[0])
        _wait_for(finished_tasks, 3)

    runs = list(ProbeRun.objects.order_by("id"))
    assert [run.status for run in runs] == [ProbeRunStatus.SUCCEEDED] * 2
    assert {run.trigger for run in runs} == {ProbeTrigger.SCHEDULE}
    assert {run.scheduled_for for run in runs} == {datetime(2026, 12, 1, tzinfo=UTC)}
    assert ProbeResult.objects.count() == 16
    assert runs[1].signal_run is not None and runs[1].signal_run.severity == "review"
    assert probe_runs_schedule_due(now=NOW + timedelta(days=1)) != []
