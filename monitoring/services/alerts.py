"""Alerts: raising them from a run, stop recommendations and halts, triage, resolution and Art. 73 incidents."""
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from driftgate.actors import Actor
from driftgate.errors import Conflict, ValidationFailed
from governance.audit import audit_record
from governance.models import NotificationEvent, Role, UseCase
from governance.notifications.audiences import audience
from governance.notifications.outbox import notify
from governance.permissions import require_role
from governance.services.inventory import use_case_halt
from governance.services.signing_lockout import reauthenticate
from monitoring.models import (
    ART73_DEADLINE_DAYS,
    Alert,
    AlertStatus,
    DriftRun,
    DriftSignal,
    IncidentClass,
    MonitoringPolicy,
    Resolution,
    Severity,
    TriageVerdict,
)

DRIFT_MONITOR = "drift-monitor"
STOP_CONFIRMERS = (Role.GOVERNANCE_OWNER, Role.PLATFORM_OWNER)
TRIAGERS = (Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER, Role.REVIEWER)
RESOLVERS = (Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER)
INCIDENT_CLASSIFIERS = (Role.GOVERNANCE_OWNER,)
# Harmful answers are fixed by changing the model; accepting them as the new normal would hide the harm.
HARMFUL_RESOLUTIONS = (Resolution.RETRAIN, Resolution.ROLL_BACK)


def alert_view(alert: Alert) -> dict[str, Any]:
    """Return the audited state of an alert."""
    return {
        "severity": alert.severity,
        "status": alert.status,
        "halt_applied": alert.halt_applied,
        "stop_confirmed_by": alert.stop_confirmed_by_id,
        "stop_confirmed_at": alert.stop_confirmed_at,
        "verdict": alert.verdict,
        "resolution": alert.resolution,
        "note": alert.note,
        "resolved_at": alert.resolved_at,
        "incident_class": alert.incident_class,
        "incident_aware_at": alert.incident_aware_at,
    }


def signals_summary(*, run: DriftRun, signals: Sequence[DriftSignal]) -> dict[str, Any]:
    """Return what raised an alert: the run's window and every signal's effect, p-values and tier."""
    return {
        "run": run.pk,
        "window": {"start": run.window_start.isoformat(), "end": run.window_end.isoformat()},
        "n": run.n,
        "severity": run.severity,
        "signals": [
            {"name": signal.name, "severity": signal.severity, "effect_size": signal.effect_size,
             "effect_unit": signal.effect_unit, "p_value": signal.p_value, "p_adjusted": signal.p_adjusted}
            for signal in signals
        ],
        "raised_by": [signal.name for signal in signals if signal.severity == run.severity],
    }


def _halt_reason(alert: Alert) -> str:
    names = ", ".join(alert.summary.get("raised_by", [])) or "drift signals"
    window = alert.summary.get("window", {})
    # No closing full stop: the CI status quotes the reason inside its own sentence.
    return (f"stop alert {alert.pk}: {names} reached the stop tier in the window "
            f"{window.get('start')} – {window.get('end')}")


def _halt(*, actor: Actor, use_case: UseCase, reason: str) -> bool:
    """Halt the use case; return False when it was already halted (the halt stands either way)."""
    try:
        with transaction.atomic():
            use_case_halt(actor=actor, use_case=use_case, reason=reason)
    except Conflict as exc:
        if exc.code != "already_halted":
            raise
        return False
    return True


def _notify_raised(alert: Alert) -> None:
    """Tell the triagers of a review alert, and the governance and platform owners of a stop alert at once."""
    use_case = alert.use_case
    stop = alert.severity == Severity.STOP
    event = NotificationEvent.STOP_ALERT if stop else NotificationEvent.REVIEW_ALERT
    names = ", ".join(alert.summary.get("raised_by", [])) or "drift signals"
    window = alert.summary.get("window", {})
    with translation.override(settings.LANGUAGE_CODE):
        if stop:
            subject = _("Stop alert on %(name)s") % {"name": use_case.name}
            body = _("%(signals)s reached the stop tier for %(name)s (%(slug)s) in the window %(start)s – %(end)s. "
                     "Recommendation: %(recommendation)s. Confirm the stop or triage the alert.")
        else:
            subject = _("Review alert on %(name)s") % {"name": use_case.name}
            body = _("%(signals)s reached the review tier for %(name)s (%(slug)s) in the window %(start)s – %(end)s. "
                     "Triage it: legitimate change, harmful degradation or false alarm.")
        body = body % {"signals": names, "name": use_case.name, "slug": use_case.slug, "start": window.get("start"),
                       "end": window.get("end"), "recommendation": alert.summary.get("recommendation")}
    notify(event=event, use_case=use_case, recipients=audience(event=event, use_case=use_case), subject=subject,
           body=body, link=reverse("monitoring:alert", args=[alert.pk]),
           payload={"alert": alert.pk, "severity": alert.severity, "run": alert.run_id,
                    "recommendation": alert.summary.get("recommendation"), "raised_by": alert.summary.get("raised_by"),
                    "window": window})


def alert_raise(*, run: DriftRun, signals: Sequence[DriftSignal], policy: MonitoringPolicy | None) -> Alert:
    """Raise the alert for a review or stop run; a stop halts the use case when the policy allows it."""
    if run.severity not in (Severity.REVIEW, Severity.STOP):
        raise ValueError(f"a run of severity {run.severity!r} raises no alert")
    actor = Actor.system(DRIFT_MONITOR)
    with transaction.atomic():
        alert = Alert.objects.create(use_case=run.use_case, run=run, severity=run.severity,
                                     summary=signals_summary(run=run, signals=signals))
        auto_halt = run.severity == Severity.STOP and policy is not None and policy.auto_halt
        alert.summary["recommendation"] = "halt" if auto_halt else (
            "stop" if run.severity == Severity.STOP else "review")
        alert.save(update_fields=["summary"])
        audit_record(actor=actor, action="alert.raised", obj=alert, use_case=run.use_case, after={
            **alert_view(alert), "summary": alert.summary})
        _notify_raised(alert)
        if auto_halt:
            alert.halt_applied = _halt(actor=actor, use_case=run.use_case, reason=_halt_reason(alert))
            alert.save(update_fields=["halt_applied"])
    return alert


def _locked(alert: Alert) -> Alert:
    return Alert.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=alert.pk)


def alert_confirm_stop(*, actor: Actor, alert: Alert, password: str, reason: str = "") -> Alert:
    """Confirm a stop recommendation (governance or platform owner) with the password re-entered: the use case is
    halted."""
    require_role(actor=actor, use_case=alert.use_case, roles=STOP_CONFIRMERS, action="confirm a stop")
    # Halting production is a decision like a signature: the same re-authentication and lock, for pages and API.
    reauthenticate(actor=actor, password=password, use_case=alert.use_case, target=alert, what="confirm the stop",
                   done="changed", person_code="person_required", purpose="confirm the stop")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.severity != Severity.STOP:
            raise Conflict("Only a stop alert can be confirmed as a stop.", code="not_a_stop_alert",
                           extra={"severity": alert.severity})
        if alert.halt_applied or alert.stop_confirmed_at is not None:
            raise Conflict("This stop has already been applied.", code="stop_already_applied")
        if alert.status == AlertStatus.RESOLVED:
            raise Conflict("The alert is resolved; nothing to stop.", code="alert_resolved")
        before = alert_view(alert)
        halt_reason = reason.strip() or _halt_reason(alert)
        # halt_applied says whether this alert's stop halted the use case, automatically or once confirmed.
        alert.halt_applied = _halt(actor=actor, use_case=alert.use_case, reason=halt_reason)
        alert.stop_confirmed_by = actor.user
        alert.stop_confirmed_at = timezone.now()
        alert.save(update_fields=["halt_applied", "stop_confirmed_by", "stop_confirmed_at"])
        audit_record(actor=actor, action="alert.stop_confirmed", obj=alert, use_case=alert.use_case, before=before,
                     after=alert_view(alert), reason=halt_reason)
    return alert


def alert_triage(*, actor: Actor, alert: Alert, verdict: str, resolution: str, note: str = "") -> Alert:
    """Record what a human found (legitimate change, harmful degradation, false alarm) and what is to be done."""
    require_role(actor=actor, use_case=alert.use_case, roles=TRIAGERS, action="triage alerts")
    if verdict not in TriageVerdict.values:
        raise ValidationFailed(f"verdict must be one of {', '.join(TriageVerdict.values)}.", code="invalid_verdict",
                               extra={"valid": TriageVerdict.values})
    if not resolution:
        raise ValidationFailed("A triage names its resolution (use 'none' when nothing is to be done).",
                               code="resolution_required", extra={"valid": Resolution.values})
    if resolution not in Resolution.values:
        raise ValidationFailed(f"resolution must be one of {', '.join(Resolution.values)}.",
                               code="invalid_resolution", extra={"valid": Resolution.values})
    if verdict == TriageVerdict.HARMFUL_DEGRADATION and resolution not in HARMFUL_RESOLUTIONS:
        raise ValidationFailed("A harmful degradation is resolved by retraining or rolling back.",
                               code="resolution_not_allowed",
                               extra={"valid": [str(value) for value in HARMFUL_RESOLUTIONS]})
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status != AlertStatus.OPEN:
            raise Conflict(f"The alert is already {alert.status}.", code="alert_not_open",
                           extra={"status": alert.status})
        before = alert_view(alert)
        alert.status = AlertStatus.TRIAGED
        alert.verdict = verdict
        alert.resolution = resolution
        alert.note = note.strip()
        alert.triaged_by = actor.user
        alert.triaged_at = timezone.now()
        alert.save(update_fields=["status", "verdict", "resolution", "note", "triaged_by", "triaged_at"])
        audit_record(actor=actor, action="alert.triaged", obj=alert, use_case=alert.use_case, before=before,
                     after=alert_view(alert), reason=alert.note)
    return alert


def alert_resolve(*, actor: Actor, alert: Alert, note: str = "") -> Alert:
    """Close a triaged alert once its resolution is done (platform or governance owner)."""
    require_role(actor=actor, use_case=alert.use_case, roles=RESOLVERS, action="resolve alerts")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.status == AlertStatus.OPEN:
            raise Conflict("Triage the alert before resolving it.", code="alert_not_triaged")
        if alert.status == AlertStatus.RESOLVED:
            raise Conflict("The alert is already resolved.", code="alert_already_resolved")
        before = alert_view(alert)
        alert.status = AlertStatus.RESOLVED
        alert.resolved_at = timezone.now()
        if note.strip():
            alert.note = f"{alert.note}\n{note.strip()}".strip()
        alert.save(update_fields=["status", "resolved_at", "note"])
        audit_record(actor=actor, action="alert.resolved", obj=alert, use_case=alert.use_case, before=before,
                     after=alert_view(alert), reason=note.strip())
    return alert


def incident_report_deadline(*, incident_class: str, aware_at: datetime) -> datetime | None:
    """Return the latest date the serious incident must be reported by (EU AI Act Art. 73)."""
    days = ART73_DEADLINE_DAYS.get(IncidentClass(incident_class)) if incident_class else None
    return aware_at + timedelta(days=days) if days else None


def alert_mark_incident(*, actor: Actor, alert: Alert, incident_class: str, aware_at: datetime | None) -> Alert:
    """Classify the alert as an Art. 73 serious incident (governance owner); the deadline runs from `aware_at`."""
    require_role(actor=actor, use_case=alert.use_case, roles=INCIDENT_CLASSIFIERS, action="classify incidents")
    serious = [value for value in IncidentClass.values if value]
    if incident_class not in serious:
        raise ValidationFailed(f"incident_class must be one of {', '.join(serious)}.", code="invalid_incident_class",
                               extra={"valid": serious})
    if aware_at is None or aware_at.tzinfo is None:
        raise ValidationFailed("aware_at is an ISO 8601 date-time with a time zone.", code="invalid_aware_at")
    if aware_at > timezone.now():
        raise ValidationFailed("aware_at cannot lie in the future.", code="invalid_aware_at",
                               extra={"aware_at": aware_at.isoformat()})
    with transaction.atomic():
        alert = _locked(alert)
        before = alert_view(alert)
        alert.incident_class = incident_class
        alert.incident_aware_at = aware_at
        alert.save(update_fields=["incident_class", "incident_aware_at"])
        deadline = incident_report_deadline(incident_class=incident_class, aware_at=aware_at)
        audit_record(actor=actor, action="alert.incident_marked", obj=alert, use_case=alert.use_case, before=before,
                     after={**alert_view(alert), "report_deadline": deadline})
    return alert
