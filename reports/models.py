"""Stored compliance reports: what was asked for, by whom, and the hashed PDF that came out."""
import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils import timezone

from driftgate.storage import REPORTS_STORAGE, NamedStorage


class ReportFileStorage(FileSystemStorage):
    """PDF files under settings.REPORTS_ROOT on local disk (the default "reports" storage), never served by URL:
    downloads go through the audited endpoint."""

    # The location is read from the settings at each use (not cached at import) so that a deployment or a test
    # that points REPORTS_ROOT elsewhere is honoured without re-creating the storage.
    @property
    def base_location(self) -> str:
        """Return the configured reports directory."""
        return str(settings.REPORTS_ROOT)

    @property
    def location(self) -> str:
        """Return the absolute reports directory."""
        return os.path.abspath(self.base_location)


def report_storage() -> NamedStorage:
    """Return the storage of report files, settings.STORAGES["reports"] (a callable keeps it out of migrations)."""
    return NamedStorage(REPORTS_STORAGE)


class ReportKind(models.TextChoices):
    """The reports Driftgate produces."""

    AUDIT_TRAIL = "audit_trail", "Gate audit trail"
    MONITORING = "monitoring", "Post-market monitoring report"
    DEGRADATION = "degradation", "Material-degradation report"


class ReportStatus(models.TextChoices):
    """Lifecycle of a stored report."""

    QUEUED = "queued", "Queued"
    RENDERING = "rendering", "Rendering"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Report(models.Model):
    """A requested report and, once rendered, its PDF file with the SHA-256 and the audit chain head it carries."""

    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    use_case = models.ForeignKey("governance.UseCase", on_delete=models.PROTECT, related_name="reports")
    parameters = models.JSONField(default=dict, blank=True, help_text="Period and options as requested.")
    status = models.CharField(max_length=20, choices=ReportStatus.choices, default=ReportStatus.QUEUED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    requested_by_display = models.CharField(max_length=300, help_text="Name of the requester, copied at request.")
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    file = models.FileField(storage=report_storage, max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    chain_head = models.CharField(max_length=64, blank=True, help_text="Audit chain head the report was built from.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["use_case", "-requested_at"], name="report_usecase_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="ready") | (~models.Q(file="") & ~models.Q(sha256="")),
                name="report_ready_has_file",
                violation_error_message="A ready report needs its file and SHA-256.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} report {self.pk} of {self.use_case_id} ({self.status})"

    @property
    def filename(self) -> str:
        """Return the name offered to the person downloading the file."""
        stamp = (self.finished_at or self.requested_at).strftime("%Y%m%dT%H%M%SZ")
        return f"driftgate-{self.kind.replace('_', '-')}-{self.use_case.slug}-{self.pk}-{stamp}.pdf"
