"""Who may sign: password re-entered, role held and required, never the requester, one person one role."""
import pytest

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from driftgate.models import ApiToken
from governance.models import AuditEvent, ChecklistItem, Decision, GateStatus, Membership, Signature
from governance.services.checklists import evidence_add
from governance.services.decisions import decision_sign, gate_decide
from governance.services.gates import gate_open
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_person, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def gate(team):
    return gate_in_review(team)


def _decide(actor, gate, role="governance_owner", password=PASSWORD, outcome="go"):
    return gate_decide(actor=actor, gate=gate, outcome=outcome, rationale="Goals met.", role=role, password=password)


def test_a_wrong_password_signs_nothing_and_the_attempt_is_recorded(team, gate):
    with pytest.raises(PermissionRefused) as excinfo:
        _decide(team.actor("governance_owner"), gate, password="not my password")

    assert excinfo.value.code == "invalid_password"
    assert not Decision.objects.exists() and not Signature.objects.exists()
    failed = AuditEvent.objects.get(action="signature.failed")
    assert failed.actor_user == team.governance_owner and failed.object_id == str(gate.pk)
    assert failed.after == {"role": "governance_owner"}


def test_a_missing_password_is_refused_before_anything_else(team, gate):
    with pytest.raises(ValidationFailed) as excinfo:
        _decide(team.actor("governance_owner"), gate, password="")

    assert excinfo.value.code == "password_required"
    assert not AuditEvent.objects.filter(action__startswith="signature.").exists()


def test_the_signer_must_hold_the_role(team, gate):
    with pytest.raises(PermissionRefused) as excinfo:
        _decide(team.actor("platform_owner"), gate, role="governance_owner")

    assert excinfo.value.code == "missing_role"


def test_a_superuser_without_the_role_cannot_sign_for_it(team, gate):
    admin = make_person()
    admin.is_superuser = admin.is_staff = True
    admin.save()

    with pytest.raises(PermissionRefused) as excinfo:
        _decide(Actor.for_user(admin), gate, role="governance_owner")

    assert excinfo.value.code == "missing_role"


def test_the_role_must_be_one_the_gate_requires(team, gate):
    with pytest.raises(ValidationFailed) as excinfo:
        _decide(team.actor("platform_owner"), gate, role="platform_owner")

    assert excinfo.value.code == "role_not_required"


def test_the_requester_never_signs_even_holding_a_required_role(team, gate):
    Membership.objects.create(use_case=team.use_case, user=team.product_owner, role="reviewer")

    with pytest.raises(PermissionRefused) as excinfo:
        _decide(team.actor("product_owner"), gate, role="reviewer")

    assert excinfo.value.code == "self_approval" and excinfo.value.status_code == 403
    assert not Decision.objects.exists()


def test_one_person_signs_one_role_only(team, gate):
    Membership.objects.create(use_case=team.use_case, user=team.governance_owner, role="reviewer")
    decision = _decide(team.actor("governance_owner"), gate)

    with pytest.raises(Conflict) as excinfo:
        decision_sign(actor=team.actor("governance_owner"), decision=decision, role="reviewer", password=PASSWORD)

    assert excinfo.value.code == "signer_already_signed"
    decision.refresh_from_db()
    assert decision.status == "pending" and decision.signatures.count() == 1


def test_a_role_signs_once(team, gate):
    decision = _decide(team.actor("reviewer"), gate, role="reviewer")

    with pytest.raises(Conflict) as excinfo:
        decision_sign(actor=team.actor("second_reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    assert excinfo.value.code == "role_already_signed"


def test_a_decision_needs_the_gate_in_review(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)

    with pytest.raises(Conflict) as excinfo:
        _decide(team.actor("governance_owner"), gate)

    assert excinfo.value.code == "gate_not_in_review"


def test_a_decided_gate_takes_no_second_decision(team, gate):
    decision = _decide(team.actor("governance_owner"), gate)
    decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    with pytest.raises(Conflict) as propose_again:
        _decide(team.actor("governance_owner"), gate, outcome="no_go")
    with pytest.raises(Conflict) as sign_again:
        decision_sign(actor=team.actor("second_reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    assert propose_again.value.code == sign_again.value.code == "already_decided"
    gate.refresh_from_db()
    assert gate.status == GateStatus.APPROVED


def test_a_pending_decision_blocks_a_second_proposal(team, gate):
    _decide(team.actor("governance_owner"), gate)

    with pytest.raises(Conflict) as excinfo:
        _decide(team.actor("reviewer"), gate, role="reviewer", outcome="no_go")

    assert excinfo.value.code == "already_decided"


def test_a_token_cannot_sign(team, gate):
    token = ApiToken.objects.create(name="ci", owner=team.governance_owner, lookup="abc123", key_hash="0" * 64,
                                    scopes=["governance:read"])

    with pytest.raises(PermissionRefused) as excinfo:
        _decide(Actor.for_token(token), gate)

    assert excinfo.value.code == "signature_requires_person"


def test_co_signing_is_refused_once_the_content_changed_after_the_proposal(team, gate):
    decision = _decide(team.actor("governance_owner"), gate)
    item = ChecklistItem.objects.filter(checklist__gate=gate).first()
    evidence_add(actor=team.actor("product_owner"), item=item, url="https://wiki.example.com/late-addition")

    with pytest.raises(Conflict) as excinfo:
        decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    assert excinfo.value.code == "content_changed"
    assert excinfo.value.extra["proposed_hash"] == decision.content_hash != excinfo.value.extra["current_hash"]
