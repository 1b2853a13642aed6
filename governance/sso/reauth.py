"""The page side of signing with an OpenID Connect re-authentication.

Signing, a person without a local password is sent to the provider with `prompt=login` and `max_age=0` (sign in
again, whatever session the provider holds). The form they filled is kept in the session; the provider's answer
comes back to `reauthentication_callback`, whose verified ID token (signature, issuer, audience, expiry, nonce)
is kept as the proof for one signing on that same page; the page shows the form again and the person signs. The
signing service decides whether the proof names them and is fresh enough (`governance.services.reauthentication`).
"""
import time
from datetime import UTC, datetime
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils.crypto import get_random_string
from mozilla_django_oidc.utils import absolutify, generate_code_challenge

from governance.services.reauthentication import OidcReauthentication
from governance.services.signing_lockout import signing_lock_check

PENDING = "driftgate_oidc_reauth_pending"
PROOF = "driftgate_oidc_reauth_proof"
FORM = "driftgate_oidc_reauth_form"
# The provider's identity this session signed in with (set by the login callback).
LOGIN_IDENTITY = "driftgate_oidc_login"


def oidc_signing_required(user) -> bool:
    """Whether this person signs with a provider re-authentication: OIDC is on and they have no local password."""
    return bool(settings.DRIFTGATE_OIDC_ENABLED and user.is_authenticated and not user.has_usable_password())


def callback_url(request: HttpRequest) -> str:
    """Return the absolute redirect URI registered at the provider for re-authentications."""
    return absolutify(request, reverse("oidc_reauthentication_callback"))


def reauthentication_redirect(request: HttpRequest, *, return_to: str) -> HttpResponse:
    """Keep the posted signing form and send the person to the provider to sign in again.

    A locked signer is refused here already (SigningLocked), as a password would be refused before it is checked.
    """
    signing_lock_check(user=request.user)
    state = get_random_string(32)
    nonce = get_random_string(32)
    verifier = get_random_string(64)
    request.session[PENDING] = {
        "state": state, "nonce": nonce, "code_verifier": verifier, "user": request.user.pk,
        "return_to": return_to, "requested_at": time.time(),
        "form": {key: request.POST.getlist(key) for key in request.POST if key != "csrfmiddlewaretoken"},
    }
    params = {"response_type": "code", "scope": settings.OIDC_RP_SCOPES, "client_id": settings.OIDC_RP_CLIENT_ID,
              "redirect_uri": callback_url(request), "state": state, "nonce": nonce,
              "prompt": "login", "max_age": "0",
              "code_challenge": generate_code_challenge(verifier, "S256"), "code_challenge_method": "S256"}
    return HttpResponseRedirect(f"{settings.OIDC_OP_AUTHORIZATION_ENDPOINT}?{urlencode(params)}")


def _proof_for(request: HttpRequest) -> dict | None:
    proof = request.session.get(PROOF)
    if not isinstance(proof, dict) or proof.get("user") != request.user.pk or proof.get("path") != request.path:
        return None
    return proof


def reauthentication_take(request: HttpRequest) -> OidcReauthentication | None:
    """Remove and return the proof kept for this page and person (each proof signs once)."""
    proof = _proof_for(request)
    request.session.pop(PROOF, None)
    if proof is None:
        return None
    return OidcReauthentication(
        user_id=proof["user"], issuer=proof["issuer"], subject=proof["subject"],
        auth_time=datetime.fromtimestamp(proof["auth_time"], tz=UTC),
        requested_at=datetime.fromtimestamp(proof["requested_at"], tz=UTC),
        claims=proof["claims"], login_subject=proof.get("login_subject", ""))


def reauthentication_confirmed_at(request: HttpRequest) -> datetime | None:
    """Return when the provider confirmed the person for this page, while the proof waits to be used."""
    proof = _proof_for(request)
    return datetime.fromtimestamp(proof["auth_time"], tz=UTC) if proof else None


def signing_form_restore(request: HttpRequest) -> QueryDict | None:
    """Return the signing form kept before the round trip to the provider, once, on the page it came from."""
    kept = request.session.get(FORM)
    if not isinstance(kept, dict) or kept.get("path") != request.path:
        return None
    request.session.pop(FORM, None)
    data = QueryDict(mutable=True)
    for key, values in kept["data"].items():
        data.setlist(key, values)
    return data


def signing_csp(response: HttpResponse) -> HttpResponse:
    """Let the signing form's submission continue to the provider (CSP form-action also governs its redirects)."""
    parts = urlsplit(settings.OIDC_OP_AUTHORIZATION_ENDPOINT)
    if parts.scheme and parts.netloc:
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}  # type: ignore[attr-defined]
    return response
