"""Proving at signing that the signer is the person signed in (21 CFR 11.200): a re-entered local password, or a
fresh OpenID Connect login at the provider for people who have no local password.

The OpenID Connect proof is an ID token the provider issued for an authorisation request with `prompt=login` and
`max_age=0`, its signature, issuer, audience, expiry and nonce already verified when it came back. Here it is held
to the signing rules: it names this person (by the configured claim, and by the subject they signed in with), and
its `auth_time` is fresh — not before the request that asked for it (less the allowed clock skew), and no older than
DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS when the signature is made.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from driftgate.errors import ValidationFailed
from governance.models import SignatureMethod
from governance.services.sso import oidc_users_for_claims


@dataclass(frozen=True)
class OidcReauthentication:
    """A verified ID token from a re-authentication, kept for one signing by the person whose session asked for it."""

    user_id: int
    issuer: str
    subject: str
    auth_time: datetime
    requested_at: datetime
    claims: dict = field(default_factory=dict)
    # The subject this session signed in with through the provider, when it did.
    login_subject: str = ""


@dataclass(frozen=True)
class SignerProof:
    """How the signer proved who they are, as the signature and its audit event record it."""

    method: str
    auth_time: datetime
    issuer: str = ""
    subject: str = ""

    def audit(self) -> dict:
        """Return the fields the `signature.signed` event records."""
        details: dict = {"auth_method": self.method, "auth_time": self.auth_time}
        if self.method == SignatureMethod.OIDC:
            details |= {"oidc_issuer": self.issuer, "oidc_subject": self.subject}
        return details


def password_proof() -> SignerProof:
    """Return the proof of a password that was just checked."""
    return SignerProof(method=SignatureMethod.PASSWORD, auth_time=timezone.now())


def oidc_proof_mismatch(*, user, proof: OidcReauthentication) -> str:
    """Return why the proof names someone other than this person ("" when it names them)."""
    if proof.user_id != user.pk:
        return "the OpenID Connect re-authentication was made in another person's session"
    if proof.issuer != settings.DRIFTGATE_OIDC_ISSUER:
        return "the OpenID Connect re-authentication came from another issuer"
    if proof.login_subject and proof.subject != proof.login_subject:
        return "the OpenID Connect re-authentication named another subject than the sign-in"
    try:
        named = list(oidc_users_for_claims(proof.claims).values_list("pk", flat=True)[:2])
    except ValidationFailed:
        named = []
    if named != [user.pk]:
        return "the OpenID Connect re-authentication named another person"
    return ""


def oidc_proof_check_fresh(*, proof: OidcReauthentication) -> SignerProof:
    """Return the signer proof when the provider's login is fresh enough to sign now; refuse a stale one."""
    now = timezone.now()
    skew = timedelta(seconds=settings.DRIFTGATE_OIDC_CLOCK_SKEW_SECONDS)
    max_age = timedelta(seconds=settings.DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS)
    # auth_time has whole seconds (a NumericDate): a login in the second the request was made is not older than it.
    requested_at = proof.requested_at.replace(microsecond=0)
    if proof.auth_time < requested_at - skew or proof.auth_time > now + skew:
        # The provider answered from an older login instead of asking again: not a failed attempt, but no proof.
        raise ValidationFailed("The provider did not ask you to sign in again; nothing was signed.",
                               code="reauthentication_not_fresh",
                               extra={"auth_time": proof.auth_time, "requested_at": proof.requested_at})
    if now - proof.auth_time > max_age:
        raise ValidationFailed("Your confirmation at the provider is too old to sign with; confirm again.",
                               code="reauthentication_expired",
                               extra={"auth_time": proof.auth_time,
                                      "max_age_seconds": settings.DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS})
    return SignerProof(method=SignatureMethod.OIDC, auth_time=proof.auth_time, issuer=proof.issuer,
                       subject=proof.subject)
