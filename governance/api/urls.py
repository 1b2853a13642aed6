"""Governance API routes under /api/v1/."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from governance.api.audit import AuditEventViewSet, AuditVerifyView

router = SimpleRouter(trailing_slash="/?")
router.register("audit-events", AuditEventViewSet, basename="auditevent")

urlpatterns = [
    path("audit/verify", AuditVerifyView.as_view(), name="audit-verify"),
    *router.urls,
]
