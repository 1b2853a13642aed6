"""OpenAPI description of the platform's authentication, so the schema documents bearer tokens."""
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe `Authorization: Bearer dg_…` tokens in the OpenAPI schema."""

    target_class = "driftgate.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dg_<lookup>_<secret>",
            "description": "A scoped API token created with `manage.py token_create` or in the admin.",
        }


class SessionAuthenticationScheme(SessionScheme):
    """Describe the session cookie of signed-in people (with the CSRF header on writes)."""

    target_class = "driftgate.authentication.SessionAuthentication"
