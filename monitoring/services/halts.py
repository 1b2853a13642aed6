"""Halting and resuming a use case from an alert as a decision: the person re-enters their password, as for a
signature (21 CFR 11.200), and the audit event records who confirmed the stop or lifted the halt and why."""
from driftgate.actors import Actor, ActorKind
from driftgate.errors import PermissionRefused, ValidationFailed
from governance.models import UseCase
from governance.services.inventory import use_case_resume
from monitoring.models import Alert
from monitoring.services.alerts import alert_confirm_stop


def _reauthenticate(*, actor: Actor, password: str, what: str) -> None:
    if actor.kind != ActorKind.USER or actor.user is None:
        raise PermissionRefused(f"Only a person can {what}.", code="person_required")
    if not password:
        raise ValidationFailed(f"Re-enter your password to {what}.", code="password_required",
                               extra={"fields": {"password": [f"Re-enter your password to {what}."]}})
    if not actor.user.check_password(password):
        raise PermissionRefused("The password is not correct; nothing was changed.", code="invalid_password",
                                extra={"fields": {"password": ["The password is not correct."]}})


def alert_confirm_stop_signed(*, actor: Actor, alert: Alert, reason: str, password: str) -> Alert:
    """Confirm a stop recommendation with the password re-entered: the use case is halted (stop confirmers)."""
    if not reason.strip():
        raise ValidationFailed("Say why the stop is confirmed.", code="reason_required",
                               extra={"fields": {"reason": ["A reason is required."]}})
    _reauthenticate(actor=actor, password=password, what="confirm the stop")
    return alert_confirm_stop(actor=actor, alert=alert, reason=reason)


def use_case_resume_signed(*, actor: Actor, use_case: UseCase, reason: str, password: str) -> UseCase:
    """Lift a halt with the password re-entered and a reason (governance or platform owner)."""
    if not reason.strip():
        raise ValidationFailed("Say why the use case may run again.", code="reason_required",
                               extra={"fields": {"reason": ["A reason is required."]}})
    _reauthenticate(actor=actor, password=password, what="resume the use case")
    return use_case_resume(actor=actor, use_case=use_case, reason=reason)
