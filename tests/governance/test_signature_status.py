"""A signature stays valid only while the gate's content hashes to what was signed; racing signers get one winner."""
import threading

import pytest
from django.db import connections
from django.utils import timezone

from driftgate.errors import Conflict
from governance.content import decision_content_hash, gate_content, gate_content_hash
from governance.models import ChecklistItem, Decision, DecisionStatus, EffectMeasurement, GateStatus, Signature
from governance.selectors.gates import gate_detail, signature_status
from governance.services.checklists import checklist_item_update, evidence_add, evidence_remove
from governance.services.decisions import decision_sign, gate_decide
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team


def _approved_gate_1(team):
    gate = gate_in_review(team)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)
    decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)
    return gate, decision


@pytest.mark.django_db
def test_signatures_are_valid_right_after_signing():
    team = make_team()
    gate, decision = _approved_gate_1(team)

    statuses = [signature_status(signature) for signature in decision.signatures.all()]

    assert [status["valid"] for status in statuses] == [True, True]
    assert statuses[0]["signed_hash"] == decision.content_hash == decision_content_hash(decision)


@pytest.mark.django_db
def test_evidence_added_after_signing_breaks_every_signature():
    team = make_team()
    gate, decision = _approved_gate_1(team)
    item = ChecklistItem.objects.filter(checklist__gate=gate).first()

    evidence_add(actor=team.actor("product_owner"), item=item, url="https://wiki.example.com/added-later")

    for signature in Signature.objects.filter(decision=decision):
        status = signature_status(signature)
        assert status["valid"] is False and status["current_hash"] != status["signed_hash"]
    detail = gate_detail(gate)
    assert [sig["valid"] for sig in detail["decisions"][0]["signatures"]] == [False, False]


@pytest.mark.django_db
def test_removing_evidence_or_reopening_an_item_breaks_the_signature():
    team = make_team()
    gate, decision = _approved_gate_1(team)
    signature = decision.signatures.first()
    item = ChecklistItem.objects.filter(checklist__gate=gate, required=True).first()

    evidence_remove(actor=team.actor("product_owner"), evidence=item.evidence.first())
    assert signature_status(signature)["valid"] is False

    checklist_item_update(actor=team.actor("product_owner"), item=item, status="open")
    assert signature_status(signature)["valid"] is False


@pytest.mark.django_db
def test_a_new_effect_measurement_breaks_a_gate_1_signature():
    team = make_team()
    gate, decision = _approved_gate_1(team)
    goal = team.use_case.effect_goals.first()

    EffectMeasurement.objects.create(goal=goal, value=0.9, measured_at=timezone.now())

    assert signature_status(decision.signatures.first())["valid"] is False


@pytest.mark.django_db
def test_the_content_covers_items_evidence_goals_and_the_decision():
    team = make_team()
    gate = gate_in_review(team)
    decision_part = {"outcome": "go", "rationale": "r", "conditions": []}

    content = gate_content(gate, decision=decision_part)

    assert content["use_case"] == {"id": team.use_case.pk, "slug": team.use_case.slug}
    assert content["gate"] == {"id": gate.pk, "number": 1}
    assert {"checklist", "item", "status", "reason", "automation", "evidence"} == set(content["items"][0])
    assert content["items"][0]["evidence"][0].keys() == {"name", "sha256", "url"}
    assert len(content["effect_goals"]) == 3 and content["effect_goals"][0]["latest"]["value"] == 0.8
    assert content["decision"] == decision_part
    assert gate_content_hash(gate, decision=decision_part) != gate_content_hash(
        gate, decision={**decision_part, "rationale": "other"})


def _race(targets):
    """Run the callables at the same moment in threads; return what each returned or raised."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def run(index, target):
        try:
            barrier.wait(timeout=30)
            results[index] = target()
        except Exception as exc:  # collected and asserted by the caller
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_approvers_racing_for_the_last_slot_get_one_winner(postgres_only):
    team = make_team()
    gate = gate_in_review(team)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)

    results = _race([
        lambda: decision_sign(actor=team.actor("reviewer"), decision=Decision.objects.get(pk=decision.pk),
                              role="reviewer", password=PASSWORD),
        lambda: decision_sign(actor=team.actor("second_reviewer"), decision=Decision.objects.get(pk=decision.pk),
                              role="reviewer", password=PASSWORD),
    ])

    winners = [r for r in results if isinstance(r, Signature)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code == "already_decided"
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.FINAL and decision.signatures.count() == 2
    gate.refresh_from_db()
    assert gate.status == GateStatus.APPROVED


@pytest.mark.django_db(transaction=True)
def test_two_approvers_racing_for_the_same_role_of_three_get_one_winner(postgres_only, settings):
    settings.DRIFTGATE_GATE_SIGNING_ROLES = {1: ["governance_owner", "reviewer", "platform_owner"]}
    team = make_team()
    gate = gate_in_review(team)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)

    results = _race([
        lambda: decision_sign(actor=team.actor("reviewer"), decision=Decision.objects.get(pk=decision.pk),
                              role="reviewer", password=PASSWORD),
        lambda: decision_sign(actor=team.actor("second_reviewer"), decision=Decision.objects.get(pk=decision.pk),
                              role="reviewer", password=PASSWORD),
    ])

    assert sorted(type(r).__name__ for r in results) == ["Conflict", "Signature"], results
    (loser,) = [r for r in results if isinstance(r, Conflict)]
    assert loser.code == "role_already_signed"
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.PENDING and decision.signatures.count() == 2
