"""Creating and revoking machine API tokens, and the machine users they act for."""
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from driftgate.models import ApiToken, TokenScope, generate_raw_token, hash_token_secret
from governance.audit import audit_record
from governance.models import Membership, Role, UseCase


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


def machine_user_ensure(*, actor: Actor, username: str, use_case_slug: str | None = None,
                        role: str | None = None) -> tuple[Any, bool]:
    """Create (if missing) a machine user that cannot sign in with a password, and give it a role on a use case.

    For operators (the system actor of a management command) and superusers; a token acts for this user, so the
    role decides what the token may see. Returns the user and whether it was created.
    """
    if actor.kind != ActorKind.SYSTEM and not (actor.user is not None and actor.user.is_superuser):
        raise PermissionRefused("Only an operator or a superuser may create machine users.", code="permission_denied")
    username = (username or "").strip()
    if not username:
        raise ValidationFailed("A machine user needs a username.", code="invalid_username")
    if (use_case_slug is None) != (role is None):
        raise ValidationFailed("Give both the use case and the role, or neither.", code="invalid_role_grant")
    if role is not None and role not in Role.values:
        raise ValidationFailed(f"{role!r} is not a role: {', '.join(Role.values)}.", code="invalid_role",
                               extra={"valid": list(Role.values)})
    users = get_user_model().objects
    with transaction.atomic():
        use_case = None
        if use_case_slug is not None:
            use_case = UseCase.objects.select_for_update().filter(slug=use_case_slug).first()
            if use_case is None:
                raise NotFound(f"Use case {use_case_slug!r} does not exist.", code="use_case_not_found",
                               extra={"slug": use_case_slug})
        user = users.filter(username=username).first()
        created = user is None
        if user is None:
            user = users.create(username=username)
            # Machines authenticate by token only; no password can ever match.
            user.set_unusable_password()
            user.save(update_fields=["password"])
            audit_record(actor=actor, action="user.created", object_type=user._meta.label_lower, object_id=user.pk,
                         after={"username": username, "machine": True}, reason="machine user for API tokens")
        if use_case is not None and role is not None and not Membership.objects.filter(use_case=use_case, user=user, role=role).exists():
            membership = Membership.objects.create(use_case=use_case, user=user, role=role)
            audit_record(actor=actor, action="membership.granted", obj=membership, use_case=use_case,
                         after={"user": username, "role": role, "use_case": use_case.slug})
    return user, created
