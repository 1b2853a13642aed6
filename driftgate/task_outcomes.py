"""Counting Celery task failures and retries per queue in the database, from every worker process.

Connected to Celery's `task_failure` and `task_retry` signals when the platform app is ready, so workers, beat
and the in-process demo all count. The `/metrics` endpoint reads the counters back.
"""
import logging

from celery import current_app
from celery.signals import task_failure, task_retry
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from driftgate.models import TaskOutcome, TaskOutcomeCount

logger = logging.getLogger(__name__)
UNKNOWN_QUEUE = "unknown"


def task_queue(task, request) -> str:
    """Return the queue a delivery came from, or the queue the routes send the task to when it ran in-process."""
    delivery = getattr(request, "delivery_info", None) or {}
    queue = delivery.get("routing_key") or delivery.get("queue")
    if queue:
        return str(queue)
    name = getattr(task, "name", "")
    try:
        route = current_app.amqp.router.route({}, name)
    except (KeyError, AttributeError, ValueError):
        return UNKNOWN_QUEUE
    queue_object = route.get("queue")
    return str(getattr(queue_object, "name", queue_object) or UNKNOWN_QUEUE)


def task_outcome_count(*, queue: str, task: str, outcome: str) -> None:
    """Add one to the (queue, task, outcome) counter in a single atomic upsert."""
    table = TaskOutcomeCount._meta.db_table
    # One statement, so two workers counting at once both land and no read-modify-write race loses one; the
    # row lock lasts only this statement. ON CONFLICT works on PostgreSQL and SQLite alike.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (queue, task, outcome, count, updated_at) VALUES (%s, %s, %s, 1, %s) "
            f"ON CONFLICT (queue, task, outcome) DO UPDATE SET count = {table}.count + 1, "
            "updated_at = excluded.updated_at",
            [queue[:100], task[:200], outcome, timezone.now()],
        )


def _record(outcome: str, task, request) -> None:
    name = getattr(task, "name", "") or "unknown"
    try:
        task_outcome_count(queue=task_queue(task, request), task=name, outcome=outcome)
    except DatabaseError as error:
        # The failure being counted may be the database going away; losing one count must not hide the failure.
        logger.warning("could not count %s of %s: %s", outcome, name, error)


def _on_failure(sender=None, task_id=None, exception=None, **kwargs) -> None:
    _record(TaskOutcome.FAILURE, sender, getattr(sender, "request", None))


def _on_retry(sender=None, request=None, reason=None, **kwargs) -> None:
    _record(TaskOutcome.RETRY, sender, request)


def connect_task_outcome_signals() -> None:
    """Count failures and retries of every task this process runs (idempotent: Celery dedupes by uid)."""
    task_failure.connect(_on_failure, weak=False, dispatch_uid="driftgate-task-failure-count")
    task_retry.connect(_on_retry, weak=False, dispatch_uid="driftgate-task-retry-count")
