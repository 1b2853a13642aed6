"""Reads of notification state for pages and the API: a webhook's delivery log with its attempts."""
from collections.abc import Sequence

from governance.models import NotificationDelivery, WebhookAttempt


def webhook_delivery_log(deliveries: Sequence[NotificationDelivery]) -> list[dict]:
    """Return the deliveries with their attempts, oldest attempt first, in one query for the attempts."""
    attempts: dict[int, list[dict]] = {}
    for attempt in WebhookAttempt.objects.filter(delivery__in=[d.pk for d in deliveries]).order_by("attempt", "pk"):
        attempts.setdefault(attempt.delivery_id, []).append(
            {"attempt": attempt.attempt, "status_code": attempt.status_code, "error": attempt.error,
             "duration_ms": attempt.duration_ms, "created_at": attempt.created_at})
    return [{"id": d.pk, "message_id": f"msg_{d.message_id.hex}", "event": d.notification.event,
             "subject": d.notification.subject, "status": d.status, "attempts": d.attempts,
             "last_error": d.last_error, "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
             "created_at": d.created_at, "sent_at": d.sent_at, "log": attempts.get(d.pk, [])}
            for d in deliveries]
