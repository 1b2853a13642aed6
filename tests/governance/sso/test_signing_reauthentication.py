"""The signing rules for an OpenID Connect re-authentication, held by the same function that checks passwords.

The proof is built here as the re-authentication callback builds it from a verified ID token; what the callback
verifies is tested against the real provider in test_reauthentication_flow.py.
"""
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from driftgate.errors import PermissionRefused, ValidationFailed
from governance.audit import AuditAction
from governance.models import AuditEvent, Signature, SignatureMethod
from governance.services.decisions import gate_decide
from governance.services.reauthentication import OidcReauthentication
from governance.services.signing_lockout import SigningLocked
from tests.factories import PASSWORD
from tests.governance.gates_setup import gate_in_review, make_team

pytestmark = pytest.mark.django_db

ISSUER = "https://idp.example.com"


@pytest.fixture
def oidc_settings(settings):
    settings.DRIFTGATE_OIDC_ENABLED = True
    settings.DRIFTGATE_OIDC_ISSUER = ISSUER
    settings.DRIFTGATE_OIDC_USER_CLAIM = "email"
    settings.DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS = 300
    settings.DRIFTGATE_OIDC_CLOCK_SKEW_SECONDS = 30
    return settings


@pytest.fixture
def team():
    team = make_team()
    owner = team.governance_owner
    owner.set_unusable_password()
    owner.save(update_fields=["password"])
    return team


def _proof(user, *, auth_age: int = 5, requested_before: int = 20, email: str | None = None,
           subject: str = "sub-1", login_subject: str = "sub-1", issuer: str = ISSUER) -> OidcReauthentication:
    now = timezone.now()
    return OidcReauthentication(user_id=user.pk, issuer=issuer, subject=subject,
                                # An ID token's auth_time has whole seconds.
                                auth_time=(now - timedelta(seconds=auth_age)).replace(microsecond=0),
                                requested_at=now - timedelta(seconds=requested_before),
                                claims={"email": email or user.email, "email_verified": True},
                                login_subject=login_subject)


def _decide(team, gate, proof):
    return gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                       role="governance_owner", reauthentication=proof)


def test_a_fresh_reauthentication_signs_and_the_signature_records_method_and_auth_time(oidc_settings, team):
    gate = gate_in_review(team)
    proof = _proof(team.governance_owner)

    decision = _decide(team, gate, proof)

    signature = Signature.objects.get(decision=decision)
    assert signature.auth_method == SignatureMethod.OIDC
    assert signature.auth_time == proof.auth_time
    event = AuditEvent.objects.get(action=AuditAction.SIGNATURE_SIGNED)
    assert event.after["auth_method"] == "oidc" and event.after["oidc_issuer"] == ISSUER
    assert event.after["oidc_subject"] == "sub-1"
    assert parse_datetime(event.after["auth_time"]) == proof.auth_time


def test_a_password_signature_records_the_password_method(team):
    gate = gate_in_review(team)
    team.governance_owner.set_password(PASSWORD)
    team.governance_owner.save(update_fields=["password"])

    before = timezone.now()
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                           role="governance_owner", password=PASSWORD)

    signature = Signature.objects.get(decision=decision)
    assert signature.auth_method == SignatureMethod.PASSWORD
    assert before <= signature.auth_time <= timezone.now()
    assert AuditEvent.objects.get(action=AuditAction.SIGNATURE_SIGNED).after["auth_method"] == "password"


def test_a_login_older_than_the_request_is_not_a_reauthentication(oidc_settings, team):
    gate = gate_in_review(team)
    # The provider answered from a login two minutes before Driftgate asked it to sign the person in again.
    proof = _proof(team.governance_owner, auth_age=140, requested_before=20)

    with pytest.raises(ValidationFailed) as refused:
        _decide(team, gate, proof)

    assert refused.value.code == "reauthentication_not_fresh"
    assert not Signature.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.SIGNATURE_FAILED).exists()


def test_a_confirmation_older_than_the_window_is_refused(oidc_settings, team):
    gate = gate_in_review(team)
    proof = _proof(team.governance_owner, auth_age=301, requested_before=320)

    with pytest.raises(ValidationFailed) as refused:
        _decide(team, gate, proof)

    assert refused.value.code == "reauthentication_expired"
    assert not Signature.objects.exists()


def test_a_login_within_the_clock_skew_of_the_request_counts(oidc_settings, team):
    gate = gate_in_review(team)
    # The provider's clock runs 20 s behind ours: auth_time reads as before the request, within the 30 s allowed.
    proof = _proof(team.governance_owner, auth_age=25, requested_before=5)

    assert _decide(team, gate, proof).signatures.get().auth_method == SignatureMethod.OIDC


@pytest.mark.parametrize("change", [
    {"email": "someone.else@example.com"},
    {"subject": "sub-2"},
    {"issuer": "https://other-idp.example.com"},
])
def test_a_reauthentication_naming_someone_else_is_a_failed_attempt(oidc_settings, team, change):
    gate = gate_in_review(team)
    proof = _proof(team.governance_owner, **change)

    with pytest.raises(PermissionRefused) as refused:
        _decide(team, gate, proof)

    assert refused.value.code == "reauthentication_other_person"
    failed = AuditEvent.objects.get(action=AuditAction.SIGNATURE_FAILED)
    assert failed.actor_user == team.governance_owner and failed.after["auth_method"] == "oidc"
    assert "OpenID Connect" in failed.reason
    assert not Signature.objects.exists()


def test_a_proof_made_in_another_session_is_a_failed_attempt(oidc_settings, team):
    gate = gate_in_review(team)
    proof = _proof(team.governance_owner)
    proof = OidcReauthentication(**{**proof.__dict__, "user_id": team.reviewer.pk})

    with pytest.raises(PermissionRefused):
        _decide(team, gate, proof)

    assert AuditEvent.objects.filter(action=AuditAction.SIGNATURE_FAILED).count() == 1


def test_failed_reauthentications_lock_signing_like_wrong_passwords(oidc_settings, team,
                                                                    django_capture_on_commit_callbacks):
    gate = gate_in_review(team)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            with pytest.raises(PermissionRefused):
                _decide(team, gate, _proof(team.governance_owner, email="intruder@example.com"))

    # Even a proof that names them is refused while the lock lasts, before it is looked at.
    with pytest.raises(SigningLocked):
        _decide(team, gate, _proof(team.governance_owner))
    assert AuditEvent.objects.filter(action="signature.locked").count() == 1
    assert not Signature.objects.exists()


def test_without_password_or_reauthentication_nothing_is_signed(team):
    gate = gate_in_review(team)

    with pytest.raises(ValidationFailed) as refused:
        gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Goals met.",
                    role="governance_owner")

    assert refused.value.code == "password_required"
