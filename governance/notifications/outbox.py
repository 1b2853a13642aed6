"""Writing notifications: one outbox row per notification and one delivery row per recipient and channel.

`notify` runs inside the transaction of the state change it announces, so the notification commits or rolls back
with it; the deliveries are queued only after the commit (a rolled-back change never reaches anyone), and a
broker outage leaves them pending for the sweep. Inbox deliveries are sent by being written.
"""
import functools
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from driftgate.queueing import send_or_defer
from governance.audit import normalise_json
from governance.models import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    UseCase,
    Webhook,
)
from governance.notifications.tasks import notification_deliver_task


def queue_deliveries(delivery_ids: Iterable[int]) -> None:
    """Send one task message per delivery; a broker error leaves the rest to the sweep."""
    for delivery_id in delivery_ids:
        if not send_or_defer(functools.partial(notification_deliver_task.delay, delivery_id),
                             what=f"notification delivery {delivery_id}"):
            return


def _disabled(user_ids: list[int], event: str) -> set[tuple[int, str]]:
    return set(NotificationPreference.objects.filter(user_id__in=user_ids, event=event, enabled=False)
               .values_list("user_id", "channel"))


def notify(*, event: str, use_case: UseCase | None, recipients: Iterable[Any], subject: str, body: str,
           link: str = "", payload: dict | None = None, dedup_key: str | None = None) -> Notification | None:
    """Write a notification with its deliveries in the caller's transaction; return None for a repeated dedup_key."""
    if not connection.in_atomic_block:
        raise RuntimeError("notify must run inside the transaction of the change it announces")
    now = timezone.now()
    try:
        # A savepoint, so a repeated key (a re-run schedule) leaves the caller's transaction usable.
        with transaction.atomic():
            notification = Notification.objects.create(
                event=event, use_case=use_case, subject=subject[:300], body=body, link=link,
                payload=normalise_json({"event": event, "use_case": use_case.slug if use_case else None,
                                        **(payload or {})}),
                dedup_key=dedup_key, created_at=now)
    except IntegrityError:
        if dedup_key and Notification.objects.filter(dedup_key=dedup_key).exists():
            return None
        raise
    people = {user.pk: user for user in recipients if user is not None and user.is_active}
    off = _disabled(list(people), event)
    rows = []
    for pk, user in sorted(people.items()):
        target = f"user:{pk}"
        if (pk, Channel.INBOX) not in off:
            rows.append(NotificationDelivery(notification=notification, channel=Channel.INBOX, recipient=user,
                                             target=target, status=DeliveryStatus.SENT, sent_at=now, attempts=1))
        if user.email and (pk, Channel.EMAIL) not in off:
            rows.append(NotificationDelivery(notification=notification, channel=Channel.EMAIL, recipient=user,
                                             target=target))
    if use_case is not None:
        for webhook in Webhook.objects.filter(use_case=use_case, is_active=True).order_by("pk"):
            if event in webhook.events:
                rows.append(NotificationDelivery(notification=notification, channel=Channel.WEBHOOK, webhook=webhook,
                                                 target=f"webhook:{webhook.pk}"))
    NotificationDelivery.objects.bulk_create(rows)
    pending = [row.pk for row in rows if row.status == DeliveryStatus.PENDING]
    if pending:
        transaction.on_commit(lambda: queue_deliveries(pending))
    return notification
