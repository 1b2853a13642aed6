"""The delivery state machine: claim a pending row, send outside any transaction, then mark it sent, due again
after its backoff, or failed after the last attempt.

pending ──claim (conditional UPDATE, lease)──▶ sending ──ok──▶ sent
   ▲                                             │
   └──── error, attempts left: next_attempt_at ◀─┴── error, no attempts left ──▶ failed

"Sending" is a pending row with a live lease (`claimed_until`), so the status column keeps the three values that
pages and `/metrics` read. Only the worker holding the lease may finish the row (the UPDATE matches the lease),
so a worker that outlived its lease cannot overwrite what its successor recorded.
"""
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from governance.models import Channel, DeliveryStatus, NotificationDelivery
from governance.notifications.email import EMAIL_ERRORS, send_notification_email
from governance.notifications.webhooks import WebhookFailed, send_webhook

logger = logging.getLogger(__name__)
RETRIED_ERRORS: tuple[type[Exception], ...] = (WebhookFailed, *EMAIL_ERRORS)
# The sweep leaves freshly queued deliveries to their own message for this long.
SWEEP_GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: `result` for the task's return value, `retry_in` seconds when another attempt is due."""

    result: str
    retry_in: float | None = None


def backoff_seconds(attempt: int) -> float:
    """Return the wait after the given failed attempt (1-based): base·2^(attempt−1)."""
    return float(settings.DRIFTGATE_NOTIFY_RETRY_BASE_SECONDS) * 2 ** (attempt - 1)


def delivery_claim(*, delivery_id: int, now: datetime | None = None) -> tuple[NotificationDelivery, datetime] | None:
    """Claim a due pending delivery for one attempt; None when it is sent, failed, not due or claimed by another."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.DRIFTGATE_NOTIFY_CLAIM_SECONDS)
    # One statement, so two workers racing for the row cannot both win it.
    claimed = (NotificationDelivery.objects
               .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .update(claimed_until=lease, attempts=F("attempts") + 1, updated_at=now))
    if not claimed:
        return None
    delivery = NotificationDelivery.objects.select_related("notification__use_case", "recipient", "webhook").get(
        pk=delivery_id)
    return delivery, lease


def _finish(delivery: NotificationDelivery, lease: datetime, **fields) -> bool:
    return bool(NotificationDelivery.objects.filter(pk=delivery.pk, claimed_until=lease)
                .update(claimed_until=None, updated_at=timezone.now(), **fields))


def _send(delivery: NotificationDelivery) -> None:
    """Send on the delivery's channel; raise a channel error for a failed attempt."""
    if delivery.channel == Channel.EMAIL:
        send_notification_email(delivery)
    elif delivery.channel == Channel.WEBHOOK:
        send_webhook(delivery)
    else:
        raise ValueError(f"channel {delivery.channel!r} is delivered when written")


def delivery_attempt(*, delivery_id: int) -> Outcome:
    """Make one attempt at a delivery, if it is due and unclaimed; never inside a transaction."""
    claim = delivery_claim(delivery_id=delivery_id)
    if claim is None:
        return Outcome("skipped")
    delivery, lease = claim
    try:
        _send(delivery)
    except RETRIED_ERRORS as exc:
        error = str(exc)[:1000] or exc.__class__.__name__
        permanent = isinstance(exc, WebhookFailed) and exc.permanent
        if permanent or delivery.attempts >= settings.DRIFTGATE_NOTIFY_MAX_ATTEMPTS:
            logger.error("notification delivery %s failed for good after %s attempts: %s", delivery.pk,
                         delivery.attempts, error)
            _finish(delivery, lease, status=DeliveryStatus.FAILED, last_error=error)
            return Outcome("failed")
        wait = backoff_seconds(delivery.attempts)
        logger.warning("notification delivery %s attempt %s failed, next in %.0f s: %s", delivery.pk,
                       delivery.attempts, wait, error)
        _finish(delivery, lease, next_attempt_at=timezone.now() + timedelta(seconds=wait), last_error=error)
        return Outcome("retry", retry_in=wait)
    _finish(delivery, lease, status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error="")
    return Outcome("sent")


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Return pending deliveries due for a while and not claimed: their message was lost or their worker died."""
    now = now or timezone.now()
    return list(NotificationDelivery.objects
                .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
