"""Notifications: the outbox a state change writes in its own transaction, one delivery row per channel and
recipient, webhooks per use case with their attempt log, and per-person preferences.

`NotificationDelivery` is the outbox proper: its `status` is `pending` until the channel accepted it, then `sent`,
or `failed` once its retries are spent (shown on the pages and counted by `/metrics`, never dropped).
"""
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.models.inventory import UseCase


class NotificationEvent(models.TextChoices):
    """What a notification tells; webhooks subscribe to these codes and preferences switch them per channel."""

    DECISION_REQUESTED = "decision_requested", "Decision requested"
    SIGNATURE_NEEDED = "signature_needed", "Your signature is needed"
    DECISION_FINAL = "decision_final", "Decision final"
    OBLIGATION_DUE = "obligation_due", "Obligation due in 7 days"
    OBLIGATION_OVERDUE = "obligation_overdue", "Obligation overdue"
    APPROVAL_EXPIRING = "approval_expiring", "Approval expiring in 30 days"
    REVIEW_ALERT = "review_alert", "Review alert"
    STOP_ALERT = "stop_alert", "Stop alert"
    USE_CASE_HALTED = "use_case_halted", "Use case halted"
    SIGNING_LOCKED = "signing_locked", "Repeated failed signature attempts"


class Channel(models.TextChoices):
    """How a notification reaches its recipient."""

    INBOX = "inbox", "In-app inbox"
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    """Where a delivery stands: pending (waiting or retrying), sent, or failed after its last retry."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    """One event someone must hear of, written in the transaction of the change that caused it."""

    event = models.CharField(max_length=40, choices=NotificationEvent.choices)
    use_case = models.ForeignKey(UseCase, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="notifications")
    subject = models.CharField(max_length=300)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True, help_text="Path of the page the notification is about.")
    payload = models.JSONField(default=dict, blank=True, help_text="The event's data as webhooks receive it.")
    # Events raised by a schedule (due, overdue, expiring) carry a key, so a re-run never notifies twice.
    dedup_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event}: {self.subject}"


class Webhook(models.Model):
    """An HTTP endpoint of a use case that receives the chosen events, signed per Standard Webhooks."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000)
    events = models.JSONField(default=list, help_text="Event codes this endpoint receives.")
    slack_format = models.BooleanField(default=False, help_text='Send a Slack-compatible body {"text": ...}.')
    # Fernet-encrypted `whsec_...`: the HMAC needs the secret itself, so it cannot be hashed like a password.
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["use_case", "id"]

    def __str__(self) -> str:
        return f"{self.use_case.slug} → {self.url}"


class NotificationDelivery(models.Model):
    """The outbox row: one notification to one recipient on one channel, with its retry state."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="notification_deliveries")
    webhook = models.ForeignKey(Webhook, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries")
    # "user:<id>" or "webhook:<id>": the unique key that makes a second row for the same target impossible.
    target = models.CharField(max_length=40)
    # Standard Webhooks' webhook-id: the same across retries, so receivers can de-duplicate.
    message_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker's claim on the row while it sends; a claim that outlives its lease belongs to a dead worker.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True, help_text="For the inbox: when the person read it.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel", "target"], name="delivery_one_per_target",
                                    violation_error_message="This notification already goes to this recipient."),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["recipient", "channel", "read_at"], name="delivery_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.notification.event} via {self.channel} to {self.target} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a webhook delivery: the delivery log its use case's owners read."""

    delivery = models.ForeignKey(NotificationDelivery, on_delete=models.CASCADE, related_name="webhook_attempts")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="attempts")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.attempt} of delivery {self.delivery_id}: {self.status_code or self.error}"


class NotificationPreference(models.Model):
    """A person's choice for one event on one channel; without a row, the event comes on every channel."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="notification_preferences")
    event = models.CharField(max_length=40, choices=NotificationEvent.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "event", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "channel"], name="preference_one_per_event_channel",
                                    violation_error_message="This person already has a choice for this event."),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.event}/{self.channel}: {'on' if self.enabled else 'off'}"
