"""Celery tasks of notifications (queue `notify`): thin, idempotent, registered through `governance.tasks`.

A delivery task claims its row with a conditional UPDATE before it sends, so a re-delivered or duplicated message
finds the row claimed or sent and sends nothing. A failed attempt queues the next one after its backoff; if that
message is lost, the sweep finds the row once it is due.
"""
import functools

from celery import shared_task

from driftgate.queueing import send_or_defer
from governance.notifications.delivery import deliveries_due, delivery_attempt


@shared_task(name="governance.tasks.notification_deliver")
def notification_deliver_task(delivery_id: int) -> str:
    """Attempt one delivery; queue the retry after its backoff when it failed and attempts remain."""
    outcome = delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None:
        send_or_defer(lambda: notification_deliver_task.apply_async((delivery_id,), countdown=outcome.retry_in),
                      what=f"retry of notification delivery {delivery_id}")
    return outcome.result


@shared_task(name="governance.tasks.notification_sweep")
def notification_sweep_task() -> int:
    """Queue again the pending deliveries whose message was lost; return how many were queued."""
    due = deliveries_due()
    for delivery_id in due:
        if not send_or_defer(functools.partial(notification_deliver_task.delay, delivery_id),
                             what=f"notification delivery {delivery_id}"):
            break
    return len(due)
