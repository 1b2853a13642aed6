"""Bad input on the pages: a clear message beside the field, nothing changed (and a wrong password audited)."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from governance.models import AuditEvent, ChecklistItem, Decision, EffectMeasurement, Evidence, ItemStatus
from governance.pages.versions import gate_version, item_version
from governance.services.checklists import evidence_add
from governance.services.decisions import decision_preview, gate_decide
from governance.services.gates import gate_open
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team, monitoring_ready

pytestmark = pytest.mark.django_db


def client_for(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def in_review(team, monkeypatch):
    monitoring_ready(monkeypatch)
    return gate_in_review(team, 1)


@pytest.fixture
def open_item(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    return ChecklistItem.objects.filter(checklist__gate=gate, required=True).first()


def _decide_post(gate, *, password: str, role: str = "governance_owner", outcome: str = "go") -> dict:
    preview = decision_preview(gate=gate, outcome=outcome, rationale="Effect reached.", conditions=[])
    return {"outcome": outcome, "rationale": "Effect reached.", "role": role, "password": password, "step": "sign",
            "preview_hash": preview["content_hash"], "seen": "0", "conditions-TOTAL_FORMS": "0",
            "conditions-INITIAL_FORMS": "0"}


def test_a_wrong_password_is_shown_by_the_password_field_and_audited(team, in_review):
    response = client_for(team.governance_owner).post(f"/gates/{in_review.pk}/decide/",
                                                      _decide_post(in_review, password="wrong"))

    assert response.status_code == 403
    page = response.content.decode()
    assert 'id="id_password-errors"' in page and "The password is not correct; nothing was signed." in page
    assert 'aria-invalid="true"' in page
    assert not Decision.objects.filter(gate=in_review).exists()
    assert AuditEvent.objects.filter(action="signature.failed", object_id=str(in_review.pk)).count() == 1


def test_the_requester_cannot_approve_their_own_request(team, in_review):
    team.use_case.memberships.create(user=team.product_owner, role="governance_owner")

    response = client_for(team.product_owner).post(f"/gates/{in_review.pk}/decide/",
                                                   _decide_post(in_review, password=PASSWORD))

    assert "You requested this decision, so you cannot sign it." in response.content.decode()
    assert not Decision.objects.filter(gate=in_review).exists()


def test_a_role_not_held_cannot_be_chosen(team, in_review):
    response = client_for(team.reviewer).post(f"/gates/{in_review.pk}/decide/",
                                              _decide_post(in_review, password=PASSWORD))

    assert response.status_code == 400
    assert 'id="id_role-errors"' in response.content.decode()
    assert not Decision.objects.filter(gate=in_review).exists()


def test_evidence_over_the_limit_is_refused_by_the_file_field(team, open_item, settings):
    settings.DRIFTGATE_EVIDENCE_MAX_BYTES = 10
    upload = SimpleUploadedFile("big.txt", b"x" * 11)

    response = client_for(team.product_owner).post(f"/checklist-items/{open_item.pk}/evidence/",
                                                   {f"evidence-{open_item.pk}-file": upload})

    assert response.status_code == 413
    assert f'id="id_evidence-{open_item.pk}-file-errors"' in response.content.decode()
    assert not Evidence.objects.filter(item=open_item).exists()


def test_a_waive_without_reason_is_refused_by_the_reason_field(team, open_item):
    response = client_for(team.product_owner).post(f"/checklist-items/{open_item.pk}/", {
        f"item-{open_item.pk}-status": "waived", f"item-{open_item.pk}-reason": " ",
        f"item-{open_item.pk}-version": item_version(open_item)})

    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_item-{open_item.pk}-reason-errors"' in page and "A reason is required." in page
    open_item.refresh_from_db()
    assert open_item.status == ItemStatus.OPEN


def test_a_decision_on_a_decided_gate_changes_nothing(team, in_review):
    gate_decide(actor=team.actor("governance_owner"), gate=in_review, outcome="no_go", rationale="Not yet.",
                role="governance_owner", password=PASSWORD)

    response = client_for(team.governance_owner).post(f"/gates/{in_review.pk}/decide/",
                                                      _decide_post(in_review, password=PASSWORD), follow=True)

    assert "This gate already has a decision." in response.content.decode() or \
        "already been decided" in response.content.decode()
    assert Decision.objects.filter(gate=in_review).count() == 1


def test_a_stale_item_form_is_refused_and_names_what_changed(team, open_item):
    stale_version = item_version(open_item)
    seen_before = AuditEvent.objects.order_by("-sequence").first().sequence
    evidence_add(actor=team.actor("product_owner"), item=open_item, url="https://wiki.example.com/a")

    response = client_for(team.product_owner).post(f"/checklist-items/{open_item.pk}/", {
        f"item-{open_item.pk}-status": "not_applicable", f"item-{open_item.pk}-reason": "not used",
        f"item-{open_item.pk}-version": stale_version, "seen": str(seen_before)})

    assert response.status_code == 409
    page = response.content.decode()
    assert "This item changed since you opened the page; nothing was saved." in page
    assert "evidence.added" in page
    open_item.refresh_from_db()
    assert open_item.status == ItemStatus.OPEN


def test_a_stale_decision_form_is_refused_before_signing(team, in_review):
    post = _decide_post(in_review, password=PASSWORD)
    item = ChecklistItem.objects.filter(checklist__gate=in_review).first()
    Evidence.objects.create(item=item, name="late", url="https://example.com/late", sha256="a" * 64)

    response = client_for(team.governance_owner).post(f"/gates/{in_review.pk}/decide/", post)

    assert response.status_code == 409
    assert "The gate changed since you opened this page; nothing was signed." in response.content.decode()
    assert not Decision.objects.filter(gate=in_review).exists()


def test_a_double_submitted_evidence_form_attaches_once(team, open_item):
    post = {f"evidence-{open_item.pk}-url": "https://wiki.example.com/once",
            f"evidence-{open_item.pk}-version": item_version(open_item)}
    client = client_for(team.product_owner)

    first, second = (client.post(f"/checklist-items/{open_item.pk}/evidence/", post) for _ in range(2))

    assert (first.status_code, second.status_code) == (302, 409)
    assert Evidence.objects.filter(item=open_item).count() == 1


def test_a_double_submitted_measurement_is_recorded_once(team):
    goal = team.use_case.effect_goals.create(metric="csat", target=4.2)
    post = {f"goal-{goal.pk}-value": "4.4", f"goal-{goal.pk}-source": "survey", f"goal-{goal.pk}-seen": "0"}
    client = client_for(team.product_owner)

    first, second = (client.post(f"/use-cases/{team.use_case.slug}/effect-goals/{goal.pk}/measurements/", post)
                     for _ in range(2))

    assert (first.status_code, second.status_code) == (302, 400)
    assert "A measurement was recorded since you opened the page" in second.content.decode()
    assert EffectMeasurement.objects.filter(goal=goal).count() == 1


def test_a_post_without_the_csrf_token_is_refused(team, open_item):
    events = AuditEvent.objects.count()

    response = client_for(team.product_owner, csrf=True).post(f"/checklist-items/{open_item.pk}/evidence/", {
        f"evidence-{open_item.pk}-url": "https://wiki.example.com/x"})

    assert response.status_code == 403
    assert not Evidence.objects.filter(item=open_item).exists() and AuditEvent.objects.count() == events


def test_a_request_with_failing_criteria_first_names_them(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)

    response = client_for(team.product_owner).post(f"/gates/{gate.pk}/request/", {"version": gate_version(gate)})

    assert response.status_code == 409
    assert "Required checklist items complete" in response.content.decode()
    gate.refresh_from_db()
    assert gate.status == "open"
