"""Single sign-on with OpenID Connect: which Driftgate person a provider's claims name, creating one on first login
when configured, and the audit events of both.

The provider proves who someone is; what they may do stays Driftgate's: a person created here holds no role on any
use case until an owner grants one (audited as every grant is).
"""
from typing import cast

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import IntegrityError, transaction

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import AuditAction, audit_record

EMAIL_CLAIM = "email"


def oidc_claim_value(claims: dict) -> str:
    """Return the configured claim's value, refusing claims without it or with an e-mail the provider did not verify."""
    claim = settings.DRIFTGATE_OIDC_USER_CLAIM
    value = claims.get(claim)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"The provider's answer has no {claim!r} claim.", code="oidc_claim_missing",
                               extra={"claim": claim})
    if claim == EMAIL_CLAIM and claims.get("email_verified") is False:
        raise PermissionRefused("The provider has not verified this e-mail address.", code="oidc_email_unverified")
    return value.strip()


def oidc_users_for_claims(claims: dict):
    """Return the active people the configured claim names: by e-mail (case-insensitive) or by username."""
    value = oidc_claim_value(claims)
    users = get_user_model().objects.filter(is_active=True)
    if settings.DRIFTGATE_OIDC_USER_CLAIM == EMAIL_CLAIM:
        return users.filter(email__iexact=value)
    return users.filter(username=value)


def oidc_user_create(*, claims: dict, issuer: str, subject: str) -> AbstractBaseUser:
    """Create the person a first OIDC login names, with no usable password and no role anywhere; audited."""
    if not settings.DRIFTGATE_OIDC_CREATE_USERS:
        raise PermissionRefused("Only people who already have a Driftgate account may sign in with single sign-on.",
                                code="oidc_user_unknown")
    value = oidc_claim_value(claims)
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    username = value[:150]
    model = get_user_model()
    try:
        with transaction.atomic():
            user = model(username=username, email=email or "",
                         first_name=str(claims.get("given_name") or "")[:150],
                         last_name=str(claims.get("family_name") or "")[:150])
            # The provider is the only way in: no local password can ever match.
            user.set_unusable_password()
            user.save(force_insert=True)
            audit_record(actor=Actor.system("oidc"), action=AuditAction.USER_OIDC_CREATED,
                         object_type=user._meta.label_lower, object_id=user.pk,
                         after={"username": username, "email": user.email, "issuer": issuer, "subject": subject,
                                "claim": settings.DRIFTGATE_OIDC_USER_CLAIM, "roles": []},
                         reason="first single sign-on login; no role is granted")
    except IntegrityError as exc:
        raise Conflict(f"A person with the username {username!r} already exists but does not match the claim.",
                       code="oidc_username_taken", extra={"username": username}) from exc
    return user


def oidc_login_record(*, user: AbstractBaseUser, issuer: str, subject: str, request_id: str = "") -> None:
    """Record a sign-in through the OpenID Connect provider."""
    with transaction.atomic():
        audit_record(actor=Actor.for_user(cast(User, user), request_id=request_id), action=AuditAction.USER_OIDC_SIGNED_IN,
                     object_type=user._meta.label_lower, object_id=user.pk,
                     after={"issuer": issuer, "subject": subject, "claim": settings.DRIFTGATE_OIDC_USER_CLAIM})
