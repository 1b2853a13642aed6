"""Reports app config."""
from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Stored, hashed PDF reports."""

    name = "reports"

    def ready(self) -> None:
        """Let audit verification check the chain head every stored report was built from."""
        from governance.auditlog.anchors import register_chain_anchors
        from reports.selectors.stored import report_chain_heads
        register_chain_anchors("reports", report_chain_heads)
