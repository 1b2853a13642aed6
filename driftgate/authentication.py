"""Bearer-token authentication for machines: `Authorization: Bearer dg_<lookup>_<secret>`."""
from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from driftgate.models import TOKEN_PREFIX, ApiToken

# Writing last_used_at on every request would turn each read into a write; once a minute is enough to audit use.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuthentication(authentication.BaseAuthentication):
    """Authenticate a request by a hashed, scoped API token."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0] not in (self.keyword, "Token"):
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header: expected 'Bearer <token>'.")
        raw = parts[1]
        pieces = raw.split("_", 2)
        if len(pieces) != 3 or pieces[0] != TOKEN_PREFIX:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = ApiToken.objects.select_related("owner").filter(lookup=pieces[1]).first()
        if token is None or not token.matches(raw):
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if not token.is_active(now):
            raise exceptions.AuthenticationFailed("Token expired or revoked.")
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed("Token owner is inactive.")
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.owner, token

    def authenticate_header(self, request):
        return self.keyword
