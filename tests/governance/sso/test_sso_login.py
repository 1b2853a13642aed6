"""Signing in through a real OpenID Connect provider (django-oidc-provider in a second process), with requests."""
import pytest
import requests
from django.contrib.auth import get_user_model

from governance.audit import AuditAction
from governance.models import AuditEvent, Membership
from tests.oidc_provider_site.harness import provider_sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER_PASSWORD = "provider secret 7781"


def _sso_login(live_server, username: str, *, next_url: str = "/") -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    at_provider = session.get(f"{live_server.url}/accounts/sso/login/?next={next_url}", timeout=20)
    return session, provider_sign_in(session, at_provider, username, PROVIDER_PASSWORD)


def test_single_sign_on_is_off_by_default(live_server, client):
    assert client.get("/accounts/sso/login/").status_code == 404
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()


def test_an_existing_person_signs_in_through_the_provider_and_the_login_is_audited(sso, live_server, make_user):
    ana = make_user("ana", email="ana@example.org")
    sso.add_user("ana-idp", "Ana@Example.org", PROVIDER_PASSWORD)
    assert "Sign in with Test IdP" in requests.get(f"{live_server.url}/accounts/login/", timeout=10).text

    session, landed = _sso_login(live_server, "ana-idp", next_url="/use-cases/")

    assert landed.status_code == 200
    assert landed.url == f"{live_server.url}/use-cases/"
    event = AuditEvent.objects.get(action=AuditAction.USER_OIDC_SIGNED_IN)
    assert event.actor_user_id == ana.pk and event.object_id == str(ana.pk)
    assert event.after["issuer"] == sso.issuer and event.after["subject"] and event.after["claim"] == "email"
    # The session is Driftgate's own: pages open without asking again.
    assert "/accounts/login/" not in session.get(f"{live_server.url}/", timeout=10).url


def test_a_person_unknown_to_driftgate_is_refused_when_creation_is_off(sso, live_server):
    sso.add_user("stranger", "stranger@example.org", PROVIDER_PASSWORD)

    _session, landed = _sso_login(live_server, "stranger")

    assert "/accounts/login/?sso=failed" in landed.url
    assert "did not succeed" in landed.text
    assert not get_user_model().objects.filter(email="stranger@example.org").exists()
    assert not AuditEvent.objects.filter(action__startswith="user.oidc").exists()


def test_creation_on_first_login_makes_a_person_without_password_or_roles(sso, settings, live_server):
    settings.DRIFTGATE_OIDC_CREATE_USERS = True
    sso.add_user("newcomer", "newcomer@example.org", PROVIDER_PASSWORD)

    _session, landed = _sso_login(live_server, "newcomer")

    assert landed.status_code == 200 and "/accounts/login/" not in landed.url
    person = get_user_model().objects.get(email="newcomer@example.org")
    assert person.username == "newcomer@example.org"
    assert not person.has_usable_password()
    assert not Membership.objects.filter(user=person).exists()
    created = AuditEvent.objects.get(action=AuditAction.USER_OIDC_CREATED)
    assert created.object_id == str(person.pk) and created.after["roles"] == [] and created.after["issuer"] == sso.issuer
    assert AuditEvent.objects.filter(action=AuditAction.USER_OIDC_SIGNED_IN, actor_user=person).count() == 1


def test_the_preferred_username_claim_names_the_person_by_username(sso, settings, live_server, make_user):
    settings.DRIFTGATE_OIDC_USER_CLAIM = "preferred_username"
    bo = make_user("bo-idp", email="bo.driftgate@example.org")
    sso.add_user("bo-idp", "bo.elsewhere@example.org", PROVIDER_PASSWORD)

    _session, landed = _sso_login(live_server, "bo-idp")

    assert "/accounts/login/" not in landed.url
    assert AuditEvent.objects.get(action=AuditAction.USER_OIDC_SIGNED_IN).actor_user_id == bo.pk


def test_tokens_from_another_issuer_are_refused(sso, settings, live_server, make_user):
    make_user("cy", email="cy@example.org")
    sso.add_user("cy-idp", "cy@example.org", PROVIDER_PASSWORD)
    settings.DRIFTGATE_OIDC_ISSUER = "https://idp.example.com/openid"

    _session, landed = _sso_login(live_server, "cy-idp")

    assert "/accounts/login/?sso=failed" in landed.url
    assert not AuditEvent.objects.filter(action=AuditAction.USER_OIDC_SIGNED_IN).exists()


def test_an_inactive_person_is_not_signed_in(sso, live_server, make_user):
    make_user("dee", email="dee@example.org", is_active=False)
    sso.add_user("dee-idp", "dee@example.org", PROVIDER_PASSWORD)

    _session, landed = _sso_login(live_server, "dee-idp")

    assert "/accounts/login/?sso=failed" in landed.url
    assert not AuditEvent.objects.filter(action=AuditAction.USER_OIDC_SIGNED_IN).exists()
