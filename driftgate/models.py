"""API tokens for machines (hashed at rest, scoped, optionally expiring) and the task outcome counters."""
import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class TokenScope(models.TextChoices):
    """What a machine token may do; the owner's roles still apply per use case."""

    STATUS_READ = "status:read", "Read CI status"
    TRAFFIC_WRITE = "traffic:write", "Post traffic"
    REPORTS_READ = "reports:read", "Request and download reports"
    GOVERNANCE_READ = "governance:read", "Read governance data"
    MONITORING_READ = "monitoring:read", "Read monitoring data"
    METRICS_READ = "metrics:read", "Scrape Prometheus metrics"


TOKEN_PREFIX = "dg"


def hash_token_secret(raw: str) -> str:
    """Return the SHA-256 of a raw token; tokens are 256-bit random, so a fast hash is safe here."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def generate_raw_token() -> tuple[str, str]:
    """Return (lookup prefix, full raw token); only the hash of the raw token is ever stored."""
    lookup = secrets.token_hex(6)
    return lookup, f"{TOKEN_PREFIX}_{lookup}_{secrets.token_urlsafe(32)}"


class ApiToken(models.Model):
    """A machine credential acting for its owner within its scopes."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens")
    lookup = models.CharField(max_length=16, unique=True, help_text="Public part of the token used to find it.")
    key_hash = models.CharField(max_length=64, help_text="SHA-256 of the full token; the token itself is never stored.")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="apitoken_owner_name_unique",
                                    violation_error_message="This owner already has a token of that name."),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({TOKEN_PREFIX}_{self.lookup}_…)"

    def is_active(self, now=None) -> bool:
        """Return whether the token may authenticate now."""
        now = now or timezone.now()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now

    def matches(self, raw: str) -> bool:
        """Compare a presented raw token with the stored hash in constant time."""
        return secrets.compare_digest(self.key_hash, hash_token_secret(raw))


class TaskOutcome(models.TextChoices):
    """What happened to a Celery task delivery that is worth counting."""

    FAILURE = "failure", "Failed"
    RETRY = "retry", "Retried"


class TaskOutcomeCount(models.Model):
    """How often a task failed or was retried on a queue, counted by every worker process into one row.

    Counters in a worker's memory die with the worker (and `--max-tasks-per-child` recycles them); Prometheus
    needs a counter that only grows, whichever process served the scrape.
    """

    queue = models.CharField(max_length=100)
    task = models.CharField(max_length=200)
    outcome = models.CharField(max_length=20, choices=TaskOutcome.choices)
    count = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "task", "outcome"], name="taskoutcomecount_unique",
                                    violation_error_message="This task already has a counter for this outcome."),
        ]

    def __str__(self) -> str:
        return f"{self.task} on {self.queue}: {self.count} {self.outcome}"
