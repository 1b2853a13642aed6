"""Who acts: a person, a machine token or the system. Services take an Actor and write it to the audit log."""
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from django.contrib.auth.models import User

    from driftgate.models import ApiToken


class ActorKind:
    """Actor kinds recorded on audit events."""

    USER = "user"
    TOKEN = "token"
    SYSTEM = "system"
    CHOICES = [(USER, "User"), (TOKEN, "API token"), (SYSTEM, "System")]


@dataclass(frozen=True)
class Actor:
    """The acting party of a service call, with the request id that caused it."""

    kind: str
    user: "User | None" = None
    token: "ApiToken | None" = None
    name: str = ""
    request_id: str = ""

    @property
    def person(self) -> "User":
        """Return the acting user where only a person (or a token's owner) can get this far; the system has none."""
        if self.user is None:
            raise TypeError(f"the {self.kind} actor {self.display!r} acts for no user")
        return self.user

    @property
    def display(self) -> str:
        """Return the name copied onto audit events (survives later renames)."""
        if self.kind == ActorKind.USER and self.user is not None:
            full = self.user.get_full_name() if hasattr(self.user, "get_full_name") else ""
            return f"{full} <{self.user.get_username()}>" if full else self.user.get_username()
        if self.kind == ActorKind.TOKEN and self.token is not None:
            return f"token:{self.token.name}"
        return f"system:{self.name or 'driftgate'}"

    @classmethod
    def for_user(cls, user: "User", *, request_id: str = "") -> "Actor":
        """Return an actor for a signed-in person."""
        return cls(kind=ActorKind.USER, user=user, request_id=request_id)

    @classmethod
    def for_token(cls, token: "ApiToken", *, request_id: str = "") -> "Actor":
        """Return an actor for a machine token; its owner is kept for permission checks."""
        return cls(kind=ActorKind.TOKEN, token=token, user=token.owner, request_id=request_id)

    @classmethod
    def system(cls, name: str = "driftgate", *, request_id: str = "") -> "Actor":
        """Return the actor for scheduled and internal work."""
        return cls(kind=ActorKind.SYSTEM, name=name, request_id=request_id)

    @classmethod
    def from_request(cls, request: Any) -> "Actor":
        """Return the actor of a DRF or Django request (token auth sets request.auth to the token)."""
        request_id = getattr(request, "request_id", "") or getattr(getattr(request, "_request", None), "request_id", "")
        token = getattr(request, "auth", None)
        if token is not None and token.__class__.__name__ == "ApiToken":
            return cls.for_token(token, request_id=request_id)
        return cls.for_user(request.user, request_id=request_id)

    def has_scope(self, scope: str) -> bool:
        """Tokens carry scopes; a signed-in person is limited by roles instead."""
        if self.kind == ActorKind.TOKEN:
            return self.token is not None and scope in self.token.scopes
        return True
