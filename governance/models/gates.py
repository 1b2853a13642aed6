"""Decision gates, decisions with their e-signatures, and the obligations decisions create."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from governance.models.inventory import Role, UseCase


class GateNumber(models.IntegerChoices):
    """The three gates between pilot and stable production."""

    AFTER_PILOT = 1, "Gate 1: after pilot"
    BEFORE_PRODUCTION = 2, "Gate 2: before production"
    AFTER_ROLLOUT = 3, "Gate 3: after rollout"


class GateStatus(models.TextChoices):
    """Where a gate stands."""

    OPEN = "open", "Open"
    IN_REVIEW = "in_review", "Decision requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class Gate(models.Model):
    """One pass through a decision gate for a use case; a new row each time the gate is (re)opened."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="gates")
    number = models.PositiveSmallIntegerField(choices=GateNumber.choices)
    status = models.CharField(max_length=20, choices=GateStatus.choices, default=GateStatus.OPEN)
    required_roles = models.JSONField(default=list, help_text="Roles that must sign a go decision, each by a different person.")
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    requested_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Gate-3 approvals lapse and re-open the gate.")

    class Meta:
        ordering = ["use_case", "number", "-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "number"],
                                    condition=models.Q(status__in=["open", "in_review"]),
                                    name="gate_one_pending_per_number",
                                    violation_error_message="This gate is already open for the use case."),
        ]

    def __str__(self) -> str:
        return f"{self.use_case.slug} gate {self.number} ({self.status})"


class DecisionOutcome(models.TextChoices):
    """What a gate decision says."""

    GO = "go", "Go"
    NO_GO = "no_go", "No-go"
    GO_WITH_CONDITIONS = "go_with_conditions", "Go with conditions"


class DecisionStatus(models.TextChoices):
    """A go decision waits for every required role's signature; a no-go is final at once."""

    PENDING = "pending", "Awaiting signatures"
    FINAL = "final", "Final"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Decision(models.Model):
    """A proposed or final go / no-go on a gate, with the criteria as they stood."""

    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="decisions")
    outcome = models.CharField(max_length=20, choices=DecisionOutcome.choices)
    status = models.CharField(max_length=20, choices=DecisionStatus.choices, default=DecisionStatus.PENDING)
    rationale = models.TextField()
    conditions = models.JSONField(default=list, blank=True,
                                  help_text="For go-with-conditions: [{title, description, owner_id, due_date}].")
    criteria = models.JSONField(default=list, help_text="Automated criteria evaluated when the decision was proposed.")
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the gate's canonical content at proposal.")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finalized_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["gate", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["gate"], condition=models.Q(status__in=["pending", "final"]),
                                    name="decision_one_live_per_gate",
                                    violation_error_message="This gate already has a decision."),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} on {self.gate}"


class SignatureMethod(models.TextChoices):
    """How the signer proved, at signing, that they are who they signed in as."""

    PASSWORD = "password", "Password re-entered"
    OIDC = "oidc", "OpenID Connect re-authentication"


class Signature(models.Model):
    """A Part 11-style electronic signature: printed name, time, meaning, role, bound to the content hash."""

    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures")
    printed_name = models.CharField(max_length=300)
    role = models.CharField(max_length=20, choices=Role.choices)
    meaning = models.CharField(max_length=300)
    signed_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64)
    auth_method = models.CharField(max_length=20, choices=SignatureMethod.choices, default=SignatureMethod.PASSWORD)
    # When the signer last proved who they are: the password check, or the provider's login (the ID token's auth_time).
    auth_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["decision", "signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "role"], name="signature_one_per_role",
                                    violation_error_message="This role has already signed the decision."),
            models.UniqueConstraint(fields=["decision", "signer"], name="signature_one_per_person",
                                    violation_error_message="This person has already signed the decision."),
        ]

    def __str__(self) -> str:
        return f"{self.printed_name}: {self.meaning}"


class ObligationStatus(models.TextChoices):
    """State of an obligation."""

    OPEN = "open", "Open"
    FULFILLED = "fulfilled", "Fulfilled"
    WAIVED = "waived", "Waived"


class Obligation(models.Model):
    """A condition of a go decision (or a standing duty) with an owner and a due date; overdue blocks the next gate."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="obligations")
    decision = models.ForeignKey(Decision, null=True, blank=True, on_delete=models.PROTECT, related_name="obligations")
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="obligations")
    due_date = models.DateField()
    status = models.CharField(max_length=20, choices=ObligationStatus.choices, default=ObligationStatus.OPEN)
    resolution = models.TextField(blank=True)
    evidence_url = models.URLField(max_length=1000, blank=True, help_text="Where the proof of fulfilment is kept.")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["use_case", "due_date", "id"]
        indexes = [models.Index(fields=["use_case", "status", "due_date"], name="obligation_open_due")]

    def __str__(self) -> str:
        return f"{self.title} (due {self.due_date})"

    def is_overdue(self, today=None) -> bool:
        """Return whether the obligation is open past its due date."""
        today = today or timezone.localdate()
        return self.status == ObligationStatus.OPEN and self.due_date < today
