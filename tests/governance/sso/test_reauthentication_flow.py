"""The signing page's round trip to a real OpenID Connect provider (django-oidc-provider in a second process),
driven with requests as a browser without JavaScript would: sign in through the provider, press Sign, sign in at
the provider again (prompt=login, max_age=0), come back to the signing form, press Sign."""
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from driftgate.actors import Actor
from governance.audit import AuditAction
from governance.models import AuditEvent, Signature, SignatureMethod
from governance.services.decisions import gate_decide
from governance.services.signing_lockout import signing_failure_record
from governance.sso.reauth import PENDING, PROOF
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team
from tests.oidc_provider_site.harness import provider_sign_in

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER_PASSWORD = "provider secret 5512"


@pytest.fixture
def pending(sso, live_server):
    """A gate 1 decision signed by the governance owner, waiting for a reviewer who has no local password and is
    signed in to Driftgate through the provider."""
    team = make_team()
    gate = gate_in_review(team)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)
    reviewer = team.reviewer
    reviewer.set_unusable_password()
    reviewer.save(update_fields=["password"])
    sso.add_user(f"{reviewer.username}-idp", reviewer.email, PROVIDER_PASSWORD)
    browser = requests.Session()
    url = f"{live_server.url}/decisions/{decision.pk}/"
    at_provider = browser.get(f"{live_server.url}/accounts/sso/login/?next=/decisions/{decision.pk}/", timeout=20)
    landed = provider_sign_in(browser, at_provider, f"{reviewer.username}-idp", PROVIDER_PASSWORD)
    assert landed.url == url
    return {"decision": decision, "reviewer": reviewer, "browser": browser, "url": url, "page": landed,
            "provider_username": f"{reviewer.username}-idp"}


def _hidden(page: requests.Response, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page.text).group(1)


def _sign(pending: dict, page: requests.Response) -> requests.Response:
    """Press Sign on the co-sign form the page shows."""
    form = page.text[page.text.index('aria-labelledby="h-cosign"'):]
    return pending["browser"].post(pending["url"], data={
        "csrfmiddlewaretoken": _hidden(page, "csrfmiddlewaretoken"), "seen": re.search(
            r'name="seen" value="([^"]*)"', form).group(1),
        "preview_hash": re.search(r'name="preview_hash" value="([^"]*)"', form).group(1), "role": "reviewer"},
        headers={"Referer": pending["url"]}, timeout=20)


def _session(pending: dict) -> SessionStore:
    return SessionStore(session_key=pending["browser"].cookies["sessionid"])


def test_signing_round_trips_to_the_provider_and_records_its_fresh_auth_time(pending):
    page = pending["page"]
    assert "Signing asks Test IdP to confirm it is you" in page.text
    assert 'name="password"' not in page.text[page.text.index('aria-labelledby="h-cosign"'):]
    # The signing page lets its form continue to the provider, and nowhere else.
    assert "form-action 'self' http://127.0.0.1:" in page.headers["Content-Security-Policy"]

    asked_at = timezone.now()
    at_provider = _sign(pending, page)
    # prompt=login: the provider asks again although its session from the sign-in is still open.
    assert "Test provider: sign in" in at_provider.text
    back = provider_sign_in(pending["browser"], at_provider, pending["provider_username"], PROVIDER_PASSWORD)

    assert back.url == pending["url"]
    assert "Test IdP confirmed it is you" in back.text
    assert not Signature.objects.filter(signer=pending["reviewer"]).exists()  # coming back is not signing
    signed = _sign(pending, back)

    assert "Your signature is recorded." in signed.text
    signature = Signature.objects.get(signer=pending["reviewer"])
    assert signature.auth_method == SignatureMethod.OIDC
    # auth_time has whole seconds; it is this round trip's login, not the sign-in before it.
    assert asked_at - timedelta(seconds=1) <= signature.auth_time <= timezone.now()
    event = AuditEvent.objects.get(action=AuditAction.SIGNATURE_SIGNED, actor_user=pending["reviewer"])
    assert event.after["auth_method"] == "oidc" and event.after["oidc_issuer"].endswith("/openid")
    login_subject = AuditEvent.objects.get(action=AuditAction.USER_OIDC_SIGNED_IN).after["subject"]
    assert event.after["oidc_subject"] == login_subject
    assert "Identity confirmed by signing in at the single sign-on provider" in signed.text
    pending["decision"].refresh_from_db()
    assert pending["decision"].status == "final"


def test_a_confirmation_is_used_once_and_an_expired_one_signs_nothing(pending, settings):
    at_provider = _sign(pending, pending["page"])
    back = provider_sign_in(pending["browser"], at_provider, pending["provider_username"], PROVIDER_PASSWORD)
    assert "Test IdP confirmed it is you" in back.text
    settings.DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS = 0
    settings.DRIFTGATE_OIDC_CLOCK_SKEW_SECONDS = 0

    refused = _sign(pending, back)

    assert refused.status_code == 400
    assert "too old to sign with" in refused.text
    assert PROOF not in _session(pending)
    assert not Signature.objects.filter(signer=pending["reviewer"]).exists()


def test_an_id_token_with_another_nonce_is_refused(pending):
    at_provider = _sign(pending, pending["page"])
    session = _session(pending)
    # Someone replays a token from another request: the nonce it carries is not the one this request sent.
    session[PENDING] = {**session[PENDING], "nonce": "another request's nonce"}
    session.save()

    back = provider_sign_in(pending["browser"], at_provider, pending["provider_username"], PROVIDER_PASSWORD)

    assert back.url == pending["url"]
    assert "could not be verified; nothing was signed" in back.text
    assert PROOF not in _session(pending)
    assert "Signing asks Test IdP to confirm it is you" in back.text


def test_an_answer_that_was_not_asked_for_is_refused(pending, live_server):
    answer = pending["browser"].get(f"{live_server.url}/accounts/sso/reauthenticate/callback/?code=abc&state=forged",
                                    timeout=20)

    assert "was not asked for here; nothing was signed" in answer.text
    assert PROOF not in _session(pending)


def test_a_locked_signer_is_not_sent_to_the_provider(pending, settings):
    reviewer, decision = pending["reviewer"], pending["decision"]
    for _ in range(settings.DRIFTGATE_SIGNING_MAX_FAILURES):
        signing_failure_record(actor=Actor.for_user(reviewer), use_case=decision.gate.use_case, target=decision,
                               role="reviewer", reason="the OpenID Connect re-authentication named another person",
                               method="oidc")

    refused = _sign(pending, pending["page"])

    assert refused.status_code == 429
    assert refused.url == pending["url"]
    assert PENDING not in _session(pending)


class _FormFields(HTMLParser):
    """Collect what a browser would submit from the page's last POST form (inputs, selected options, textareas)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag == "form" and attributes.get("method") == "post":
            self.fields = []
        elif tag == "input" and attributes.get("name") and attributes.get("type") != "submit":
            if attributes.get("type") in ("radio", "checkbox") and "checked" not in attributes:
                return
            self.fields.append((attributes["name"], attributes.get("value") or ""))
        elif tag == "select":
            self._select = attributes.get("name")
        elif tag == "option" and self._select and "selected" in attributes:
            self.fields.append((self._select, attributes.get("value") or ""))
        elif tag == "textarea":
            self._textarea = attributes.get("name")
            self.fields.append((self._textarea or "", ""))

    def handle_data(self, data) -> None:
        if self._textarea:
            name, value = self.fields[-1]
            # Browsers drop the newline that follows <textarea>.
            self.fields[-1] = (name, value + (data.removeprefix("\n") if not value else data))

    def handle_endtag(self, tag) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _form(page: requests.Response, **changes: str) -> dict:
    parser = _FormFields()
    parser.feed(page.text)
    fields = {name: value for name, value in parser.fields if name}
    return {**fields, **changes}


def test_proposing_a_decision_keeps_the_reviewed_form_across_the_round_trip(sso, live_server):
    team = make_team()
    gate = gate_in_review(team)
    owner = team.governance_owner
    owner.set_unusable_password()
    owner.save(update_fields=["password"])
    sso.add_user(f"{owner.username}-idp", owner.email, PROVIDER_PASSWORD)
    browser = requests.Session()
    url = f"{live_server.url}/gates/{gate.pk}/decide/"
    at_provider = browser.get(f"{live_server.url}/accounts/sso/login/?next=/gates/{gate.pk}/decide/", timeout=20)
    page = provider_sign_in(browser, at_provider, f"{owner.username}-idp", PROVIDER_PASSWORD)
    headers = {"Referer": url}

    reviewed = browser.post(url, data=_form(page, outcome="go", role="governance_owner", step="review",
                                            rationale="All three effect goals met in the pilot."),
                            headers=headers, timeout=20)
    assert "Signing asks Test IdP to confirm it is you" in reviewed.text
    at_provider = browser.post(url, data=_form(reviewed), headers=headers, timeout=20)
    back = provider_sign_in(browser, at_provider, f"{owner.username}-idp", PROVIDER_PASSWORD)

    assert back.url == url
    assert "Test IdP confirmed it is you" in back.text
    assert "All three effect goals met in the pilot." in back.text  # the form as it was posted
    assert not Signature.objects.exists()
    signed = browser.post(url, data=_form(back), headers=headers, timeout=20)

    assert "The decision is proposed and signed." in signed.text
    signature = Signature.objects.get(signer=owner)
    assert signature.auth_method == SignatureMethod.OIDC and signature.decision.rationale.startswith("All three")
