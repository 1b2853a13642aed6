"""The audit log: append-only at the database, one keyed hash chain, and the signed checkpoints over it."""
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
    # No index: nothing looks events up by token, and every index is paid for by each event written.
    actor_token = models.ForeignKey("driftgate.ApiToken", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="+", db_index=False)
    actor_display = models.CharField(max_length=300)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)
    object_id = models.CharField(max_length=80, blank=True)
    # Indexed by auditevent_usecase_seq, whose first column it is.
    use_case = models.ForeignKey("governance.UseCase", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="audit_events", db_index=False)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # The exact canonical JSON that was hashed; the columns above are a queryable copy checked against it.
    # Blank only for events written before events kept their bytes (verified with the old formula).
    canonical = models.TextField(blank=True)
    mac = models.CharField(max_length=64, blank=True, help_text="HMAC-SHA256 of the hash under the key key_id.")
    key_id = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["sequence"]
        constraints = [
            # A second event claiming the same predecessor would fork the chain; the database refuses it.
            models.UniqueConstraint(fields=["prev_hash"], name="auditevent_prev_hash_unique",
                                    violation_error_message="Another event already follows this one."),
        ]
        indexes = [
            models.Index(fields=["use_case", "sequence"], name="auditevent_usecase_seq"),
            # One index for both `action = ...` and the page's `action LIKE 'gate.%'` in any collation (the pattern
            # operator class serves equality too), where a plain CharField index would come with a second one.
            models.Index(fields=["action"], name="auditevent_action", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.object_type}:{self.object_id}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's size and Merkle root at one moment, also written to external sinks."""

    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    body = models.TextField(help_text="The exact signed text.")
    signature = models.TextField(help_text="Ed25519 signature over body, base64.")
    # The roots of the perfect subtrees at tree_size, so the next checkpoint extends this one.
    compact_range = models.JSONField(default=list)

    class Meta:
        ordering = ["tree_size"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tree_size__gte=0), name="auditcheckpoint_tree_size_nonnegative",
                                   violation_error_message="A checkpoint cannot cover a negative number of events."),
        ]

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size} {self.root_hash[:16]}"
