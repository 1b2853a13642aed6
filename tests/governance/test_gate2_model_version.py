"""Approving gate 2 puts the candidate it approved into production: the model version becomes active."""
import pytest

from governance.models import AuditEvent, Gate, GateStatus, ModelVersion, Stage
from governance.services.decisions import decision_sign, gate_decide
from tests.factories import PASSWORD, ModelVersionFactory
from tests.governance.gates_setup import gate_in_review, make_team, monitoring_ready

pytestmark = pytest.mark.django_db
EVALUATION = {"task_metrics": {"exact_match": 0.81}, "general_capability_regression": -0.02}


def _approve_gate_2(team, monkeypatch):
    Gate.objects.create(use_case=team.use_case, number=1, status=GateStatus.APPROVED)
    monitoring_ready(monkeypatch)
    gate = gate_in_review(team, number=2)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Operable.",
                           role="governance_owner", password=PASSWORD)
    decision_sign(actor=team.actor("platform_owner"), decision=decision, role="platform_owner", password=PASSWORD)


def test_the_newest_evaluated_candidate_becomes_active_in_production(monkeypatch):
    team = make_team(stage="pre_production")
    older = ModelVersionFactory(use_case=team.use_case, label="v1", status="candidate", evaluation=EVALUATION)
    newer = ModelVersionFactory(use_case=team.use_case, label="v2", status="candidate", evaluation=EVALUATION)
    unevaluated = ModelVersionFactory(use_case=team.use_case, label="v3", status="candidate", evaluation={})

    _approve_gate_2(team, monkeypatch)

    team.use_case.refresh_from_db()
    assert team.use_case.stage == Stage.PRODUCTION
    statuses = dict(ModelVersion.objects.filter(use_case=team.use_case).values_list("label", "status"))
    assert statuses == {older.label: "candidate", newer.label: "active", unevaluated.label: "candidate"}
    event = AuditEvent.objects.get(action="model_version.activated")
    assert event.object_id == str(newer.pk) and "gate 2 approved" in event.reason
    assert event.actor_user == team.platform_owner


def test_an_already_active_version_stays_the_one_in_production(monkeypatch):
    team = make_team(stage="pre_production")
    active = ModelVersionFactory(use_case=team.use_case, label="v1", status="active", evaluation=EVALUATION)
    ModelVersionFactory(use_case=team.use_case, label="v2", status="candidate", evaluation=EVALUATION)

    _approve_gate_2(team, monkeypatch)

    assert ModelVersion.objects.get(use_case=team.use_case, status="active") == active
    assert not AuditEvent.objects.filter(action="model_version.activated").exists()
