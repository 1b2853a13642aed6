"""API permission classes: authentication and token scopes. Object-level rules live in the services."""
from rest_framework.permissions import BasePermission

from driftgate.models import ApiToken


class IsAuthenticatedActor(BasePermission):
    """Any signed-in person or valid token; per-use-case roles are checked by the services."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)


class TokenScopeRequired(BasePermission):
    """Require `view.required_scope` (or `view.required_scopes[method]`) when a token authenticates the request."""

    message = "This token lacks the scope this endpoint needs."

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
            return False
        return scope in token.scopes
