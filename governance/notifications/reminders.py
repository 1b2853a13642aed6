"""Scheduled notifications: obligations due within 7 days, and gate-3 approvals expiring within 30 days.

Overdue obligations are announced by `obligations_flag_overdue`, with the audit event that records them. Each
reminder carries a dedup key (object and date), so a re-delivered or repeated run notifies no one twice; a new due
date or a new approval is a new state and is announced again.
"""
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from governance.models import Gate, GateStatus, Notification, Obligation, ObligationStatus
from governance.notifications.events import notify_approval_expiring, notify_obligation_due

DUE_SOON_DAYS = 7
EXPIRING_DAYS = 30


def notification_reminders_send(*, today: date | None = None) -> dict[str, int]:
    """Write the due-soon and expiring notifications not written yet; return how many of each."""
    today = today or timezone.localdate()
    now = timezone.now()
    counts = {"obligation_due": 0, "approval_expiring": 0}
    due = (Obligation.objects.filter(status=ObligationStatus.OPEN, due_date__gte=today,
                                     due_date__lte=today + timedelta(days=DUE_SOON_DAYS))
           .select_related("use_case", "owner").order_by("pk"))
    for obligation in due:
        key = f"obligation_due:{obligation.pk}:{obligation.due_date.isoformat()}"
        if Notification.objects.filter(dedup_key=key).exists():
            continue
        with transaction.atomic():
            if notify_obligation_due(obligation=obligation, today=today) is not None:
                counts["obligation_due"] += 1
    expiring = (Gate.objects.filter(number=3, status=GateStatus.APPROVED, expires_at__gt=now,
                                    expires_at__lte=now + timedelta(days=EXPIRING_DAYS))
                .select_related("use_case").order_by("pk"))
    for gate in expiring:
        with transaction.atomic():
            if notify_approval_expiring(gate=gate) is not None:
                counts["approval_expiring"] += 1
    return counts
