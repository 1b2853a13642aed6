"""Reading the audit log."""
from datetime import datetime

from django.db.models import QuerySet

from driftgate.actors import Actor
from governance.models import AuditEvent
from governance.permissions import reads_whole_organisation, use_cases_visible_to


def audit_events_visible_to(*, actor: Actor, use_case_slug: str | None = None, action: str | None = None,
                            object_type: str | None = None, object_id: str | None = None,
                            since: datetime | None = None, until: datetime | None = None) -> QuerySet[AuditEvent]:
    """Return audit events the actor may read, newest first; organisation-wide readers see every event."""
    queryset = AuditEvent.objects.select_related("use_case").order_by("-sequence")
    if not reads_whole_organisation(actor):
        queryset = queryset.filter(use_case__in=use_cases_visible_to(actor))
    if use_case_slug:
        queryset = queryset.filter(use_case__slug=use_case_slug)
    if action:
        # A trailing dot selects a family of codes: `gate.` matches gate.opened, gate.decided, ...
        queryset = queryset.filter(action__startswith=action) if action.endswith(".") else queryset.filter(action=action)
    if object_type:
        queryset = queryset.filter(object_type=object_type)
    if object_id:
        queryset = queryset.filter(object_id=object_id)
    if since:
        queryset = queryset.filter(created_at__gte=since)
    if until:
        queryset = queryset.filter(created_at__lt=until)
    return queryset
