"""policy_configure: owners set tiers, halts, window and sample size; the engine validates; every change audited."""
import pytest

from driftgate.actors import Actor
from driftgate.errors import PermissionRefused, ValidationFailed
from governance.models import AuditEvent
from monitoring.drift import Policy
from monitoring.models import MonitoringPolicy
from monitoring.services.policies import policy_configure, policy_defaults

pytestmark = pytest.mark.django_db

VALID = {"auto_halt": False, "window_hours": 1, "sample_size": 5000, "material_degradation": 0.1, "enabled": True}


@pytest.fixture
def owner(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "platform_owner")
    return Actor.for_user(user)


def test_the_seed_defaults_come_from_the_statistics_engine(use_case, settings):
    defaults = policy_defaults(use_case=use_case)

    assert defaults.pk is None
    assert defaults.config == Policy().to_dict()
    assert defaults.sample_size == settings.DRIFTGATE_WINDOW_SAMPLE_SIZE
    assert defaults.material_degradation == settings.DRIFTGATE_MATERIAL_DEGRADATION


def test_an_owner_configures_a_policy_and_the_engine_fills_in_the_defaults(owner, use_case):
    policy = policy_configure(actor=owner, use_case=use_case, config={"tiers": {"quality_drop": [0.1, 0.2]}},
                              **{**VALID, "auto_halt": True})

    assert policy.auto_halt and policy.config["tiers"]["quality_drop"] == [0.1, 0.2]
    assert policy.config["alpha"] == Policy().alpha
    assert policy.config["tiers"]["prompt_drift"] == Policy().to_dict()["tiers"]["prompt_drift"]
    event = AuditEvent.objects.get(action="policy.configured")
    assert event.before is None and event.after["auto_halt"] is True and event.use_case == use_case


def test_a_second_change_is_audited_with_before_and_after(owner, use_case):
    policy_configure(actor=owner, use_case=use_case, config={}, **VALID)

    policy_configure(actor=owner, use_case=use_case, config={"alpha": 0.005}, **{**VALID, "window_hours": 6})

    assert MonitoringPolicy.objects.get(use_case=use_case).window_hours == 6
    event = AuditEvent.objects.filter(action="policy.configured").order_by("-sequence").first()
    assert event.before["window_hours"] == 1 and event.after["window_hours"] == 6
    assert event.before["config"]["alpha"] == 0.01 and event.after["config"]["alpha"] == 0.005


@pytest.mark.parametrize("config", [
    {"alpha": 2},
    {"tiers": {"quality_drop": [0.3, 0.1]}},
    {"tiers": {"no_such_signal": [0.1, 0.2]}},
    {"max_severity": {"prompt_drift": "panic"}},
    {"colour": "blue"},
    ["not", "an", "object"],
])
def test_a_config_the_engine_rejects_is_refused_with_its_message(owner, use_case, config):
    with pytest.raises(ValidationFailed) as caught:
        policy_configure(actor=owner, use_case=use_case, config=config, **VALID)

    assert caught.value.code == "invalid_policy"
    assert not MonitoringPolicy.objects.exists() and not AuditEvent.objects.filter(action="policy.configured").exists()


@pytest.mark.parametrize(("field", "value", "code"), [
    ("window_hours", 0, "invalid_window_hours"),
    ("window_hours", 169, "invalid_window_hours"),
    ("window_hours", 1.5, "invalid_window_hours"),
    ("sample_size", 99, "invalid_sample_size"),
    ("sample_size", 50_001, "invalid_sample_size"),
    ("material_degradation", 0, "invalid_material_degradation"),
    ("material_degradation", 1.0, "invalid_material_degradation"),
    ("material_degradation", float("nan"), "invalid_material_degradation"),
])
def test_out_of_range_settings_are_refused(owner, use_case, field, value, code):
    with pytest.raises(ValidationFailed) as caught:
        policy_configure(actor=owner, use_case=use_case, config={}, **{**VALID, field: value})

    assert caught.value.code == code
    assert not MonitoringPolicy.objects.exists()


@pytest.mark.parametrize("role", ["product_owner", "reviewer", "viewer"])
def test_only_platform_and_governance_owners_configure_monitoring(make_user, grant, use_case, role):
    user = make_user()
    grant(user, use_case, role)

    with pytest.raises(PermissionRefused) as caught:
        policy_configure(actor=Actor.for_user(user), use_case=use_case, config={}, **VALID)

    assert caught.value.code == "missing_role"
