"""Gate decisions end to end: proposing, co-signing by distinct people, and what a final decision changes."""
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.errors import Conflict, ValidationFailed
from governance.audit import audit_verify_chain
from governance.models import AuditEvent, DecisionStatus, Gate, GateStatus, Obligation, Stage
from governance.services.decisions import decision_sign, decision_withdraw, gate_decide
from governance.services.gates import gate_open
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team, monitoring_ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


def _propose(team, gate, outcome="go", **kwargs):
    return gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome=outcome,
                       rationale=kwargs.pop("rationale", "Pilot met its goals."), role="governance_owner",
                       password=PASSWORD, **kwargs)


def test_a_go_is_pending_until_every_required_role_has_signed(team):
    gate = gate_in_review(team)

    decision = _propose(team, gate)

    assert decision.status == DecisionStatus.PENDING
    assert Gate.objects.get(pk=gate.pk).status == GateStatus.IN_REVIEW
    (signature,) = decision.signatures.all()
    assert signature.role == "governance_owner" and signature.meaning == "approved as governance owner"
    assert signature.printed_name == team.governance_owner.get_full_name()
    assert signature.content_hash == decision.content_hash


def test_the_last_signature_approves_the_gate_and_advances_the_stage(team):
    gate = gate_in_review(team)
    decision = _propose(team, gate)

    signature = decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    decision.refresh_from_db()
    gate.refresh_from_db()
    team.use_case.refresh_from_db()
    assert signature.meaning == "approved as reviewer"
    assert decision.status == DecisionStatus.FINAL and decision.finalized_at
    assert gate.status == GateStatus.APPROVED and gate.decided_at and gate.expires_at is None
    assert team.use_case.stage == Stage.PRE_PRODUCTION
    actions = list(AuditEvent.objects.filter(use_case=team.use_case, sequence__gt=0)
                   .order_by("sequence").values_list("action", flat=True))
    assert actions[-7:] == ["gate.decision_requested", "decision.proposed", "signature.signed", "signature.signed",
                            "decision.finalized", "gate.approved", "use_case.stage_changed"]
    assert audit_verify_chain().ok


def test_a_no_go_is_final_at_its_first_signature_and_the_gate_can_be_reopened(team):
    gate = gate_in_review(team)

    decision = gate_decide(actor=team.actor("reviewer"), gate=gate, outcome="no_go", rationale="Goals unproven.",
                           role="reviewer", password=PASSWORD)

    gate.refresh_from_db()
    team.use_case.refresh_from_db()
    assert decision.status == DecisionStatus.FINAL and gate.status == GateStatus.REJECTED
    assert decision.signatures.get().meaning == "rejected as reviewer"
    assert team.use_case.stage == Stage.PILOT
    assert gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1).status == "open"


def test_a_no_go_needs_no_criteria_to_pass(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    gate.status = GateStatus.IN_REVIEW
    gate.save()

    decision = _propose(team, gate, outcome="no_go", rationale="Nothing is done.")

    assert decision.status == DecisionStatus.FINAL
    assert any(criterion["passed"] is False for criterion in decision.criteria)


def test_a_go_is_refused_while_a_criterion_fails_and_nothing_is_written(team):
    gate = gate_in_review(team, goals=False)
    events = AuditEvent.objects.count()

    with pytest.raises(Conflict) as excinfo:
        _propose(team, gate)

    assert excinfo.value.code == "criteria_not_met"
    assert [c["code"] for c in excinfo.value.extra["failing"]] == ["effect_goals_met"]
    assert not gate.decisions.exists() and AuditEvent.objects.count() == events


def test_go_with_conditions_turns_conditions_into_obligations_when_final(team):
    gate = gate_in_review(team)
    due = timezone.localdate() + timedelta(days=14)
    decision = _propose(team, gate, outcome="go_with_conditions", conditions=[
        {"title": "Add Spanish to the evaluation set", "owner": team.platform_owner.username,
         "due_date": due.isoformat()},
        {"title": "Publish the pilot report", "owner_id": team.product_owner.pk},
    ])
    assert not Obligation.objects.exists()

    decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    first, second = Obligation.objects.order_by("id")
    assert (first.title, first.owner, first.due_date, first.decision) == (
        "Add Spanish to the evaluation set", team.platform_owner, due, decision)
    assert second.owner == team.product_owner and second.due_date > timezone.localdate()
    assert AuditEvent.objects.filter(action="obligation.created").count() == 2
    assert decision.signatures.get(role="reviewer").meaning == "approved with conditions as reviewer"


@pytest.mark.parametrize(("outcome", "conditions", "code"), [
    ("go_with_conditions", [], "conditions_required"),
    ("go", [{"title": "x", "owner_id": 1}], "conditions_not_allowed"),
    ("go_with_conditions", [{"title": "No owner"}], "invalid_conditions"),
    ("go_with_conditions", [{"title": "Past", "owner": "PLATFORM", "due_date": "2001-01-01"}], "invalid_conditions"),
    ("maybe", [], "invalid_outcome"),
])
def test_conditions_and_outcome_are_validated(team, outcome, conditions, code):
    gate = gate_in_review(team)
    conditions = [{**c, "owner": team.platform_owner.username} if c.get("owner") == "PLATFORM" else c
                  for c in conditions]

    with pytest.raises(ValidationFailed) as excinfo:
        _propose(team, gate, outcome=outcome, conditions=conditions)

    assert excinfo.value.code == code
    if code == "invalid_conditions":
        assert excinfo.value.extra["field"] == ("due_date" if conditions[0].get("due_date") else "owner")
    assert not gate.decisions.exists()


def test_a_decision_needs_a_rationale(team):
    gate = gate_in_review(team)

    with pytest.raises(ValidationFailed) as excinfo:
        _propose(team, gate, rationale="  ")

    assert excinfo.value.code == "rationale_required"


def test_approving_gate_3_sets_its_expiry(team, monkeypatch, settings):
    settings.DRIFTGATE_GATE3_VALIDITY_DAYS = 30
    team.use_case.stage = Stage.PRODUCTION
    team.use_case.save()
    Gate.objects.create(use_case=team.use_case, number=2, status=GateStatus.APPROVED)
    monitoring_ready(monkeypatch)
    gate = gate_in_review(team, number=3)
    decision = _propose(team, gate)

    decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    gate.refresh_from_db()
    team.use_case.refresh_from_db()
    assert gate.status == GateStatus.APPROVED and team.use_case.stage == Stage.PRODUCTION
    assert gate.expires_at == gate.decided_at + timedelta(days=30)


def test_approving_gate_2_moves_the_use_case_to_production(monkeypatch):
    team = make_team(stage="pre_production")
    Gate.objects.create(use_case=team.use_case, number=1, status=GateStatus.APPROVED)
    monitoring_ready(monkeypatch)
    gate = gate_in_review(team, number=2)
    decision = _propose(team, gate)

    decision_sign(actor=team.actor("platform_owner"), decision=decision, role="platform_owner", password=PASSWORD)

    team.use_case.refresh_from_db()
    assert team.use_case.stage == Stage.PRODUCTION


def test_a_withdrawn_decision_makes_room_for_a_new_one(team):
    gate = gate_in_review(team)
    first = _propose(team, gate)

    decision_withdraw(actor=team.actor("governance_owner"), decision=first, reason="Wrong rationale.")
    second = _propose(team, gate, rationale="Pilot met all three goals.")

    first.refresh_from_db()
    assert first.status == DecisionStatus.WITHDRAWN and second.status == DecisionStatus.PENDING
    with pytest.raises(Conflict) as excinfo:
        decision_sign(actor=team.actor("reviewer"), decision=first, role="reviewer", password=PASSWORD)
    assert excinfo.value.code == "decision_withdrawn"


def test_withdrawing_needs_a_reason_and_a_pending_decision(team):
    gate = gate_in_review(team)
    decision = _propose(team, gate)
    with pytest.raises(ValidationFailed):
        decision_withdraw(actor=team.actor("governance_owner"), decision=decision, reason="")
    decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    with pytest.raises(Conflict) as excinfo:
        decision_withdraw(actor=team.actor("governance_owner"), decision=decision, reason="Too late.")

    assert excinfo.value.code == "decision_not_pending"
