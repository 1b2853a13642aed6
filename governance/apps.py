"""Governance app config."""
from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Use cases, gates, decisions, obligations, audit log."""

    name = "governance"

    def ready(self) -> None:
        """Register the audit log's deploy checks and its connection setup."""
        # django-axes announces a lockout only by signal; the receiver hands it to the audited service.
        from axes.signals import user_locked_out  # noqa: PLC0415  (needs the app registry)
        from django.db.backends.signals import connection_created  # noqa: PLC0415

        from governance.audit import allow_prepared_statements  # noqa: PLC0415
        from governance.auditlog import checks  # noqa: F401 - registering is the import's effect

        connection_created.connect(allow_prepared_statements, dispatch_uid="governance.audit_prepared_statements")

        user_locked_out.connect(_login_locked_out, dispatch_uid="governance.login_lockout")
        # /metrics reports the outbox's pending and failed deliveries per channel.
        from driftgate.metrics import register_notification_counts  # noqa: PLC0415
        from governance.notifications.metrics import notification_counts  # noqa: PLC0415

        register_notification_counts(notification_counts)


def _login_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    # axes repeats the signal for every refused attempt while locked; only the attempt that locks is news.
    if request is None or getattr(request, "axes_failures_since_start", None) is None:
        return
    from governance.services.login_lockout import login_lockout_record  # noqa: PLC0415

    login_lockout_record(username=username, ip_address=ip_address, failures=request.axes_failures_since_start,
                         path=request.path[:200], request_id=getattr(request, "request_id", ""))
