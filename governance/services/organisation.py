"""Granting and revoking organisation-wide roles (read access across the whole inventory)."""
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import audit_record
from governance.models import OrganisationRole, OrganisationRoleKind


def _view(grant: OrganisationRole) -> dict:
    return {"user": grant.user.get_username(), "role": grant.role, "granted_at": grant.granted_at,
            "revoked_at": grant.revoked_at}


def _require_manager(actor: Actor, permission: str) -> None:
    # Reading everything is a grant of trust across use cases, so it takes an explicit permission, not the staff flag.
    user = actor.user
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind != ActorKind.USER or user is None or not user.is_active or not user.has_perm(permission):
        raise PermissionRefused("Only superusers or people with the permission to manage organisation-wide roles "
                                "may do this.", code="missing_permission", extra={"permission": permission})


def _require_reason(reason: Any, field: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("A reason is required.", code="reason_required",
                               extra={"fields": {field: ["This field may not be blank."]}})
    return reason.strip()


def organisation_role_grant(*, actor: Actor, user: Any, role: str = OrganisationRoleKind.READER,
                            reason: str) -> OrganisationRole:
    """Give a person an organisation-wide role (e.g. a compliance officer who reads every use case)."""
    _require_manager(actor, "governance.add_organisationrole")
    if role not in OrganisationRoleKind.values:
        raise ValidationFailed(f"{role!r} is not an organisation-wide role.", code="invalid_choice",
                               extra={"fields": {"role": [f"Valid: {', '.join(OrganisationRoleKind.values)}."]}})
    if user is None or not user.is_active:
        raise ValidationFailed("Roles can only be given to active people.", code="unknown_user",
                               extra={"fields": {"user": ["Choose an active person."]}})
    reason = _require_reason(reason, "reason")
    try:
        with transaction.atomic():
            grant = OrganisationRole.objects.create(user=user, role=role, reason=reason, granted_by=actor.user)
            audit_record(actor=actor, action="organisation_role.granted", obj=grant, after=_view(grant), reason=reason)
    except IntegrityError as exc:
        raise Conflict(f"{user.get_username()!r} already holds the organisation-wide {role} role.",
                       code="duplicate_organisation_role",
                       extra={"username": user.get_username(), "role": role}) from exc
    return grant


def organisation_role_revoke(*, actor: Actor, grant: OrganisationRole, reason: str) -> OrganisationRole:
    """End an organisation-wide role at once; the row stays as the record of who could read when."""
    _require_manager(actor, "governance.change_organisationrole")
    reason = _require_reason(reason, "revoke_reason")
    with transaction.atomic():
        grant = OrganisationRole.objects.select_for_update().select_related("user").get(pk=grant.pk)
        if grant.revoked_at is not None:
            raise Conflict("This organisation-wide role was already revoked.", code="already_revoked")
        before = _view(grant)
        grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), actor.user, reason
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit_record(actor=actor, action="organisation_role.revoked", obj=grant, before=before, after=_view(grant),
                     reason=reason)
    return grant
