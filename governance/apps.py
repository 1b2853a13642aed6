"""Governance app config."""
from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Use cases, gates, decisions, obligations, audit log."""

    name = "governance"

    def ready(self) -> None:
        """Register the audit log's deploy checks."""
        from governance.auditlog import checks  # noqa: F401 - registering is the import's effect
