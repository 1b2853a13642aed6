"""Bearer-token authentication for machines: `Authorization: Bearer dg_<lookup>_<secret>`."""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions

from driftgate.errors import CsrfFailed, TokenFailuresThrottled
from driftgate.models import TOKEN_PREFIX, ApiToken
from driftgate.throttling import client_address, window_count, window_hit

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
        # Guessing tokens is refused per address before any lookup, so a blocked guesser learns nothing more.
        failures_key = f"token-failures:{client_address(request)}"
        window, limit = settings.DRIFTGATE_TOKEN_FAILURE_WINDOW_SECONDS, settings.DRIFTGATE_TOKEN_FAILURE_LIMIT
        failures, wait = window_count(failures_key, window=window)
        if failures >= limit:
            raise TokenFailuresThrottled(wait=wait)
        try:
            token = self._valid_token(parts[1])
        except exceptions.AuthenticationFailed:
            window_hit(failures_key, window=window)
            raise
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.owner, token

    def _valid_token(self, raw: str) -> ApiToken:
        pieces = raw.split("_", 2)
        if len(pieces) != 3 or pieces[0] != TOKEN_PREFIX:
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = ApiToken.objects.select_related("owner").filter(lookup=pieces[1]).first()
        if token is None or not token.matches(raw):
            raise exceptions.AuthenticationFailed("Invalid token.")
        if not token.is_active(timezone.now()):
            raise exceptions.AuthenticationFailed("Token expired or revoked.")
        if not token.owner.is_active:
            raise exceptions.AuthenticationFailed("Token owner is inactive.")
        return token

    def authenticate_header(self, request):
        return self.keyword


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, with the CSRF check run on Django's request instead of DRF's.

    Django's CSRF check reads `request.POST` for a form token. On DRF's request that parses the body with the
    view's parsers, consuming the stream a view reads itself (traffic: "The body is empty") or refusing a media
    type no parser knows (NDJSON: 415). Django's own request leaves a non-form body unread, and the check then
    takes the token from the X-CSRFToken header, exactly as before.
    """

    def enforce_csrf(self, request):
        # DRF's CSRFCheck returns the reason instead of rendering Django's failure page.
        check = authentication.CSRFCheck(lambda _request: None)
        django_request = request._request
        check.process_request(django_request)
        reason = check.process_view(django_request, None, (), {})
        if reason:
            raise CsrfFailed(f"CSRF failed: {reason}")
