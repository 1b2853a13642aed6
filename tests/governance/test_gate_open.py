"""Opening a gate: stage rules, one pending gate per number, who may open it, checklists copied from templates."""
import pytest
from django.test import override_settings

from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.models import AuditEvent, ChecklistItem, ChecklistTemplate, Gate, GateStatus
from governance.services.gates import gate_open
from tests.governance.gates_setup import make_team

pytestmark = pytest.mark.django_db


def test_gate_1_opens_in_pilot_with_the_pilot_checklist_copied():
    team = make_team()

    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)

    assert gate.status == GateStatus.OPEN and gate.opened_by == team.product_owner
    assert gate.required_roles == ["governance_owner", "reviewer"]
    assert [c.template.key for c in gate.checklists.all()] == ["dod-pilot"]
    template_items = ChecklistTemplate.objects.get(key="dod-pilot").items.count()
    assert ChecklistItem.objects.filter(checklist__gate=gate).count() == template_items
    event = AuditEvent.objects.get(action="gate.opened")
    assert event.use_case == team.use_case and event.after["checklists"] == ["dod-pilot"]


def test_gate_2_gets_the_production_list_and_the_ml_test_score():
    team = make_team(stage="pre_production")

    gate = gate_open(actor=team.actor("governance_owner"), use_case=team.use_case, number=2)

    assert sorted(c.template.key for c in gate.checklists.all()) == ["dod-production", "ml-test-score"]
    assert gate.required_roles == ["governance_owner", "platform_owner"]


def test_gate_3_gets_scaling_stable_operation_and_the_ml_test_score():
    team = make_team(stage="production")

    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=3)

    assert sorted(c.template.key for c in gate.checklists.all()) == [
        "ml-test-score", "ready-for-scaling", "stable-operation"]


def test_it_refuses_a_gate_that_does_not_match_the_stage():
    team = make_team(stage="pilot")

    with pytest.raises(Conflict) as excinfo:
        gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)

    assert excinfo.value.code == "wrong_stage" and excinfo.value.extra["required_stage"] == "pre_production"
    assert not Gate.objects.exists()


def test_it_refuses_a_second_open_gate_of_the_same_number():
    team = make_team()
    gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)

    with pytest.raises(Conflict) as excinfo:
        gate_open(actor=team.actor("governance_owner"), use_case=team.use_case, number=1)

    assert excinfo.value.code == "gate_already_open"
    assert Gate.objects.count() == 1


def test_a_rejected_gate_can_be_opened_again():
    team = make_team()
    first = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    Gate.objects.filter(pk=first.pk).update(status=GateStatus.REJECTED)

    second = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)

    assert second.pk != first.pk and second.status == GateStatus.OPEN


def test_a_reviewer_may_not_open_a_gate():
    team = make_team()

    with pytest.raises(PermissionRefused) as excinfo:
        gate_open(actor=team.actor("reviewer"), use_case=team.use_case, number=1)

    assert excinfo.value.code == "missing_role"
    assert not AuditEvent.objects.filter(action="gate.opened").exists()


def test_it_refuses_an_unknown_gate_number():
    team = make_team()

    with pytest.raises(ValidationFailed) as excinfo:
        gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=4)

    assert excinfo.value.code == "invalid_gate_number"


@override_settings(DRIFTGATE_GATE_SIGNING_ROLES={1: ["governance_owner", "platform_owner", "reviewer"]})
def test_signing_roles_follow_the_settings():
    team = make_team()

    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)

    assert gate.required_roles == ["governance_owner", "platform_owner", "reviewer"]


def test_inactive_templates_are_not_copied_and_later_template_edits_leave_copies_alone():
    team = make_team()
    ChecklistTemplate.objects.filter(key="dod-pilot").update(is_active=False)
    extra = ChecklistTemplate.objects.create(key="extra-pilot", title="Extra", gate_numbers=[1])
    extra.items.create(key="one", text="Original text", owner_role="product_owner")

    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    extra.items.update(text="Edited later")

    assert [c.template.key for c in gate.checklists.all()] == ["extra-pilot"]
    assert ChecklistItem.objects.get(checklist__gate=gate).text == "Original text"
