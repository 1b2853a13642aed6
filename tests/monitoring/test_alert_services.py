"""Alerts: raised from runs (and halting when the policy allows), triaged, resolved, confirmed, classified."""
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import audit_verify_chain
from governance.models import AuditEvent
from monitoring.models import Alert, AlertStatus
from monitoring.services.alerts import (
    alert_confirm_stop,
    alert_mark_incident,
    alert_raise,
    alert_resolve,
    alert_triage,
)
from tests.factories import PASSWORD, AlertFactory, DriftRunFactory, DriftSignalFactory, MonitoringPolicyFactory

pytestmark = pytest.mark.django_db


def _run_with_signals(use_case, severity):
    run = DriftRunFactory(use_case=use_case, severity=severity)
    signals = [
        DriftSignalFactory(run=run, name="quality_drop", effect_size=0.22, effect_unit="relative drop",
                           severity=severity),
        DriftSignalFactory(run=run, name="prompt_drift", effect_size=0.03, severity="ok"),
    ]
    return run, signals


def _person(make_user, grant, use_case, role):
    user = make_user()
    grant(user, use_case, role)
    return Actor.for_user(user)


def test_a_review_run_raises_an_open_review_alert_with_its_signals_audited(use_case):
    run, signals = _run_with_signals(use_case, "review")

    alert = alert_raise(run=run, signals=signals, policy=MonitoringPolicyFactory(use_case=use_case))

    assert alert.status == AlertStatus.OPEN and alert.severity == "review"
    assert alert.summary["raised_by"] == ["quality_drop"]
    assert alert.summary["recommendation"] == "review"
    event = AuditEvent.objects.get(action="alert.raised")
    assert event.actor_display == "system:drift-monitor"
    assert [s["name"] for s in event.after["summary"]["signals"]] == ["quality_drop", "prompt_drift"]
    use_case.refresh_from_db()
    assert not use_case.halted


def test_a_stop_run_halts_the_use_case_when_the_policy_allows_automatic_halts(use_case):
    run, signals = _run_with_signals(use_case, "stop")

    alert = alert_raise(run=run, signals=signals, policy=MonitoringPolicyFactory(use_case=use_case, auto_halt=True))

    assert alert.halt_applied
    use_case.refresh_from_db()
    assert use_case.halted and "quality_drop" in use_case.halted_reason
    assert list(AuditEvent.objects.order_by("sequence").values_list("action", flat=True)) == [
        "alert.raised", "use_case.halted"]
    assert audit_verify_chain().ok


def test_a_stop_run_only_recommends_a_stop_without_automatic_halts(use_case):
    run, signals = _run_with_signals(use_case, "stop")

    alert = alert_raise(run=run, signals=signals, policy=MonitoringPolicyFactory(use_case=use_case, auto_halt=False))

    assert not alert.halt_applied and alert.summary["recommendation"] == "stop"
    use_case.refresh_from_db()
    assert not use_case.halted


def test_an_automatic_halt_of_an_already_halted_use_case_keeps_the_first_reason(use_case):
    use_case.halted, use_case.halted_reason = True, "maintenance"
    use_case.save()
    run, signals = _run_with_signals(use_case, "stop")

    alert = alert_raise(run=run, signals=signals, policy=MonitoringPolicyFactory(use_case=use_case, auto_halt=True))

    assert not alert.halt_applied
    use_case.refresh_from_db()
    assert use_case.halted_reason == "maintenance"


def test_an_ok_run_raises_no_alert(use_case):
    run, signals = _run_with_signals(use_case, "ok")

    with pytest.raises(ValueError):
        alert_raise(run=run, signals=signals, policy=None)

    assert not Alert.objects.exists()


def test_a_reviewer_triages_an_open_alert_and_the_step_is_audited(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "reviewer")
    alert = AlertFactory(run__use_case=use_case)

    alert = alert_triage(actor=actor, alert=alert, verdict="legitimate_change", resolution="rebaseline",
                         note="Product launch on Monday.")

    assert alert.status == AlertStatus.TRIAGED and alert.triaged_by == actor.user
    event = AuditEvent.objects.get(action="alert.triaged")
    assert event.before["status"] == "open" and event.after["verdict"] == "legitimate_change"
    assert event.reason == "Product launch on Monday."


@pytest.mark.parametrize(("verdict", "resolution", "code"), [
    ("looks_fine", "none", "invalid_verdict"),
    ("false_alarm", "", "resolution_required"),
    ("false_alarm", "pray", "invalid_resolution"),
    ("harmful_degradation", "none", "resolution_not_allowed"),
    ("harmful_degradation", "rebaseline", "resolution_not_allowed"),
])
def test_triage_refuses_bad_verdicts_and_resolutions(use_case, make_user, grant, verdict, resolution, code):
    actor = _person(make_user, grant, use_case, "platform_owner")
    alert = AlertFactory(run__use_case=use_case)

    with pytest.raises(ValidationFailed) as caught:
        alert_triage(actor=actor, alert=alert, verdict=verdict, resolution=resolution)

    assert caught.value.code == code
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert not AuditEvent.objects.filter(action="alert.triaged").exists()


def test_triage_refuses_a_viewer(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "viewer")
    alert = AlertFactory(run__use_case=use_case)

    with pytest.raises(PermissionRefused) as caught:
        alert_triage(actor=actor, alert=alert, verdict="false_alarm", resolution="none")

    assert caught.value.code == "missing_role"


def test_an_alert_is_triaged_only_once(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "governance_owner")
    alert = AlertFactory(run__use_case=use_case)
    alert_triage(actor=actor, alert=alert, verdict="false_alarm", resolution="none")

    with pytest.raises(Conflict) as caught:
        alert_triage(actor=actor, alert=alert, verdict="harmful_degradation", resolution="retrain")

    assert caught.value.code == "alert_not_open"


def test_resolving_needs_triage_first_and_happens_once(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "platform_owner")
    alert = AlertFactory(run__use_case=use_case)

    with pytest.raises(Conflict) as caught:
        alert_resolve(actor=actor, alert=alert)
    assert caught.value.code == "alert_not_triaged"

    alert_triage(actor=actor, alert=alert, verdict="harmful_degradation", resolution="retrain", note="Bad answers.")
    alert = alert_resolve(actor=actor, alert=alert, note="v7 retrained and deployed.")
    assert alert.status == AlertStatus.RESOLVED and alert.resolved_at is not None
    assert AuditEvent.objects.get(action="alert.resolved").reason == "v7 retrained and deployed."

    with pytest.raises(Conflict) as caught:
        alert_resolve(actor=actor, alert=alert)
    assert caught.value.code == "alert_already_resolved"


def test_a_governance_owner_confirms_a_stop_recommendation_and_the_use_case_halts(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "governance_owner")
    alert = AlertFactory(run__use_case=use_case, severity="stop")

    alert = alert_confirm_stop(actor=actor, alert=alert, reason="Answers quote the wrong tariffs.",
                               password=PASSWORD)

    assert alert.stop_confirmed_by == actor.user and alert.stop_confirmed_at is not None
    use_case.refresh_from_db()
    assert use_case.halted and use_case.halted_reason == "Answers quote the wrong tariffs."
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {"use_case.halted", "alert.stop_confirmed"}


def test_confirming_a_stop_refuses_review_alerts_and_repeats(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "platform_owner")
    review = AlertFactory(run__use_case=use_case, severity="review")
    with pytest.raises(Conflict) as caught:
        alert_confirm_stop(actor=actor, alert=review, password=PASSWORD)
    assert caught.value.code == "not_a_stop_alert"

    stop = AlertFactory(run__use_case=use_case, severity="stop", halt_applied=True)
    with pytest.raises(Conflict) as caught:
        alert_confirm_stop(actor=actor, alert=stop, password=PASSWORD)
    assert caught.value.code == "stop_already_applied"


def test_confirming_a_stop_refuses_a_reviewer(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "reviewer")
    alert = AlertFactory(run__use_case=use_case, severity="stop")

    with pytest.raises(PermissionRefused):
        alert_confirm_stop(actor=actor, alert=alert, password=PASSWORD)

    use_case.refresh_from_db()
    assert not use_case.halted


def test_a_governance_owner_marks_a_serious_incident_with_its_art73_deadline(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "governance_owner")
    alert = AlertFactory(run__use_case=use_case, severity="stop")
    aware = timezone.now() - timedelta(hours=3)

    alert = alert_mark_incident(actor=actor, alert=alert, incident_class="widespread_or_critical_infrastructure",
                                aware_at=aware)

    assert alert.incident_class == "widespread_or_critical_infrastructure"
    event = AuditEvent.objects.get(action="alert.incident_marked")
    assert event.after["report_deadline"].startswith((aware + timedelta(days=2)).date().isoformat())


@pytest.mark.parametrize(("incident_class", "aware_delta", "code"), [
    ("", timedelta(hours=-1), "invalid_incident_class"),
    ("bad_weather", timedelta(hours=-1), "invalid_incident_class"),
    ("death", timedelta(days=1), "invalid_aware_at"),
])
def test_marking_an_incident_refuses_bad_classes_and_future_awareness(use_case, make_user, grant, incident_class,
                                                                      aware_delta, code):
    actor = _person(make_user, grant, use_case, "governance_owner")
    alert = AlertFactory(run__use_case=use_case)

    with pytest.raises(ValidationFailed) as caught:
        alert_mark_incident(actor=actor, alert=alert, incident_class=incident_class,
                            aware_at=timezone.now() + aware_delta)

    assert caught.value.code == code


def test_marking_an_incident_is_for_the_governance_owner_only(use_case, make_user, grant):
    actor = _person(make_user, grant, use_case, "platform_owner")
    alert = AlertFactory(run__use_case=use_case)

    with pytest.raises(PermissionRefused):
        alert_mark_incident(actor=actor, alert=alert, incident_class="death", aware_at=timezone.now())
