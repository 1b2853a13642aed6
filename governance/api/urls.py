"""Governance API routes under /api/v1/."""
from django.urls import re_path

from driftgate.routers import OptionalSlashRouter
from governance.api.audit import (
    AuditCheckpointListView,
    AuditConsistencyView,
    AuditEventProofView,
    AuditEventViewSet,
    AuditVerifyView,
)
from governance.api.gates import (
    ChecklistItemEvidenceView,
    ChecklistItemView,
    DecisionSignView,
    DecisionWithdrawView,
    EvidenceDownloadView,
    EvidenceView,
    GateDecideView,
    GateDetailView,
    GateRequestDecisionView,
    ObligationFulfilView,
    ObligationWaiveView,
    UseCaseGatesView,
    UseCaseObligationsView,
)
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
    re_path(r"^audit/checkpoints/?$", AuditCheckpointListView.as_view(), name="audit-checkpoints"),
    re_path(r"^audit/consistency/?$", AuditConsistencyView.as_view(), name="audit-consistency"),
    re_path(r"^audit-events/(?P<sequence>[0-9]+)/proof/?$", AuditEventProofView.as_view(), name="auditevent-proof"),
    *router.urls,
    re_path(r"^use-cases/(?P<slug>[^/]+)/gates/?$", UseCaseGatesView.as_view(), name="use-case-gates"),
    re_path(r"^gates/(?P<gate_id>[0-9]+)/?$", GateDetailView.as_view(), name="gate-detail"),
    re_path(r"^gates/(?P<gate_id>[0-9]+)/request-decision/?$", GateRequestDecisionView.as_view(),
            name="gate-request-decision"),
    re_path(r"^gates/(?P<gate_id>[0-9]+)/decide/?$", GateDecideView.as_view(), name="gate-decide"),
    re_path(r"^decisions/(?P<decision_id>[0-9]+)/sign/?$", DecisionSignView.as_view(), name="decision-sign"),
    re_path(r"^decisions/(?P<decision_id>[0-9]+)/withdraw/?$", DecisionWithdrawView.as_view(),
            name="decision-withdraw"),
    re_path(r"^checklist-items/(?P<item_id>[0-9]+)/?$", ChecklistItemView.as_view(), name="checklist-item"),
    re_path(r"^checklist-items/(?P<item_id>[0-9]+)/evidence/?$", ChecklistItemEvidenceView.as_view(),
            name="checklist-item-evidence"),
    re_path(r"^evidence/(?P<evidence_id>[0-9]+)/?$", EvidenceView.as_view(), name="evidence-detail"),
    re_path(r"^evidence/(?P<evidence_id>[0-9]+)/download/?$", EvidenceDownloadView.as_view(),
            name="evidence-download"),
    re_path(r"^use-cases/(?P<slug>[^/]+)/obligations/?$", UseCaseObligationsView.as_view(),
            name="use-case-obligations"),
    re_path(r"^obligations/(?P<obligation_id>[0-9]+)/fulfil/?$", ObligationFulfilView.as_view(),
            name="obligation-fulfil"),
    re_path(r"^obligations/(?P<obligation_id>[0-9]+)/waive/?$", ObligationWaiveView.as_view(),
            name="obligation-waive"),
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
