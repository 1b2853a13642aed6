"""The in-app inbox: a person's notifications, the unread count of the navigation, and marking them read."""
from django.db.models import QuerySet
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.models import Channel, DeliveryStatus, NotificationDelivery


def inbox_of(*, actor: Actor, unread_only: bool = False) -> QuerySet[NotificationDelivery]:
    """Return the person's inbox entries, newest first, with the notification and its use case."""
    if actor.user is None or not actor.user.is_authenticated:
        return NotificationDelivery.objects.none()
    entries = (NotificationDelivery.objects.filter(recipient_id=actor.user.pk, channel=Channel.INBOX)
               .select_related("notification__use_case").order_by("-notification__created_at", "-pk"))
    return entries.filter(read_at__isnull=True) if unread_only else entries


def inbox_unread_count(*, actor: Actor) -> int:
    """Return how many inbox entries the person has not read."""
    return inbox_of(actor=actor, unread_only=True).count()


def email_failures_of(*, actor: Actor, notification_ids: list[int]) -> dict[int, str]:
    """Return {notification id: error} for the person's e-mails that failed after their retries."""
    return dict(NotificationDelivery.objects.filter(
        recipient_id=actor.user.pk if actor.user is not None else None, channel=Channel.EMAIL, status=DeliveryStatus.FAILED,
        notification_id__in=notification_ids).values_list("notification_id", "last_error"))


def inbox_mark_read(*, actor: Actor, entry_id: int) -> NotificationDelivery:
    """Mark one of the person's inbox entries read (again is harmless); another person's entry is NotFound."""
    entry = inbox_of(actor=actor).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"Notification {entry_id} is not in your inbox.", code="notification_not_found",
                       extra={"id": entry_id})
    if entry.read_at is None:
        entry.read_at = timezone.now()
        NotificationDelivery.objects.filter(pk=entry.pk, read_at__isnull=True).update(read_at=entry.read_at)
    return entry


def inbox_mark_all_read(*, actor: Actor) -> int:
    """Mark every unread inbox entry of the person read; return how many."""
    return inbox_of(actor=actor, unread_only=True).update(read_at=timezone.now())
