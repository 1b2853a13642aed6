"""The AI inventory: use cases, who holds which role, model versions and effect goals."""
from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


class Approach(models.TextChoices):
    """How the use case adapts the base model."""

    FINE_TUNING = "fine_tuning", "Fine-tuning"
    RAG = "rag", "Retrieval-augmented generation"
    HYBRID = "hybrid", "Hybrid (fine-tuning and RAG)"
    PROMPTING = "prompting", "Prompting"


class RiskTier(models.TextChoices):
    """EU AI Act risk classification."""

    PROHIBITED = "prohibited", "Prohibited (Art. 5)"
    HIGH = "high", "High risk (Art. 6, Annex III)"
    LIMITED = "limited", "Limited risk (transparency, Art. 50)"
    MINIMAL = "minimal", "Minimal risk"


class RegulatoryScope(models.TextChoices):
    """Rule sets a use case answers to; reports cite the matching texts."""

    EU_AI_ACT = "eu_ai_act", "EU AI Act (Reg. 2024/1689)"
    NIST_AI_RMF = "nist_ai_rmf", "NIST AI RMF 1.0"
    SR_11_7 = "sr_11_7", "SR 11-7 model risk management"
    NYDFS_CL7 = "nydfs_cl7", "NYDFS Insurance Circular Letter No. 7 (2024)"
    NYDFS_500 = "nydfs_500", "23 NYCRR 500"
    PART_11 = "part_11", "21 CFR Part 11"
    ISO_42001 = "iso_42001", "ISO/IEC 42001"


class Stage(models.TextChoices):
    """Where a use case stands on its way to production."""

    PILOT = "pilot", "Pilot"
    PRE_PRODUCTION = "pre_production", "Pre-production"
    PRODUCTION = "production", "Production"
    RETIRED = "retired", "Retired"


class Role(models.TextChoices):
    """Roles a person holds on one use case."""

    PRODUCT_OWNER = "product_owner", "Product owner"
    PLATFORM_OWNER = "platform_owner", "Platform owner"
    GOVERNANCE_OWNER = "governance_owner", "Governance owner"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


slug_validator = RegexValidator(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
                                "Use lowercase letters, digits and hyphens (2–64 characters).")


class UseCase(models.Model):
    """An AI system under governance (GOVERN 1.6 inventory entry)."""

    slug = models.SlugField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    purpose = models.TextField()
    approach = models.CharField(max_length=20, choices=Approach.choices)
    base_model = models.CharField(max_length=200)
    risk_tier = models.CharField(max_length=20, choices=RiskTier.choices, default=RiskTier.MINIMAL)
    regulatory_scopes = models.JSONField(default=list, blank=True)
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.PILOT)
    halted = models.BooleanField(default=False)
    halted_reason = models.TextField(blank=True)
    halted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    """A person's role on one use case; one person may hold several roles."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["use_case", "role", "user"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "user", "role"], name="membership_unique",
                                    violation_error_message="This person already holds this role on the use case."),
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} on {self.use_case}"


class AdapterMethod(models.TextChoices):
    """How a model version was adapted."""

    NONE = "none", "None (base model)"
    FULL = "full", "Full fine-tuning"
    LORA = "lora", "LoRA"
    QLORA = "qlora", "QLoRA"
    PROMPT = "prompt", "Prompt / system prompt"
    OTHER = "other", "Other"


class ModelVersionStatus(models.TextChoices):
    """Lifecycle of a model version."""

    CANDIDATE = "candidate", "Candidate"
    ACTIVE = "active", "Active"
    ROLLED_BACK = "rolled_back", "Rolled back"
    RETIRED = "retired", "Retired"


class ModelVersion(models.Model):
    """A trained or configured version of the use case's model, with its lineage and evaluations."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="model_versions")
    label = models.CharField(max_length=100)
    base_model = models.CharField(max_length=200)
    adapter_method = models.CharField(max_length=20, choices=AdapterMethod.choices, default=AdapterMethod.LORA)
    training_data_ref = models.CharField(max_length=500, blank=True)
    training_data_sha256 = models.CharField(max_length=64, blank=True)
    evaluation = models.JSONField(
        default=dict, blank=True,
        help_text="Task metrics and the general-capability regression against the base model.",
    )
    status = models.CharField(max_length=20, choices=ModelVersionStatus.choices, default=ModelVersionStatus.CANDIDATE)
    activated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["use_case", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "label"], name="modelversion_label_unique",
                                    violation_error_message="This use case already has a model version with this label."),
            models.UniqueConstraint(fields=["use_case"], condition=models.Q(status="active"),
                                    name="modelversion_one_active",
                                    violation_error_message="Only one model version can be active."),
        ]

    def __str__(self) -> str:
        return f"{self.use_case.slug}:{self.label}"


class Direction(models.TextChoices):
    """Whether a larger or a smaller value is better."""

    AT_LEAST = "at_least", "At least the target"
    AT_MOST = "at_most", "At most the target"


class EffectGoal(models.Model):
    """A measurable effect the use case must reach (gate 1) and keep (gate 3)."""

    use_case = models.ForeignKey(UseCase, on_delete=models.CASCADE, related_name="effect_goals")
    metric = models.CharField(max_length=200)
    unit = models.CharField(max_length=50, blank=True)
    target = models.FloatField()
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.AT_LEAST)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["use_case", "id"]
        constraints = [
            models.UniqueConstraint(fields=["use_case", "metric"], name="effectgoal_metric_unique",
                                    violation_error_message="This use case already has a goal for this metric."),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.direction} {self.target} {self.unit}".strip()

    def is_met_by(self, value: float) -> bool:
        """Return whether a measured value satisfies the goal."""
        return value >= self.target if self.direction == Direction.AT_LEAST else value <= self.target


class EffectMeasurement(models.Model):
    """One measured value of an effect goal at a point in time."""

    goal = models.ForeignKey(EffectGoal, on_delete=models.CASCADE, related_name="measurements")
    value = models.FloatField()
    measured_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=300, blank=True)
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["goal", "-measured_at"]

    def __str__(self) -> str:
        return f"{self.goal.metric}={self.value} at {self.measured_at:%Y-%m-%d}"
