"""The authentication backend of the OpenID Connect login: verified tokens, the configured claim names the person."""
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import error as message_error
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from driftgate.errors import ApplicationError
from governance.pages.messages import error_message
from governance.services.sso import oidc_user_create, oidc_users_for_claims
from governance.sso.tokens import id_token_claims_check

logger = logging.getLogger(__name__)

# Set on the request by a successful login, read by the callback view to record it.
REQUEST_IDENTITY = "driftgate_oidc_identity"


class OidcBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow with Driftgate's rules: issuer and audience checked, one person per claim."""

    def __init__(self, *args, **kwargs) -> None:
        if not settings.DRIFTGATE_OIDC_ENABLED:
            # Listed in AUTHENTICATION_BACKENDS even when off; the parent would refuse the empty configuration.
            self.UserModel = get_user_model()
            return
        super().__init__(*args, **kwargs)

    def authenticate(self, request, **kwargs):
        """Sign in from the provider's callback; nothing else (a password login) reaches this backend's flow."""
        if not settings.DRIFTGATE_OIDC_ENABLED or request is None:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """Verify signature and nonce (the parent), then issuer, audience and required claims."""
        payload = super().verify_token(token, **kwargs)
        id_token_claims_check(payload)
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        """Return the one person the claim names, or create one when configured; refuse (None) otherwise."""
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload["sub"]:
            raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
        claims = {**payload, **claims}
        try:
            users = list(oidc_users_for_claims(claims)[:2])
            if len(users) > 1:
                raise SuspiciousOperation("The claim names more than one person.")
            user = users[0] if users else oidc_user_create(claims=claims, issuer=payload["iss"],
                                                           subject=payload["sub"])
        except ApplicationError as exc:
            logger.warning("single sign-on refused for subject %s: %s", payload["sub"], exc.code)
            message_error(self.request, error_message(exc.code, exc.message))
            return None
        setattr(self.request, REQUEST_IDENTITY, {"issuer": payload["iss"], "subject": payload["sub"]})
        return user
