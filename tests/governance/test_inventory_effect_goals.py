"""Effect goals and their measurements: defined by the product owner, measured with finite numbers."""
from datetime import timedelta

import pytest
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import Conflict, ValidationFailed
from governance.models import AuditEvent, EffectGoal, EffectMeasurement
from governance.services.inventory import (
    effect_goal_create,
    effect_goal_delete,
    effect_goal_update,
    effect_measurement_record,
)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the many users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



@pytest.fixture
def product(make_user, use_case, grant):
    return Actor.for_user(grant(make_user("po-pat"), use_case, "product_owner").user)


@pytest.fixture
def goal(use_case, product):
    return effect_goal_create(actor=product, use_case=use_case, metric="first-contact resolution", target=0.7,
                              direction="at_least", unit="share")


def test_defining_a_goal_is_audited(goal):
    event = AuditEvent.objects.get(action="effect_goal.created")
    assert event.after == {"metric": "first-contact resolution", "unit": "share", "target": 0.7,
                           "direction": "at_least", "description": ""}


def test_a_second_goal_for_the_same_metric_is_a_conflict(use_case, product, goal):
    with pytest.raises(Conflict) as excinfo:
        effect_goal_create(actor=product, use_case=use_case, metric=goal.metric, target=0.9)

    assert excinfo.value.code == "duplicate_metric"


@pytest.mark.parametrize("target", [float("nan"), float("inf"), "0.7", True])
def test_a_target_must_be_a_finite_number(use_case, product, target):
    with pytest.raises(ValidationFailed) as excinfo:
        effect_goal_create(actor=product, use_case=use_case, metric="handle time", target=target)

    assert excinfo.value.extra["fields"].keys() == {"target"}
    assert not EffectGoal.objects.exists()


def test_changing_a_target_keeps_the_old_value_in_the_audit_log(product, goal):
    effect_goal_update(actor=product, goal=goal, changes={"target": 0.75})

    event = AuditEvent.objects.get(action="effect_goal.updated")
    assert (event.before, event.after) == ({"target": 0.7}, {"target": 0.75})


def test_unknown_goal_fields_are_not_editable(product, goal):
    with pytest.raises(ValidationFailed) as excinfo:
        effect_goal_update(actor=product, goal=goal, changes={"use_case": 99})

    assert excinfo.value.code == "field_not_editable"


def test_a_measurement_is_recorded_with_whether_it_meets_the_goal(make_user, use_case, grant, goal):
    platform = Actor.for_user(grant(make_user("plat-pete"), use_case, "platform_owner").user)
    measured_at = timezone.now() - timedelta(days=1)

    measurement = effect_measurement_record(actor=platform, goal=goal, value=0.72, measured_at=measured_at,
                                            source="CRM export", note="week 47")

    assert measurement.recorded_by == platform.user and measurement.measured_at == measured_at
    event = AuditEvent.objects.get(action="effect_measurement.recorded")
    assert event.after["met"] is True and event.after["value"] == 0.72


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), None, False])
def test_a_measurement_must_be_a_finite_number(product, goal, value):
    with pytest.raises(ValidationFailed) as excinfo:
        effect_measurement_record(actor=product, goal=goal, value=value)

    assert "value" in excinfo.value.extra["fields"]
    assert not EffectMeasurement.objects.exists()


def test_a_measurement_cannot_lie_in_the_future(product, goal):
    with pytest.raises(ValidationFailed) as excinfo:
        effect_measurement_record(actor=product, goal=goal, value=0.8, measured_at=timezone.now() + timedelta(days=2))

    assert excinfo.value.extra["fields"].keys() == {"measured_at"}


def test_an_unmeasured_goal_can_be_deleted(product, goal):
    effect_goal_delete(actor=product, goal=goal, reason="duplicate of CSAT")

    assert not EffectGoal.objects.exists()
    assert AuditEvent.objects.get(action="effect_goal.deleted").reason == "duplicate of CSAT"


def test_a_measured_goal_cannot_be_deleted(product, goal):
    effect_measurement_record(actor=product, goal=goal, value=0.5)

    with pytest.raises(Conflict) as excinfo:
        effect_goal_delete(actor=product, goal=goal)

    assert excinfo.value.code == "goal_has_measurements"
    assert EffectMeasurement.objects.count() == 1
