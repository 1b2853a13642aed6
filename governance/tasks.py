"""Celery beat tasks of governance: gate-3 certifications lapse, obligations falling overdue are recorded, and the
audit chain is checkpointed at `DRIFTGATE_AUDIT_CHECKPOINT_INTERVAL_SECONDS` (settings' CELERY_BEAT_SCHEDULE).
Notification delivery and its sweep live in `governance.notifications.tasks` (queue `notify`) and are registered
here; the reminders of obligations due and approvals expiring run daily from settings' schedule.

The tasks are thin and idempotent: they call one service that re-checks each row under its lock, so a
re-delivered message changes nothing the first run already did. The daily entries are added with
`add_periodic_task`, which merges into the app's beat schedule instead of replacing monitoring's hourly entries.
"""
from celery import shared_task
from celery.schedules import crontab

from driftgate.celery import app
from governance.auditlog.checkpoints import audit_checkpoint_create
from governance.notifications.reminders import notification_reminders_send
from governance.notifications.tasks import notification_deliver_task, notification_sweep_task
from governance.services.gates import gates_expire_due
from governance.services.obligations import obligations_flag_overdue


@shared_task(name="governance.tasks.gates_expire_due")
def gates_expire_due_task() -> int:
    """Expire lapsed gate-3 approvals and open the next gate 3."""
    return gates_expire_due()


@shared_task(name="governance.tasks.obligations_flag_overdue")
def obligations_flag_overdue_task() -> int:
    """Record obligations that fell overdue since the last run."""
    return obligations_flag_overdue()


@shared_task(name="governance.tasks.audit_checkpoint")
def audit_checkpoint_task() -> int | None:
    """Sign a checkpoint when the chain grew since the last one; returns its tree size or None."""
    checkpoint = audit_checkpoint_create()
    return checkpoint.tree_size if checkpoint else None


@shared_task(name="governance.tasks.notification_reminders")
def notification_reminders_task() -> dict[str, int]:
    """Write the reminders of obligations falling due and approvals expiring (each once)."""
    return notification_reminders_send()


__all__ = ["audit_checkpoint_task", "gates_expire_due_task", "notification_deliver_task",
           "notification_reminders_task", "notification_sweep_task", "obligations_flag_overdue_task"]

# Shortly after midnight UTC, so a certification that lapsed during the day re-opens by the next morning.
app.add_periodic_task(crontab(hour=0, minute=15), gates_expire_due_task.s(), name="governance: expire gate-3 approvals")
app.add_periodic_task(crontab(hour=0, minute=20), obligations_flag_overdue_task.s(),
                      name="governance: record overdue obligations")
