"""Celery tasks on the `embed` queue: embedding a window's sample, and computing and freezing a baseline."""
import functools
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import django.db
import psycopg
import redis.exceptions
from celery import shared_task
from django.db import transaction
from django.utils.dateparse import parse_datetime

from driftgate.actors import Actor
from governance.models import UseCase
from monitoring.models import Baseline
from monitoring.services.baselines import baseline_complete
from monitoring.services.embeddings import window_embed

logger = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Only failures that a later attempt can cure. Django wraps driver errors, so a dropped connection surfaces as
# django.db.OperationalError/InterfaceError; psycopg's own class covers code that talks to the driver directly.
TRANSIENT_ERRORS = (django.db.OperationalError, django.db.InterfaceError, psycopg.OperationalError,
                    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

# A 5,000-record window is at most ~4 minutes of embedding on two cores (long responses at ~25/s).
WINDOW_SOFT_LIMIT, WINDOW_HARD_LIMIT = 900, 960
# 50,000 long responses take ~35 minutes; both limits stay under the broker's one-hour visibility timeout, so a
# slow but live build is never handed to a second worker.
BASELINE_SOFT_LIMIT, BASELINE_HARD_LIMIT = 3300, 3500


@shared_task(name="monitoring.tasks.embed_window", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=WINDOW_SOFT_LIMIT, time_limit=WINDOW_HARD_LIMIT, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=True, retry_backoff_max=300, retry_jitter=True, max_retries=5)
def embed_window(use_case_id: int, start_iso: str, end_iso: str) -> int:
    """Embed the distinct texts of a window's uniform sample; re-running it embeds nothing twice."""
    use_case = UseCase.objects.filter(pk=use_case_id).first()
    start, end = parse_datetime(start_iso), parse_datetime(end_iso)
    if use_case is None or start is None or end is None:
        logger.warning("embed_window: nothing to do for use case %s, window %s..%s", use_case_id, start_iso, end_iso)
        return 0
    return window_embed(use_case=use_case, start=start, end=end)


@shared_task(name="monitoring.tasks.embed_baseline", acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=BASELINE_SOFT_LIMIT, time_limit=BASELINE_HARD_LIMIT, autoretry_for=TRANSIENT_ERRORS,
             retry_backoff=True, retry_backoff_max=300, retry_jitter=True, max_retries=3)
def embed_baseline(baseline_id: int, request_id: str = "") -> str:
    """Compute and freeze a requested baseline on behalf of the person who asked; return its status."""
    baseline = Baseline.objects.defer("artifact").select_related("created_by").filter(pk=baseline_id).first()
    if baseline is None:
        logger.warning("embed_baseline: baseline %s does not exist", baseline_id)
        return "missing"
    if baseline.created_by is not None:
        actor = Actor.for_user(baseline.created_by, request_id=request_id)
    else:
        actor = Actor.system("baseline-builder", request_id=request_id)
    return baseline_complete(actor=actor, baseline=baseline).status


def window_bounds(moment: datetime, *, window_hours: int) -> tuple[datetime, datetime]:
    """Return the drift window of `window_hours` that holds `moment`; windows tile time from the Unix epoch."""
    hours = int((moment.astimezone(UTC) - _EPOCH).total_seconds() // 3600)
    start = _EPOCH + timedelta(hours=hours - hours % window_hours)
    return start, start + timedelta(hours=window_hours)


def enqueue_arrivals(*, use_case_id: int, timestamps: Iterable[datetime], window_hours: int) -> int:
    """Queue, once the storing transaction commits, the embedding of every window the new records fall in.

    Each queued task embeds its window's uniform sample as it stands (texts already embedded are skipped,
    new ones go in fixed batches), so by the time the hourly run starts its window is embedded and the
    run only reads vectors. Returns how many windows were queued.
    """
    windows = sorted({window_bounds(moment, window_hours=window_hours) for moment in timestamps})
    for start, end in windows:
        args = (use_case_id, start.isoformat(), end.isoformat())
        transaction.on_commit(functools.partial(embed_window.apply_async, args))
    return len(windows)


def enqueue_baseline(baseline: Baseline, *, request_id: str = "") -> None:
    """Queue the baseline's computation once the transaction that created it commits."""
    transaction.on_commit(lambda: embed_baseline.delay(baseline.pk, request_id))
