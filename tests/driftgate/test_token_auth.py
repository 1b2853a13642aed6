"""Machine tokens: hashed at rest, scoped, revocable; errors come back in the one error shape."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.errors import ValidationFailed
from driftgate.models import ApiToken, hash_token_secret
from governance.models import AuditEvent
from governance.services.tokens import api_token_create, api_token_revoke

URL = "/api/v1/audit-events"


@pytest.fixture
def owner(make_user):
    return make_user("ci-owner")


def _client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.django_db
def test_only_the_hash_of_a_token_is_stored(owner, system_actor):
    token, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="ci",
                                  scopes=["governance:read"])
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw not in {stored.key_hash, stored.lookup}
    assert stored.key_hash == hash_token_secret(raw)
    assert AuditEvent.objects.filter(action="token.created", object_id=str(token.pk)).exists()


@pytest.mark.django_db
def test_a_token_with_the_scope_reads_the_endpoint(owner, system_actor):
    _, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="ci",
                              scopes=["governance:read"])
    response = _client(raw).get(URL)
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_token_without_the_scope_is_refused(owner, system_actor):
    _, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="ci", scopes=["traffic:write"])
    response = _client(raw).get(URL)
    assert response.status_code == 403
    body = response.json()
    # The refusal names the scope as clients write it, not an enum's repr.
    assert body["code"] == "missing_scope" and body["extra"]["scope"] == "governance:read"
    assert body["message"] == "This token lacks the governance:read scope."
    assert body["extra"]["token_scopes"] == ["traffic:write"]


@pytest.mark.django_db
def test_a_wrong_secret_is_refused(owner, system_actor):
    token, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="ci",
                                  scopes=["governance:read"])
    response = _client(raw[:-4] + "AAAA").get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_a_malformed_header_is_refused(owner):
    response = _client("not-a-driftgate-token").get(URL)
    assert response.status_code == 401
    assert response.json() == {"code": "authentication_failed", "message": "Invalid token.", "extra": {}}


@pytest.mark.django_db
def test_a_revoked_token_no_longer_authenticates(owner, system_actor):
    token, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="ci",
                                  scopes=["governance:read"])
    api_token_revoke(actor=system_actor, token=token, reason="rotated")
    response = _client(raw).get(URL)
    assert response.status_code == 401
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(token.pk)).exists()


@pytest.mark.django_db
def test_an_expired_token_no_longer_authenticates(owner, system_actor):
    token, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="ci",
                                  scopes=["governance:read"], expires_at=timezone.now() + timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _client(raw).get(URL).status_code == 401


@pytest.mark.django_db
def test_unknown_scopes_are_refused_and_nothing_is_stored(owner, system_actor):
    with pytest.raises(ValidationFailed) as excinfo:
        api_token_create(actor=system_actor, owner_username=owner.username, name="ci", scopes=["everything"])
    assert excinfo.value.code == "invalid_scope"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_anonymous_requests_get_the_error_shape():
    response = APIClient().get(URL)
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.django_db
def test_a_request_id_is_echoed_and_stored_on_audit_events(owner, system_actor):
    client = APIClient()
    client.force_login(owner)
    response = client.get(URL, HTTP_X_REQUEST_ID="ci-run-42")
    assert response["X-Request-ID"] == "ci-run-42"
    assert APIClient().get(URL, HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"] != "bad id with spaces"
    assert Actor.for_user(owner, request_id="ci-run-42").request_id == "ci-run-42"
