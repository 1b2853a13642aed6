"""Celery tasks of model probes, on the `probes` queue: execute one run; queue the runs that are due."""
import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from monitoring.services.probe_runs import probe_run_execute
from monitoring.services.probes import probe_runs_schedule_due
from monitoring.tasks.drift import TRANSIENT_ERRORS

logger = logging.getLogger(__name__)
HARD_TIME_LIMIT = settings.DRIFTGATE_PROBE_TIME_LIMIT
# A minute for the run to record its failure before the hard limit kills the process.
SOFT_TIME_LIMIT = HARD_TIME_LIMIT - 60


@shared_task(name="monitoring.tasks.probe_run", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=30, retry_backoff_max=600, retry_jitter=True, max_retries=5)
def probe_run(run_id: int) -> dict:
    """Execute one queued probe run; a redelivered message finds it finished or held and does nothing."""
    run = probe_run_execute(run_id=run_id)
    return {"run": run.pk, "status": run.status}


@shared_task(name="monitoring.tasks.probe_schedule_due", acks_late=True, soft_time_limit=120, time_limit=180,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=10, max_retries=3)
def probe_schedule_due() -> int:
    """Queue a run for every use case whose probe slot has none yet (hourly, from celery beat)."""
    queued = probe_runs_schedule_due(now=timezone.now())
    logger.info("queued %d probe runs", len(queued))
    return len(queued)
