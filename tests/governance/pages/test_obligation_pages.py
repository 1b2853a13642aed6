"""Fulfilling an obligation on its page: how, with a link to the proof; a bad link is refused beside its field."""
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from governance.models import AuditEvent, Obligation
from tests.governance.gates_setup import make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def obligation():
    team = make_team()
    return Obligation.objects.create(use_case=team.use_case, title="Review drift after four weeks",
                                     owner=team.platform_owner, due_date=timezone.localdate())


def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_fulfils_an_obligation_with_a_link_to_the_proof(obligation):
    prefix = f"obligation-{obligation.pk}"

    response = _page(obligation.owner).post(f"/obligations/{obligation.pk}/fulfil/", {
        f"{prefix}-resolution": "Reviewed four weeks of runs; no drift past review.",
        f"{prefix}-evidence_url": "https://wiki.example.com/ia/drift-review"})

    assert response.status_code == 302
    obligation.refresh_from_db()
    assert (obligation.status, obligation.evidence_url) == ("fulfilled", "https://wiki.example.com/ia/drift-review")
    event = AuditEvent.objects.get(action="obligation.fulfilled")
    assert event.after["evidence_url"] == "https://wiki.example.com/ia/drift-review"
    listed = _page(obligation.owner).get(f"/use-cases/{obligation.use_case.slug}/obligations/").content.decode()
    assert 'href="https://wiki.example.com/ia/drift-review"' in listed


def test_a_link_that_is_not_http_is_refused_beside_its_field(obligation):
    prefix = f"obligation-{obligation.pk}"

    response = _page(obligation.owner).post(f"/obligations/{obligation.pk}/fulfil/", {
        f"{prefix}-resolution": "Done.", f"{prefix}-evidence_url": "javascript:alert(1)"})

    assert response.status_code == 400
    assert f'id="id_{prefix}-evidence_url-errors"' in response.content.decode()
    obligation.refresh_from_db()
    assert obligation.status == "open" and obligation.evidence_url == ""


def test_the_api_takes_the_same_link_with_the_same_rule(obligation):
    client = APIClient()
    client.force_authenticate(obligation.owner)

    refused = client.post(f"/api/v1/obligations/{obligation.pk}/fulfil",
                          {"resolution": "Done.", "evidence_url": "ftp://example.com/x"}, format="json")
    accepted = client.post(f"/api/v1/obligations/{obligation.pk}/fulfil",
                           {"resolution": "Done.", "evidence_url": "https://example.com/x"}, format="json")

    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_url")
    assert "evidence_url" in refused.json()["extra"]["fields"]
    assert accepted.status_code == 200 and accepted.json()["evidence_url"] == "https://example.com/x"
