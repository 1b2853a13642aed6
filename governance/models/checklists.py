"""Definition-of-done checklists: templates (data), their instances on a gate, items and evidence."""
from django.conf import settings
from django.db import models
from django.utils import timezone

from driftgate.storage import evidence_storage
from governance.models.inventory import Role


class ChecklistKind(models.TextChoices):
    """How a checklist is scored."""

    DEFINITION_OF_DONE = "dod", "Definition of done"
    ML_TEST_SCORE = "ml_test_score", "ML Test Score rubric"


class ChecklistTemplate(models.Model):
    """A reusable checklist; the built-in ones are loaded by a data migration and stay editable."""

    key = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=ChecklistKind.choices, default=ChecklistKind.DEFINITION_OF_DONE)
    gate_numbers = models.JSONField(default=list, blank=True, help_text="Gates (1, 2, 3) that get this checklist when opened.")
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.title


class ChecklistTemplateItem(models.Model):
    """One question of a template."""

    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=64)
    section = models.CharField(max_length=100, blank=True)
    text = models.TextField()
    guidance = models.TextField(blank=True)
    owner_role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRODUCT_OWNER)
    required = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["template", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "key"], name="templateitem_key_unique",
                                    violation_error_message="This template already has an item with this key."),
        ]

    def __str__(self) -> str:
        return f"{self.template.key}/{self.key}"


class Checklist(models.Model):
    """A template instantiated on one gate; items are copied so later template edits don't rewrite history."""

    gate = models.ForeignKey("governance.Gate", on_delete=models.CASCADE, related_name="checklists")
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.PROTECT, related_name="instances")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=ChecklistKind.choices)
    template_version = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["gate", "id"]
        constraints = [
            models.UniqueConstraint(fields=["gate", "template"], name="checklist_gate_template_unique",
                                    violation_error_message="This gate already has this checklist."),
        ]

    def __str__(self) -> str:
        return f"{self.title} on {self.gate}"


class ItemStatus(models.TextChoices):
    """State of a checklist item."""

    OPEN = "open", "Open"
    DONE = "done", "Done"
    WAIVED = "waived", "Waived"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class Automation(models.TextChoices):
    """ML Test Score credit: 0.5 point for manual and documented, 1 point for automated and repeated."""

    NONE = "none", "Not done"
    MANUAL = "manual", "Manual, documented"
    AUTOMATED = "automated", "Automated, repeated"


class ChecklistItem(models.Model):
    """One item to complete, waive or mark not applicable, with its evidence."""

    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    key = models.SlugField(max_length=64)
    section = models.CharField(max_length=100, blank=True)
    text = models.TextField()
    guidance = models.TextField(blank=True)
    owner_role = models.CharField(max_length=20, choices=Role.choices)
    required = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    reason = models.TextField(blank=True, help_text="Why the item was waived or is not applicable.")
    automation = models.CharField(max_length=20, choices=Automation.choices, default=Automation.NONE)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["checklist", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["checklist", "key"], name="checklistitem_key_unique",
                                    violation_error_message="This checklist already has an item with this key."),
            models.CheckConstraint(
                condition=~models.Q(status__in=["waived", "not_applicable"]) | ~models.Q(reason=""),
                name="checklistitem_reason_required",
                violation_error_message="A waived or not-applicable item needs a reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.checklist.template.key}/{self.key}"


def evidence_upload_to(instance: "Evidence", filename: str) -> str:
    """Store evidence under its hash so identical uploads never overwrite different content."""
    return f"evidence/{instance.sha256[:2]}/{instance.sha256}/{filename}"


class Evidence(models.Model):
    """A file or URL backing a checklist item; the SHA-256 binds it to signatures."""

    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="evidence")
    name = models.CharField(max_length=255)
    file = models.FileField(upload_to=evidence_upload_to, storage=evidence_storage, blank=True, max_length=400)
    url = models.URLField(max_length=1000, blank=True)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item", "uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(~models.Q(file="") & models.Q(url="")) | (models.Q(file="") & ~models.Q(url="")),
                name="evidence_file_xor_url",
                violation_error_message="Evidence is either an uploaded file or a URL.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"
