"""Governance API routes under /api/v1/."""
from django.urls import re_path

from driftgate.routers import OptionalSlashRouter
from governance.api.audit import AuditEventViewSet, AuditVerifyView

router = OptionalSlashRouter()
router.register("audit-events", AuditEventViewSet, basename="auditevent")

urlpatterns = [
    re_path(r"^audit/verify/?$", AuditVerifyView.as_view(), name="audit-verify"),
    *router.urls,
]
