"""Gate-3 certifications lapse: the approved gate expires and a new gate 3 opens, once."""
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.celery import app
from governance.models import AuditEvent, Gate, GateStatus
from governance.services.gates import gate_open, gates_expire_due
from governance.tasks import gates_expire_due_task
from tests.governance.gates_setup import make_team

pytestmark = pytest.mark.django_db


def _approved_gate_3(team, expires_at):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=3)
    Gate.objects.filter(pk=gate.pk).update(status=GateStatus.APPROVED, decided_at=expires_at - timedelta(days=365),
                                           expires_at=expires_at)
    return gate


def test_a_lapsed_gate_3_expires_and_a_new_gate_3_opens():
    team = make_team(stage="production")
    lapsed = _approved_gate_3(team, timezone.now() - timedelta(minutes=1))

    assert gates_expire_due() == 1

    lapsed.refresh_from_db()
    assert lapsed.status == GateStatus.EXPIRED
    reopened = Gate.objects.get(use_case=team.use_case, number=3, status=GateStatus.OPEN)
    assert reopened.checklists.count() == 3 and reopened.opened_by is None
    expired_event = AuditEvent.objects.get(action="gate.expired")
    assert expired_event.actor_kind == "system" and expired_event.object_id == str(lapsed.pk)
    assert AuditEvent.objects.filter(action="gate.opened", object_id=str(reopened.pk)).exists()


def test_running_again_changes_nothing():
    team = make_team(stage="production")
    _approved_gate_3(team, timezone.now() - timedelta(minutes=1))
    gates_expire_due()

    assert gates_expire_due_task() == 0
    assert Gate.objects.filter(use_case=team.use_case, number=3).count() == 2


def test_a_gate_3_still_valid_is_left_alone():
    team = make_team(stage="production")
    valid = _approved_gate_3(team, timezone.now() + timedelta(days=1))

    assert gates_expire_due() == 0
    valid.refresh_from_db()
    assert valid.status == GateStatus.APPROVED


def test_the_expiry_time_is_taken_from_the_caller():
    team = make_team(stage="production")
    _approved_gate_3(team, timezone.now() + timedelta(days=1))

    assert gates_expire_due(now=timezone.now() + timedelta(days=2)) == 1


def test_the_daily_entries_merge_into_the_beat_schedule():
    schedule = app.conf.beat_schedule
    tasks = {entry["task"] for entry in schedule.values()}

    assert {"governance.tasks.gates_expire_due", "governance.tasks.obligations_flag_overdue"} <= tasks
