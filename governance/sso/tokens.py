"""Checks of an ID token beyond its signature and nonce (which mozilla-django-oidc verifies): issuer, audience,
authorised party and the claims OpenID Connect Core 1.0 §3.1.3.7 requires."""
from django.conf import settings
from django.core.exceptions import SuspiciousOperation

REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat")


def id_token_claims_check(payload: dict) -> None:
    """Refuse an ID token that another issuer made, or that was issued to another client."""
    missing = [claim for claim in REQUIRED_CLAIMS if claim not in payload]
    if missing:
        raise SuspiciousOperation(f"The ID token lacks {', '.join(missing)}.")
    if payload["iss"] != settings.DRIFTGATE_OIDC_ISSUER:
        raise SuspiciousOperation(f"The ID token's issuer {payload['iss']!r} is not the configured one.")
    audience = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
    client_id = settings.OIDC_RP_CLIENT_ID
    if client_id not in audience:
        raise SuspiciousOperation("The ID token was issued to another client.")
    if len(audience) > 1 and payload.get("azp") != client_id:
        raise SuspiciousOperation("The ID token names several audiences but another authorised party.")
