"""Views of the OpenID Connect login and of the signing re-authentication's return from the provider."""
import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from governance.services.sso import oidc_login_record
from governance.sso.backend import REQUEST_IDENTITY, OidcBackend
from governance.sso.reauth import FORM, LOGIN_IDENTITY, PENDING, PROOF, callback_url

logger = logging.getLogger(__name__)


def _require_enabled() -> None:
    if not settings.DRIFTGATE_OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


class OidcLoginView(OIDCAuthenticationRequestView):
    """Send the person to the provider to sign in (authorization code flow with PKCE and a nonce)."""

    def get(self, request):
        """Start the login; 404 while single sign-on is off."""
        _require_enabled()
        return super().get(request)


class OidcCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer to a login: verify, sign the person in, record the login."""

    def get(self, request):
        """Finish the login; 404 while single sign-on is off, back to the sign-in page when it cannot be verified."""
        _require_enabled()
        try:
            return super().get(request)
        except (SuspiciousOperation, requests.RequestException, jwt.PyJWTError) as exc:
            # A token from another issuer, a bad signature, a lost state, a provider that does not answer: no login.
            logger.warning("single sign-on refused: %s", exc)
            return self.login_failure()

    def login_success(self):
        """Sign in and record the sign-in with the provider's identity, kept for later re-authentications."""
        response = super().login_success()
        identity = getattr(self.request, REQUEST_IDENTITY, None)
        if identity:
            self.request.session[LOGIN_IDENTITY] = identity
            oidc_login_record(user=self.user, issuer=identity["issuer"], subject=identity["subject"],
                              request_id=getattr(self.request, "request_id", ""))
        return response


def _claims(backend: OidcBackend, token_info: dict, payload: dict) -> dict:
    """Return the claims that name the person: the ID token's, completed by userinfo when it lacks the claim."""
    if payload.get(settings.DRIFTGATE_OIDC_USER_CLAIM):
        return payload
    userinfo = backend.get_userinfo(token_info.get("access_token"), token_info.get("id_token"), payload)
    if userinfo.get("sub") != payload["sub"]:
        raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
    return {**payload, **userinfo}


@login_required
@require_GET
def reauthentication_callback(request: HttpRequest) -> HttpResponse:
    """Verify the provider's answer to a signing re-authentication and go back to the signing form with it."""
    _require_enabled()
    pending = request.session.pop(PENDING, None)
    state = request.GET.get("state", "")
    if (not isinstance(pending, dict) or pending.get("user") != request.user.pk or not state
            or not constant_time_compare(state, pending["state"])):
        messages.error(request, _("This confirmation from the provider was not asked for here; nothing was signed."))
        return redirect("home")
    return_to = pending["return_to"]
    request.session[FORM] = {"path": pending["return_to"].split("?", 1)[0], "data": pending["form"]}
    code = request.GET.get("code")
    if request.GET.get("error") or not code:
        messages.error(request, _("The provider did not confirm you (%(error)s); nothing was signed.")
                       % {"error": request.GET.get("error") or _("no code")})
        return redirect(return_to)
    backend = OidcBackend()
    backend.request = request
    try:
        token_info = backend.get_token({
            "client_id": settings.OIDC_RP_CLIENT_ID, "client_secret": settings.OIDC_RP_CLIENT_SECRET,
            "grant_type": "authorization_code", "code": code, "redirect_uri": callback_url(request),
            "code_verifier": pending["code_verifier"]})
        payload = backend.verify_token(token_info.get("id_token") or "", nonce=pending["nonce"])
        claims = _claims(backend, token_info, payload)
    except (SuspiciousOperation, requests.RequestException, jwt.PyJWTError, ValueError) as exc:
        logger.warning("signing re-authentication refused: %s", exc)
        messages.error(request, _("The provider's answer could not be verified; nothing was signed."))
        return redirect(return_to)
    auth_time = payload.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        messages.error(request, _("The provider did not say when you signed in (auth_time); nothing was signed."))
        return redirect(return_to)
    claim = settings.DRIFTGATE_OIDC_USER_CLAIM
    request.session[PROOF] = {
        "user": request.user.pk, "path": pending["return_to"].split("?", 1)[0], "issuer": payload["iss"],
        "subject": payload["sub"], "auth_time": auth_time, "requested_at": pending["requested_at"],
        "claims": {claim: claims.get(claim), "email_verified": claims.get("email_verified")},
        "login_subject": (request.session.get(LOGIN_IDENTITY) or {}).get("subject", "")}
    return redirect(return_to)
