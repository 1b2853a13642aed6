"""Celery tasks of the hourly drift runs: thin wrappers that load ids and call one service each."""
import logging
from datetime import UTC, datetime, timedelta

import psycopg
import redis.exceptions
from celery import chain, shared_task
from django.conf import settings
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from django.db import transaction
from django.utils import timezone

from driftgate.datetimes import parse_aware_datetime
from governance.models import Stage, UseCase
from monitoring.models import Baseline, BaselineStatus, DriftRun, MonitoringPolicy, RunStatus
from monitoring.services.runs import FINISHED, drift_run_execute
from monitoring.tasks.embedding import embed_window

logger = logging.getLogger(__name__)

# Only errors that a later attempt can outlive: the database or the broker being briefly away. Django wraps the
# driver's OperationalError in its own, so both are named.
TRANSIENT_ERRORS = (psycopg.OperationalError, DjangoOperationalError, DjangoInterfaceError,
                    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
HARD_TIME_LIMIT = settings.DRIFTGATE_DRIFT_TIME_LIMIT
# The soft limit leaves the run a minute to record its failure before the hard limit kills the process (a quarter
# of the limit when that is shorter than four minutes, so a short limit still has a soft one).
SOFT_TIME_LIMIT = HARD_TIME_LIMIT - min(60, HARD_TIME_LIMIT // 4)
# A delivery that finds its window running elsewhere checks again this often, until the run is stale.
RUNNING_RECHECK_SECONDS = 300
RUNNING_RECHECKS = HARD_TIME_LIMIT // RUNNING_RECHECK_SECONDS + 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _parse(value: str) -> datetime:
    parsed = parse_aware_datetime(value)
    if parsed is None:
        raise ValueError(f"not an ISO 8601 date-time with a time zone: {value!r}")
    return parsed


@shared_task(bind=True, name="monitoring.tasks.drift_window", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=SOFT_TIME_LIMIT, time_limit=HARD_TIME_LIMIT, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=30, retry_backoff_max=600, retry_jitter=True, max_retries=5)
def drift_window(self, use_case_id: int, start_iso: str, end_iso: str) -> dict:
    """Run drift detection for one window of one use case; a redelivered message finds the run already there."""
    use_case = UseCase.objects.get(pk=use_case_id)
    run = drift_run_execute(use_case=use_case, window_start=_parse(start_iso), window_end=_parse(end_iso))
    if run.status == RunStatus.RUNNING:
        # Another worker holds the window. Look again later rather than drop the message: if that worker died,
        # the run turns stale after the hard time limit and this delivery takes it over.
        raise self.retry(countdown=RUNNING_RECHECK_SECONDS, max_retries=RUNNING_RECHECKS)
    return {"run": run.pk, "status": run.status, "severity": run.severity, "n": run.n}


def last_complete_window(*, now: datetime, window_hours: int) -> tuple[datetime, datetime]:
    """Return the newest window of `window_hours` that has ended; windows tile time from the Unix epoch."""
    hours_since_epoch = int((now - _EPOCH).total_seconds() // 3600)
    end_hour = hours_since_epoch - hours_since_epoch % window_hours
    end = _EPOCH + timedelta(hours=end_hour)
    return end - timedelta(hours=window_hours), end


def due_windows(*, now: datetime) -> list[tuple[int, datetime, datetime]]:
    """Return (use case id, start, end) of the windows each monitored use case still needs run.

    The newest complete window is due until it has a finished run. Older windows within the catch-up horizon
    (`DRIFTGATE_DRIFT_CATCH_UP_WINDOWS`) are due when they have no run at all: a message lost with its broker
    or a beat that was down is made good on the next tick, while a window that failed for good is not retried
    every hour (`drift_run` reruns it by hand).
    """
    frozen = {baseline.use_case_id: baseline for baseline in Baseline.objects.filter(status=BaselineStatus.FROZEN)}
    monitored = (MonitoringPolicy.objects.filter(enabled=True, use_case_id__in=frozen.keys())
                 .exclude(use_case__stage=Stage.RETIRED)
                 .order_by("use_case_id"))
    due = []
    for policy in monitored:
        start, end = last_complete_window(now=now, window_hours=policy.window_hours)
        step = timedelta(hours=policy.window_hours)
        horizon = start - step * max(settings.DRIFTGATE_DRIFT_CATCH_UP_WINDOWS - 1, 0)
        # Windows inside the baseline's own period compare the baseline with itself: start after it.
        horizon = max(horizon, frozen[policy.use_case_id].end)
        runs = dict(DriftRun.objects.filter(use_case_id=policy.use_case_id, window_start__gte=horizon,
                                            window_start__lte=start).values_list("window_start", "status"))
        window_start = start
        while window_start >= horizon:
            status = runs.get(window_start)
            newest = window_start == start
            if (newest and status not in FINISHED) or (not newest and status is None):
                due.append((policy.use_case_id, window_start, window_start + step))
            window_start -= step
    return due


@shared_task(name="monitoring.tasks.schedule_hourly_runs", acks_late=True, soft_time_limit=60, time_limit=120,
             autoretry_for=TRANSIENT_ERRORS, retry_backoff=10, max_retries=3)
def schedule_hourly_runs() -> int:
    """Enqueue embedding then drift detection for every window a monitored use case still needs run."""
    due = due_windows(now=timezone.now())
    for use_case_id, start, end in due:
        args = (use_case_id, start.isoformat(), end.isoformat())
        # Embedding first, on its own queue, so drift workers spend their time on statistics.
        work = chain(embed_window.si(*args), drift_window.si(*args))
        transaction.on_commit(work.apply_async)
    logger.info("scheduled %d drift windows", len(due))
    return len(due)
