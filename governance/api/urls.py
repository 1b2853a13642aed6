"""Governance API routes under /api/v1/."""
from django.urls import re_path

from driftgate.routers import OptionalSlashRouter
from governance.api.audit import AuditEventViewSet, AuditVerifyView
from governance.api.inventory import (
    EffectGoalDetailView,
    EffectGoalListView,
    EffectMeasurementListView,
    MembershipDetailView,
    MembershipListView,
    ModelVersionActivateView,
    ModelVersionListView,
    ModelVersionRollBackView,
    UseCaseDetailView,
    UseCaseHaltView,
    UseCaseListView,
    UseCaseResumeView,
)
from governance.api.status import UseCaseStatusView

router = OptionalSlashRouter()
router.register("audit-events", AuditEventViewSet, basename="auditevent")

urlpatterns = [
    re_path(r"^audit/verify/?$", AuditVerifyView.as_view(), name="audit-verify"),
    *router.urls,
    # Inventory: any slug reaches the view, so an unknown one gets the API's 404 `use_case_not_found`.
    re_path(r"^use-cases/?$", UseCaseListView.as_view(), name="usecase-list"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/?$", UseCaseDetailView.as_view(), name="usecase-detail"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/halt/?$", UseCaseHaltView.as_view(), name="usecase-halt"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/resume/?$", UseCaseResumeView.as_view(), name="usecase-resume"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/status/?$", UseCaseStatusView.as_view(), name="usecase-status"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/members/?$", MembershipListView.as_view(), name="membership-list"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/members/(?P<membership_id>[0-9]+)/?$", MembershipDetailView.as_view(),
            name="membership-detail"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/model-versions/?$", ModelVersionListView.as_view(),
            name="modelversion-list"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/model-versions/(?P<model_version_id>[0-9]+)/activate/?$",
            ModelVersionActivateView.as_view(), name="modelversion-activate"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/model-versions/(?P<model_version_id>[0-9]+)/roll-back/?$",
            ModelVersionRollBackView.as_view(), name="modelversion-roll-back"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/effect-goals/?$", EffectGoalListView.as_view(), name="effectgoal-list"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/effect-goals/(?P<goal_id>[0-9]+)/?$", EffectGoalDetailView.as_view(),
            name="effectgoal-detail"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/effect-goals/(?P<goal_id>[0-9]+)/measurements/?$",
            EffectMeasurementListView.as_view(), name="effectmeasurement-list"),
]
