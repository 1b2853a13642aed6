"""The audit log: append-only at the database, one hash chain."""
from django.conf import settings
from django.db import models

from driftgate.actors import ActorKind


class AuditEvent(models.Model):
    """One immutable, hash-chained record of who did what to which object, and why."""

    sequence = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(db_index=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.CHOICES)
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    actor_token = models.ForeignKey("driftgate.ApiToken", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+")
    actor_display = models.CharField(max_length=300)
    action = models.CharField(max_length=80, db_index=True)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    use_case = models.ForeignKey("governance.UseCase", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="audit_events")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        constraints = [
            # A second event claiming the same predecessor would fork the chain; the database refuses it.
            models.UniqueConstraint(fields=["prev_hash"], name="auditevent_prev_hash_unique",
                                    violation_error_message="Another event already follows this one."),
        ]
        indexes = [models.Index(fields=["use_case", "sequence"], name="auditevent_usecase_seq")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"
