"""Routes of the governance pages (namespace `governance`); the home page is the site root."""
from django.urls import path

from governance.pages.views import decisions, gates, home, obligations

app_name = "governance"

urlpatterns = [
    path("use-cases/", home.use_case_list_page, name="use-case-list"),
    path("use-cases/<slug:slug>/", home.use_case_page, name="use-case"),
    path("use-cases/<slug:slug>/members/", home.member_grant, name="member-grant"),
    path("use-cases/<slug:slug>/members/<int:membership_id>/revoke/", home.member_revoke, name="member-revoke"),
    path("use-cases/<slug:slug>/model-versions/", home.model_version_add, name="model-version-add"),
    path("use-cases/<slug:slug>/effect-goals/", home.effect_goal_add, name="effect-goal-add"),
    path("use-cases/<slug:slug>/effect-goals/<int:goal_id>/measurements/", home.measurement_add,
         name="measurement-add"),
    path("use-cases/<slug:slug>/gates/", home.gate_open_page, name="gate-open"),
    path("use-cases/<slug:slug>/obligations/", obligations.use_case_obligations, name="use-case-obligations"),
    path("gates/<int:gate_id>/", gates.gate_page, name="gate"),
    path("gates/<int:gate_id>/request/", gates.request_decision, name="gate-request"),
    path("gates/<int:gate_id>/decide/", decisions.decide_page, name="gate-decide"),
    path("checklist-items/<int:item_id>/", gates.item_update, name="item-update"),
    path("checklist-items/<int:item_id>/evidence/", gates.evidence_upload, name="evidence-add"),
    path("evidence/<int:evidence_id>/remove/", gates.evidence_delete, name="evidence-remove"),
    path("decisions/<int:decision_id>/", decisions.decision_page, name="decision"),
    path("obligations/", obligations.my_obligations, name="obligations-mine"),
    path("obligations/<int:obligation_id>/fulfil/", obligations.obligation_fulfil_page, name="obligation-fulfil"),
]
