"""Organisation-wide roles: read access across the whole inventory, granted to a person apart from any use case."""
from django.conf import settings
from django.db import models
from django.utils import timezone


class OrganisationRoleKind(models.TextChoices):
    """Roles that apply to every use case at once."""

    READER = "reader", "Organisation-wide reader (read-only: every use case, the audit log and reports)"


class OrganisationRole(models.Model):
    """A person's organisation-wide role; revoking keeps the row, so the history of who could read stays."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organisation_roles")
    role = models.CharField(max_length=20, choices=OrganisationRoleKind.choices, default=OrganisationRoleKind.READER)
    reason = models.TextField()
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "role"], condition=models.Q(revoked_at__isnull=True),
                                    name="organisationrole_one_active",
                                    violation_error_message="This person already holds this organisation-wide role."),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"{self.user} as organisation-wide {self.role} ({state})"
