"""Confirming a stop and resuming from the pages: the password re-entered, a reason, the role, one audit event."""
import pytest
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import PermissionRefused, ValidationFailed
from governance.models import AuditEvent, UseCase
from monitoring.models import Alert, DriftRun
from monitoring.services.halts import alert_confirm_stop_signed, use_case_resume_signed
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def stop_alert(use_case):
    now = timezone.now()
    run = DriftRun.objects.create(use_case=use_case, window_start=now, window_end=now, status="succeeded",
                                  severity="stop")
    return Alert.objects.create(use_case=use_case, run=run, severity="stop", summary={"raised_by": ["quality_drop"]})


def test_a_wrong_password_halts_nothing_and_is_recorded_as_a_failed_reentry(stop_alert, make_user, grant):
    grace = make_user("grace")
    grant(grace, stop_alert.use_case, "governance_owner")

    with pytest.raises(PermissionRefused) as refused:
        alert_confirm_stop_signed(actor=Actor.for_user(grace), alert=stop_alert, reason="quality fell",
                                  password="wrong")

    assert refused.value.code == "invalid_password"
    assert UseCase.objects.get(pk=stop_alert.use_case_id).halted is False
    assert list(AuditEvent.objects.values_list("action", "after")) == [
        ("signature.failed", {"purpose": "confirm the stop"})]


def test_the_right_password_and_a_reason_halt_and_resume_with_their_events(stop_alert, make_user, grant):
    grace = make_user("grace")
    grant(grace, stop_alert.use_case, "governance_owner")
    actor = Actor.for_user(grace)

    alert_confirm_stop_signed(actor=actor, alert=stop_alert, reason="quality fell", password=PASSWORD)
    assert UseCase.objects.get(pk=stop_alert.use_case_id).halted is True
    with pytest.raises(ValidationFailed) as missing:
        use_case_resume_signed(actor=actor, use_case=stop_alert.use_case, reason=" ", password=PASSWORD)
    assert missing.value.code == "reason_required"
    use_case_resume_signed(actor=actor, use_case=stop_alert.use_case, reason="index restored", password=PASSWORD)

    assert UseCase.objects.get(pk=stop_alert.use_case_id).halted is False
    actions = list(AuditEvent.objects.filter(use_case=stop_alert.use_case).order_by("sequence")
                   .values_list("action", "actor_display"))
    assert [action for action, _ in actions][-3:] == ["use_case.halted", "alert.stop_confirmed", "use_case.resumed"]


def test_a_reviewer_may_not_resume_even_with_the_right_password(stop_alert, make_user, grant):
    rita = make_user("rita")
    grant(rita, stop_alert.use_case, "reviewer")
    UseCase.objects.filter(pk=stop_alert.use_case_id).update(halted=True, halted_reason="stop")

    with pytest.raises(PermissionRefused) as refused:
        use_case_resume_signed(actor=Actor.for_user(rita), use_case=stop_alert.use_case, reason="fine",
                               password=PASSWORD)

    assert refused.value.code == "missing_role"
    assert UseCase.objects.get(pk=stop_alert.use_case_id).halted is True
