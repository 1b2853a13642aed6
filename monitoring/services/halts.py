"""Halting and resuming a use case from an alert page, where a reason is asked for: the person re-enters their
password, as for a signature (21 CFR 11.200). The re-authentication itself lives in `alert_confirm_stop` and
`use_case_resume`, so the API and the pages cannot differ on it; the audit event records who confirmed the stop
or lifted the halt and why."""
from driftgate.actors import Actor
from driftgate.errors import ValidationFailed
from governance.models import UseCase
from governance.services.inventory import use_case_resume
from monitoring.models import Alert
from monitoring.services.alerts import alert_confirm_stop


def alert_confirm_stop_signed(*, actor: Actor, alert: Alert, reason: str, password: str) -> Alert:
    """Confirm a stop recommendation with a reason and the password re-entered: the use case is halted."""
    if not reason.strip():
        raise ValidationFailed("Say why the stop is confirmed.", code="reason_required",
                               extra={"fields": {"reason": ["A reason is required."]}})
    return alert_confirm_stop(actor=actor, alert=alert, reason=reason, password=password)


def use_case_resume_signed(*, actor: Actor, use_case: UseCase, reason: str, password: str) -> UseCase:
    """Lift a halt with a reason and the password re-entered (governance or platform owner)."""
    if not reason.strip():
        raise ValidationFailed("Say why the use case may run again.", code="reason_required",
                               extra={"fields": {"reason": ["A reason is required."]}})
    return use_case_resume(actor=actor, use_case=use_case, reason=reason, password=password)
