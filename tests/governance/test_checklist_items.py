"""Checklist items: who may change them, done needs evidence, waived and not applicable need a reason."""
import pytest

from driftgate.errors import PermissionRefused, ValidationFailed
from governance.models import AuditEvent, ChecklistItem, ItemStatus
from governance.selectors.gates import ml_test_score
from governance.services.checklists import checklist_item_update, evidence_add, evidence_remove
from governance.services.gates import gate_open
from tests.governance.gates_setup import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def gate(team):
    return gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)


def _item(gate, key):
    return ChecklistItem.objects.get(checklist__gate=gate, key=key)


def test_a_required_item_cannot_be_done_without_evidence(team, gate):
    item = _item(gate, "value-evidence")

    with pytest.raises(ValidationFailed) as excinfo:
        checklist_item_update(actor=team.actor("product_owner"), item=item, status="done")

    assert excinfo.value.code == "evidence_required"
    item.refresh_from_db()
    assert item.status == ItemStatus.OPEN


def test_an_item_with_evidence_is_done_and_the_change_is_audited(team, gate):
    item = _item(gate, "value-evidence")
    evidence_add(actor=team.actor("product_owner"), item=item, name="Pilot report", url="https://wiki.example.com/r")

    item = checklist_item_update(actor=team.actor("product_owner"), item=item, status="done")

    assert item.status == ItemStatus.DONE and item.completed_by == team.product_owner and item.completed_at
    event = AuditEvent.objects.get(action="checklist_item.updated")
    assert event.before["status"] == "open" and event.after["status"] == "done"


def test_removed_evidence_does_not_count(team, gate):
    item = _item(gate, "value-evidence")
    evidence = evidence_add(actor=team.actor("product_owner"), item=item, url="https://wiki.example.com/r")
    evidence_remove(actor=team.actor("product_owner"), evidence=evidence, reason="wrong report")

    with pytest.raises(ValidationFailed) as excinfo:
        checklist_item_update(actor=team.actor("product_owner"), item=item, status="done")

    assert excinfo.value.code == "evidence_required"


@pytest.mark.parametrize("status", ["waived", "not_applicable"])
def test_waiving_or_not_applicable_needs_a_reason(team, gate, status):
    item = _item(gate, "approach-justified")

    with pytest.raises(ValidationFailed) as excinfo:
        checklist_item_update(actor=team.actor("product_owner"), item=item, status=status, reason="  ")
    assert excinfo.value.code == "reason_required"

    item = checklist_item_update(actor=team.actor("product_owner"), item=item, status=status,
                                 reason="prompt-only system")
    assert item.status == status and item.reason == "prompt-only system"


def test_the_items_owner_role_may_change_it_but_another_role_may_not(team, gate):
    platform_item = _item(gate, "req-operations-hosting")
    product_item = _item(gate, "value-evidence")

    checklist_item_update(actor=team.actor("platform_owner"), item=platform_item, status="waived", reason="SaaS")
    with pytest.raises(PermissionRefused) as excinfo:
        checklist_item_update(actor=team.actor("platform_owner"), item=product_item, status="waived", reason="no")

    assert excinfo.value.code == "missing_role"
    product_item.refresh_from_db()
    assert product_item.status == ItemStatus.OPEN


def test_the_product_owner_may_change_any_item_but_a_reviewer_may_not(team, gate):
    item = _item(gate, "req-security-privacy")  # owned by the governance owner

    checklist_item_update(actor=team.actor("product_owner"), item=item, status="not_applicable", reason="no PII")
    with pytest.raises(PermissionRefused):
        checklist_item_update(actor=team.actor("reviewer"), item=item, status="open")


def test_unknown_status_and_automation_are_refused(team, gate):
    item = _item(gate, "value-evidence")

    with pytest.raises(ValidationFailed) as status_error:
        checklist_item_update(actor=team.actor("product_owner"), item=item, status="finished")
    with pytest.raises(ValidationFailed) as automation_error:
        checklist_item_update(actor=team.actor("product_owner"), item=item, status="open", automation="robots")

    assert status_error.value.code == "invalid_status"
    assert automation_error.value.code == "invalid_automation"


def test_an_unchanged_item_writes_no_audit_event(team, gate):
    item = _item(gate, "value-evidence")

    checklist_item_update(actor=team.actor("product_owner"), item=item, status="open")

    assert not AuditEvent.objects.filter(action="checklist_item.updated").exists()


def test_ml_test_score_counts_half_for_manual_one_for_automated_and_takes_the_weakest_section():
    team = make_team(stage="pre_production")
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)
    items = ChecklistItem.objects.filter(checklist__gate=gate, checklist__template__key="ml-test-score")
    actor = team.actor("product_owner")
    for section, automation in [("Data", "automated"), ("Model", "manual"), ("Infrastructure", "automated"),
                                ("Monitoring", "automated")]:
        for item in items.filter(section=section)[:3]:
            checklist_item_update(actor=actor, item=item, status="done", automation=automation)
    # Automation on an item that is not done earns nothing.
    checklist_item_update(actor=actor, item=items.filter(section="Model").last(), status="open",
                          automation="automated")

    score = ml_test_score(list(items.order_by("position")))

    assert score["sections"] == {"Data": 3.0, "Model": 1.5, "Infrastructure": 3.0, "Monitoring": 3.0}
    assert score["total"] == 10.5
    assert score["score"] == 1.5 and score["meaning"] == "first pass at production readiness"
