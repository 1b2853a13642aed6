"""API permission classes: authentication and token scopes. Object-level rules live in the services."""
from rest_framework.permissions import BasePermission

from driftgate.errors import PermissionRefused
from driftgate.models import ApiToken


def scope_name(scope) -> str:
    """Return a scope as clients write it (`traffic:write`), whether given as a TokenScope or a string."""
    return str(getattr(scope, "value", scope))


class IsAuthenticatedActor(BasePermission):
    """Any signed-in person or valid token; per-use-case roles are checked by the services."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class TokenScopeRequired(BasePermission):
    """Require `view.required_scope` (or `view.required_scopes[method]`) when a token authenticates the request."""

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        scopes = getattr(view, "required_scopes", None)
        scope = scopes.get(request.method) if isinstance(scopes, dict) else getattr(view, "required_scope", None)
        if scope is None:
            # Endpoints without a declared scope are for people only.
            raise PermissionRefused(f"{request.method} on this endpoint is for people signed in with a session; "
                                    "API tokens cannot use it.")
        if scope not in token.scopes:
            name = scope_name(scope)
            raise PermissionRefused(f"This token lacks the {name} scope.", code="missing_scope",
                                    extra={"scope": name, "token_scopes": sorted(token.scopes)})
        return True
