"""The gate API: status and stable error code for every refusal, tokens read-only, signing by session only."""
import hashlib
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import ChecklistItem, Decision, Evidence, GateStatus
from governance.services.decisions import gate_decide
from governance.services.tokens import api_token_create
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def team(db):
    return make_team()


def client_for(user, **kwargs) -> APIClient:
    client = APIClient(**kwargs)
    client.force_login(user)
    return client


def token_client(user, scopes=("governance:read",)) -> APIClient:
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=user.username, name="ci",
                              scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _open_gate(team, number=1):
    response = client_for(team.product_owner).post(f"/api/v1/use-cases/{team.use_case.slug}/gates",
                                                   {"number": number}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def _decide(client, gate_id, **overrides):
    body = {"outcome": "go", "rationale": "Goals met.", "role": "governance_owner", "password": PASSWORD,
            **overrides}
    return client.post(f"/api/v1/gates/{gate_id}/decide", body, format="json")


@pytest.mark.django_db
def test_opening_a_gate_returns_its_checklists_and_live_criteria(team):
    body = _open_gate(team)

    assert body["number"] == 1 and body["status"] == "open" and body["go_allowed"] is False
    assert [c["key"] for c in body["checklists"]] == ["dod-pilot"]
    assert {c["code"] for c in body["criteria"]} >= {"checklists_complete", "effect_goals_met"}
    listed = client_for(team.reviewer).get(f"/api/v1/use-cases/{team.use_case.slug}/gates/")
    assert listed.status_code == 200 and [g["id"] for g in listed.json()] == [body["id"]]


@pytest.mark.django_db
def test_an_unknown_use_case_is_404(team):
    response = client_for(team.product_owner).post("/api/v1/use-cases/no-such-thing/gates", {"number": 1},
                                                   format="json")

    assert response.status_code == 404 and response.json()["code"] == "use_case_not_found"


@pytest.mark.django_db
def test_a_stranger_cannot_see_the_gate(team, make_user):
    gate = _open_gate(team)

    response = client_for(make_user()).get(f"/api/v1/gates/{gate['id']}")

    assert response.status_code == 404 and response.json()["code"] == "gate_not_found"


@pytest.mark.django_db
def test_opening_without_the_role_is_403_missing_role(team):
    response = client_for(team.reviewer).post(f"/api/v1/use-cases/{team.use_case.slug}/gates", {"number": 1},
                                              format="json")

    assert response.status_code == 403 and response.json()["code"] == "missing_role"


@pytest.mark.django_db
def test_opening_twice_is_409_gate_already_open(team):
    _open_gate(team)

    response = client_for(team.product_owner).post(f"/api/v1/use-cases/{team.use_case.slug}/gates", {"number": 1},
                                                   format="json")

    assert response.status_code == 409 and response.json()["code"] == "gate_already_open"


@pytest.mark.django_db
def test_malformed_json_is_400_malformed_json(team):
    response = client_for(team.product_owner).generic(
        "POST", f"/api/v1/use-cases/{team.use_case.slug}/gates", '{"number": 1', content_type="application/json")

    assert response.status_code == 400 and response.json()["code"] == "malformed_json"


@pytest.mark.django_db
def test_the_item_patch_and_evidence_flow(team):
    gate = _open_gate(team)
    item = gate["checklists"][0]["items"][2]
    client = client_for(team.product_owner)

    refused = client.patch(f"/api/v1/checklist-items/{item['id']}", {"status": "done"}, format="json")
    upload = client.post(f"/api/v1/checklist-items/{item['id']}/evidence",
                         {"file": SimpleUploadedFile("report.pdf", b"%PDF-1.7 pilot report"), "name": "Pilot report"},
                         format="multipart")
    link = client.post(f"/api/v1/checklist-items/{item['id']}/evidence",
                       {"name": "Dashboard", "url": "https://bi.example.com/pilot"}, format="json")
    done = client.patch(f"/api/v1/checklist-items/{item['id']}", {"status": "done"}, format="json")

    assert refused.status_code == 400 and refused.json()["code"] == "evidence_required"
    assert upload.status_code == 201 and upload.json()["sha256"] == hashlib.sha256(b"%PDF-1.7 pilot report").hexdigest()
    assert link.status_code == 201 and link.json()["kind"] == "url"
    assert done.status_code == 200 and done.json()["status"] == "done"
    download = client_for(team.reviewer).get(f"/api/v1/evidence/{upload.json()['id']}/download")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.7 pilot report"
    assert download["X-Evidence-SHA256"] == upload.json()["sha256"]
    assert download["Content-Disposition"].startswith("attachment")
    removed = client.delete(f"/api/v1/evidence/{link.json()['id']}?reason=duplicate")
    assert removed.status_code == 200 and removed.json()["removed_at"]
    again = client.delete(f"/api/v1/evidence/{link.json()['id']}")
    assert again.status_code == 409 and again.json()["code"] == "evidence_already_removed"


@pytest.mark.django_db
def test_evidence_over_the_limit_is_413_and_nothing_is_stored(team, settings):
    settings.DRIFTGATE_EVIDENCE_MAX_BYTES = 100
    item = _open_gate(team)["checklists"][0]["items"][0]

    response = client_for(team.product_owner).post(
        f"/api/v1/checklist-items/{item['id']}/evidence", {"file": SimpleUploadedFile("big.bin", b"x" * 101)},
        format="multipart")

    assert response.status_code == 413 and response.json()["code"] == "evidence_too_large"
    assert not Evidence.objects.exists()


@pytest.mark.django_db
def test_waiving_without_a_reason_is_400_reason_required(team):
    item = _open_gate(team)["checklists"][0]["items"][0]

    response = client_for(team.product_owner).patch(f"/api/v1/checklist-items/{item['id']}", {"status": "waived"},
                                                    format="json")

    assert response.status_code == 400 and response.json()["code"] == "reason_required"


@pytest.mark.django_db
def test_the_whole_decision_through_the_api(team):
    gate = gate_in_review(team)
    proposed = _decide(client_for(team.governance_owner), gate.pk)
    decision_id = proposed.json()["decisions"][0]["id"]

    signed = client_for(team.reviewer).post(f"/api/v1/decisions/{decision_id}/sign",
                                            {"role": "reviewer", "password": PASSWORD}, format="json")

    assert proposed.status_code == 201
    assert signed.status_code == 201, signed.json()
    assert signed.json()["decision_status"] == "final" and signed.json()["gate_status"] == "approved"
    assert signed.json()["valid"] is True and signed.json()["meaning"] == "approved as reviewer"
    detail = client_for(team.reviewer).get(f"/api/v1/gates/{gate.pk}").json()
    assert [s["valid"] for s in detail["decisions"][0]["signatures"]] == [True, True]


@pytest.mark.django_db
def test_signing_without_a_password_is_400_password_required(team):
    gate = gate_in_review(team)

    response = _decide(client_for(team.governance_owner), gate.pk, password="")

    assert response.status_code == 400 and response.json()["code"] == "password_required"
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_signing_with_a_wrong_password_is_403_invalid_password(team):
    gate = gate_in_review(team)

    response = _decide(client_for(team.governance_owner), gate.pk, password="guess")

    assert response.status_code == 403 and response.json()["code"] == "invalid_password"
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_signing_a_role_you_do_not_hold_is_403_missing_role(team):
    gate = gate_in_review(team)

    response = _decide(client_for(team.platform_owner), gate.pk)

    assert response.status_code == 403 and response.json()["code"] == "missing_role"


@pytest.mark.django_db
def test_the_requester_signing_is_403_self_approval(team):
    gate = gate_in_review(team)
    team.use_case.memberships.create(user=team.product_owner, role="reviewer")

    response = _decide(client_for(team.product_owner), gate.pk, role="reviewer")

    assert response.status_code == 403 and response.json()["code"] == "self_approval"


@pytest.mark.django_db
def test_a_decision_on_a_decided_gate_is_409_already_decided(team):
    gate = gate_in_review(team)
    gate_decide(actor=team.actor("reviewer"), gate=gate, outcome="no_go", rationale="Not yet.", role="reviewer",
                password=PASSWORD)

    response = _decide(client_for(team.governance_owner), gate.pk)

    assert response.status_code == 409 and response.json()["code"] == "already_decided"


@pytest.mark.django_db
def test_a_go_with_failing_criteria_is_409_criteria_not_met(team):
    gate = gate_in_review(team, goals=False)

    response = _decide(client_for(team.governance_owner), gate.pk)

    assert response.status_code == 409 and response.json()["code"] == "criteria_not_met"
    assert [c["code"] for c in response.json()["extra"]["failing"]] == ["effect_goals_met"]


@pytest.mark.django_db
def test_signing_needs_the_csrf_token_of_the_session(team):
    gate = gate_in_review(team)

    response = _decide(client_for(team.governance_owner, enforce_csrf_checks=True), gate.pk)

    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert "CSRF" in response.json()["message"] and not Decision.objects.exists()


@pytest.mark.django_db
def test_a_token_reads_gates_but_can_neither_write_nor_sign(team):
    gate = gate_in_review(team)
    client = token_client(team.governance_owner)

    read = client.get(f"/api/v1/gates/{gate.pk}")
    write = client.post(f"/api/v1/use-cases/{team.use_case.slug}/gates", {"number": 1}, format="json")
    sign = _decide(client, gate.pk)

    assert read.status_code == 200 and read.json()["status"] == "in_review"
    assert write.status_code == 403 and write.json()["code"] == "permission_denied"
    assert sign.status_code in (401, 403) and sign.json()["code"] == "not_authenticated"
    assert not Decision.objects.exists()


@pytest.mark.django_db
def test_request_decision_is_for_the_product_owner(team):
    gate = _open_gate(team)

    refused = client_for(team.reviewer).post(f"/api/v1/gates/{gate['id']}/request-decision")
    accepted = client_for(team.product_owner).post(f"/api/v1/gates/{gate['id']}/request-decision")
    again = client_for(team.product_owner).post(f"/api/v1/gates/{gate['id']}/request-decision")

    assert refused.status_code == 403 and refused.json()["code"] == "missing_role"
    assert accepted.status_code == 200 and accepted.json()["status"] == "in_review"
    assert again.status_code == 409 and again.json()["code"] == "gate_not_open"


@pytest.mark.django_db
def test_obligations_through_the_api(team):
    url = f"/api/v1/use-cases/{team.use_case.slug}/obligations"
    body = {"title": "Add Spanish evaluation", "owner": team.platform_owner.username, "due_date": "2999-01-01"}

    refused = client_for(team.product_owner).post(url, body, format="json")
    created = client_for(team.governance_owner).post(url, body, format="json")
    stranger = client_for(team.governance_owner).post(url, {**body, "owner": "nobody"}, format="json")
    fulfilled = client_for(team.platform_owner).post(f"/api/v1/obligations/{created.json()['id']}/fulfil",
                                                     {"resolution": "Added 300 items."}, format="json")
    waive = client_for(team.governance_owner).post(f"/api/v1/obligations/{created.json()['id']}/waive",
                                                   {"reason": "No longer needed."}, format="json")
    listed = token_client(team.reviewer).get(f"{url}?status=fulfilled")

    assert refused.status_code == 403 and refused.json()["code"] == "missing_role"
    assert created.status_code == 201 and created.json()["status"] == "open"
    assert stranger.status_code == 400 and stranger.json()["code"] == "owner_not_member"
    assert fulfilled.status_code == 200 and fulfilled.json()["status"] == "fulfilled"
    assert waive.status_code == 409 and waive.json()["code"] == "obligation_not_open"
    assert listed.status_code == 200 and [o["id"] for o in listed.json()] == [created.json()["id"]]


@pytest.mark.django_db(transaction=True)
def test_racing_approvers_through_the_api_get_one_201_and_one_409(postgres_only):
    team = make_team()
    gate = gate_in_review(team)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)
    clients = [client_for(team.reviewer), client_for(team.second_reviewer)]
    barrier = threading.Barrier(2)
    responses = [None, None]

    def sign(index):
        try:
            barrier.wait(timeout=30)
            responses[index] = clients[index].post(f"/api/v1/decisions/{decision.pk}/sign",
                                                   {"role": "reviewer", "password": PASSWORD}, format="json")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(r.status_code for r in responses) == [201, 409]
    (loser,) = [r for r in responses if r.status_code == 409]
    assert loser.json()["code"] == "already_decided"
    gate.refresh_from_db()
    assert gate.status == GateStatus.APPROVED and ChecklistItem.objects.filter(checklist__gate=gate).exists()


@pytest.mark.django_db
def test_condition_owners_read_back_with_their_username(team):
    gate = gate_in_review(team)
    response = _decide(client_for(team.governance_owner), gate.pk, outcome="go_with_conditions", conditions=[
        {"title": "Add a rollback drill", "owner": team.platform_owner.username, "due_date": "2999-01-01"}])
    assert response.status_code == 201, response.json()

    body = client_for(team.reviewer).get(f"/api/v1/gates/{gate.pk}").json()

    condition = body["decisions"][0]["conditions"][0]
    assert condition["owner_id"] == team.platform_owner.pk
    assert condition["owner"] == team.platform_owner.username
