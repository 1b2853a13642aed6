"""Single sign-on in a real browser: signing in through the OpenID Connect provider (django-oidc-provider in a
second process), and co-signing a decision with the provider's confirmation in place of a password."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from governance.audit import AuditAction
from governance.models import AuditEvent, Signature, SignatureMethod
from governance.services.decisions import gate_decide
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team

pytestmark = pytest.mark.django_db(transaction=True)

PROVIDER_PASSWORD = "provider secret 3307"


def _sign_in_at_the_provider(page, username: str) -> None:
    """Fill the provider's own sign-in page, as the person would."""
    page.get_by_role("heading", name="Test provider: sign in").wait_for()
    page.get_by_label("Provider username").fill(username)
    page.get_by_label("Provider password").fill(PROVIDER_PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_a_person_signs_in_with_the_provider_and_lands_home_as_themselves(sso, live_server, new_page, make_user,
                                                                         axe):
    ana = make_user("ana", first_name="Ana", last_name="Berg", email="ana@example.org")
    sso.add_user("ana-idp", "ana@example.org", PROVIDER_PASSWORD)
    page = new_page()

    page.goto("/")
    page.wait_for_url("**/accounts/login/**")
    button = page.get_by_role("link", name="Sign in with Test IdP")
    assert button.is_visible()
    axe(page)
    button.click()
    page.wait_for_url(f"{sso.url}/**")
    _sign_in_at_the_provider(page, "ana-idp")

    page.wait_for_url(f"{live_server.url}/")
    assert page.get_by_role("heading", level=1).inner_text() == "My work"
    assert page.locator(".signed-in-as").inner_text() == "Ana Berg"
    assert AuditEvent.objects.get(action=AuditAction.USER_OIDC_SIGNED_IN).actor_user_id == ana.pk


def test_a_person_without_a_password_co_signs_after_signing_in_at_the_provider_again(sso, live_server, new_page,
                                                                                    axe):
    team = make_team()
    gate = gate_in_review(team)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)
    reviewer = team.reviewer
    reviewer.set_unusable_password()
    reviewer.save(update_fields=["password"])
    sso.add_user("reviewer-idp", reviewer.email, PROVIDER_PASSWORD)
    page = new_page()
    page.goto(f"/decisions/{decision.pk}/")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    _sign_in_at_the_provider(page, "reviewer-idp")
    page.wait_for_url(f"{live_server.url}/decisions/{decision.pk}/")
    cosign = page.get_by_role("region", name="Co-sign")
    assert "Signing asks Test IdP to confirm it is you" in cosign.inner_text()
    assert cosign.locator("input[type=password]").count() == 0
    axe(page)

    asked_at = timezone.now()
    # Chromium holds the redirect after the POST to the page's CSP form-action: the provider is reached only because
    # the signing page allows its origin there.
    with page.expect_request(lambda request: request.url.startswith(f"{sso.issuer}/authorize")) as asked:
        cosign.get_by_role("button", name="Sign", exact=True).click()
    query = parse_qs(urlsplit(asked.value.url).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    assert query["redirect_uri"] == [f"{live_server.url}/accounts/sso/reauthenticate/callback/"]
    # The provider asks for the password again although its session from the sign-in is still open.
    _sign_in_at_the_provider(page, "reviewer-idp")

    page.wait_for_url(f"{live_server.url}/decisions/{decision.pk}/")
    assert page.get_by_role("status").filter(has_text="Test IdP confirmed it is you").is_visible()
    assert not Signature.objects.filter(signer=reviewer).exists()  # coming back is not signing
    axe(page)
    page.get_by_role("region", name="Co-sign").get_by_role("button", name="Sign", exact=True).click()

    page.get_by_text("Your signature is recorded.").wait_for()
    signature = Signature.objects.get(signer=reviewer)
    assert signature.auth_method == SignatureMethod.OIDC
    assert asked_at - timedelta(seconds=1) <= signature.auth_time <= timezone.now()
    with translation.override("en"):
        shown_time = date_format(timezone.localtime(signature.auth_time), "DATETIME_FORMAT")
    method = page.locator(".signature-manifest").filter(has_text=signature.printed_name).get_by_text(
        "Identity confirmed by signing in at the single sign-on provider")
    # The method's line carries the provider's auth_time (the signing time is on the line above).
    assert method.inner_text() == f"Identity confirmed by signing in at the single sign-on provider · {shown_time}"
    axe(page)
