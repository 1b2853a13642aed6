"""Creating and revoking machine API tokens."""
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from driftgate.models import ApiToken, TokenScope, generate_raw_token, hash_token_secret
from governance.audit import audit_record


def _token_view(token: ApiToken) -> dict:
    return {"name": token.name, "owner": token.owner.get_username(), "lookup": token.lookup, "scopes": token.scopes,
            "expires_at": token.expires_at, "revoked_at": token.revoked_at}


def api_token_create(*, actor: Actor, owner_username: str, name: str, scopes: list[str],
                     expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a scoped token for a person and return it with the raw secret, shown only this once."""
    valid = set(TokenScope.values)
    unknown = sorted(set(scopes) - valid)
    if not scopes or unknown:
        raise ValidationFailed(f"Unknown or missing scopes: {', '.join(unknown) or '(none given)'}.",
                               code="invalid_scope", extra={"valid_scopes": sorted(valid)})
    if not name.strip():
        raise ValidationFailed("A token needs a name.", code="invalid_name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed("The expiry must lie in the future.", code="invalid_expiry")
    owner = get_user_model().objects.filter(username=owner_username, is_active=True).first()
    if owner is None:
        raise ValidationFailed(f"No active user {owner_username!r}.", code="unknown_user")
    if actor.user is not None and actor.user != owner and not actor.user.is_superuser:
        raise PermissionRefused("Only a superuser may create tokens for someone else.", code="permission_denied")
    lookup, raw = generate_raw_token()
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(name=name.strip(), owner=owner, lookup=lookup,
                                            key_hash=hash_token_secret(raw), scopes=sorted(set(scopes)),
                                            expires_at=expires_at)
            audit_record(actor=actor, action="token.created", obj=token, after=_token_view(token))
    except IntegrityError as exc:
        raise Conflict(f"{owner_username!r} already has a token named {name!r}.", code="duplicate_token") from exc
    return token, raw


def api_token_revoke(*, actor: Actor, token: ApiToken, reason: str = "") -> ApiToken:
    """Revoke a token at once; it can never authenticate again."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise Conflict("The token is already revoked.", code="already_revoked")
        if actor.user is not None and actor.user != token.owner and not actor.user.is_superuser:
            raise PermissionRefused("Only the owner or a superuser may revoke a token.", code="permission_denied")
        before = _token_view(token)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="token.revoked", obj=token, before=before, after=_token_view(token),
                     reason=reason)
    return token
