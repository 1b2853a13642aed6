"""Obligations: created by the governance owner, fulfilled by their owner, waived with a reason, overdue recorded once."""
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.models import AuditEvent, Obligation, ObligationStatus
from governance.services.obligations import (
    obligation_create,
    obligation_fulfil,
    obligation_waive,
    obligations_flag_overdue,
)
from governance.tasks import obligations_flag_overdue_task
from tests.governance.gates_setup import make_person, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


def _create(team, **kwargs):
    defaults = {"title": "Review Spanish answers", "owner": team.platform_owner,
                "due_date": timezone.localdate() + timedelta(days=10)}
    return obligation_create(actor=team.actor("governance_owner"), use_case=team.use_case, **{**defaults, **kwargs})


def test_the_governance_owner_creates_a_standing_obligation(team):
    obligation = _create(team, description="Every other week.")

    assert obligation.status == ObligationStatus.OPEN and obligation.decision is None
    event = AuditEvent.objects.get(action="obligation.created")
    assert event.after["title"] == "Review Spanish answers" and event.use_case == team.use_case


def test_the_due_date_defaults_from_settings(team, settings):
    settings.DRIFTGATE_OBLIGATION_DEFAULT_DAYS = 5

    obligation = _create(team, due_date=None)

    assert obligation.due_date == timezone.localdate() + timedelta(days=5)


def test_only_the_governance_owner_creates_obligations(team):
    with pytest.raises(PermissionRefused) as excinfo:
        obligation_create(actor=team.actor("product_owner"), use_case=team.use_case, title="x",
                          owner=team.platform_owner)

    assert excinfo.value.code == "missing_role"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"title": " "}, "title_required"),
    ({"due_date": timezone.localdate() - timedelta(days=1)}, "due_date_in_past"),
])
def test_invalid_obligations_are_refused(team, kwargs, code):
    with pytest.raises(ValidationFailed) as excinfo:
        _create(team, **kwargs)

    assert excinfo.value.code == code
    assert not Obligation.objects.exists()


def test_the_owner_must_hold_a_role_on_the_use_case(team):
    with pytest.raises(ValidationFailed) as excinfo:
        _create(team, owner=make_person())

    assert excinfo.value.code == "owner_not_member"


def test_the_owner_fulfils_with_a_resolution(team):
    obligation = _create(team)

    obligation = obligation_fulfil(actor=team.actor("platform_owner"), obligation=obligation,
                                   resolution="Reviewed 200 answers; 3 fixed.")

    assert obligation.status == ObligationStatus.FULFILLED and obligation.closed_at
    assert AuditEvent.objects.get(action="obligation.fulfilled").reason == "Reviewed 200 answers; 3 fixed."


def test_the_governance_owner_may_fulfil_but_someone_else_may_not(team):
    first, second = _create(team), _create(team, title="Second")

    obligation_fulfil(actor=team.actor("governance_owner"), obligation=first, resolution="Done in review.")
    with pytest.raises(PermissionRefused) as excinfo:
        obligation_fulfil(actor=team.actor("reviewer"), obligation=second, resolution="Done.")

    assert excinfo.value.code == "missing_role"


def test_fulfilling_needs_a_resolution_and_an_open_obligation(team):
    obligation = _create(team)
    with pytest.raises(ValidationFailed) as missing:
        obligation_fulfil(actor=team.actor("platform_owner"), obligation=obligation, resolution="")
    obligation_waive(actor=team.actor("governance_owner"), obligation=obligation, reason="Superseded by gate 2.")

    with pytest.raises(Conflict) as closed:
        obligation_fulfil(actor=team.actor("platform_owner"), obligation=obligation, resolution="Done.")

    assert missing.value.code == "resolution_required" and closed.value.code == "obligation_not_open"


def test_only_the_governance_owner_waives_and_only_with_a_reason(team):
    obligation = _create(team)
    with pytest.raises(PermissionRefused):
        obligation_waive(actor=team.actor("platform_owner"), obligation=obligation, reason="Busy.")
    with pytest.raises(ValidationFailed) as excinfo:
        obligation_waive(actor=team.actor("governance_owner"), obligation=obligation, reason=" ")

    assert excinfo.value.code == "reason_required"
    obligation.refresh_from_db()
    assert obligation.status == ObligationStatus.OPEN


def test_falling_overdue_is_recorded_once_per_obligation(team):
    overdue = Obligation.objects.create(use_case=team.use_case, title="Late", owner=team.platform_owner,
                                        due_date=timezone.localdate() - timedelta(days=2))
    Obligation.objects.create(use_case=team.use_case, title="On time", owner=team.platform_owner,
                              due_date=timezone.localdate())
    Obligation.objects.create(use_case=team.use_case, title="Closed", owner=team.platform_owner,
                              due_date=timezone.localdate() - timedelta(days=2), status="fulfilled")

    assert obligations_flag_overdue() == 1
    assert obligations_flag_overdue_task() == 0

    (event,) = AuditEvent.objects.filter(action="obligation.became_overdue")
    assert event.object_id == str(overdue.pk) and event.actor_kind == "system"
    assert overdue.is_overdue()
