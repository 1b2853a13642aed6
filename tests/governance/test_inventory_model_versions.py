"""Model-version services: register with lineage and evaluation, activate, roll back."""
import pytest

from driftgate.actors import Actor
from driftgate.errors import Conflict, ValidationFailed
from governance.models import AuditEvent, ModelVersion
from governance.services.inventory import model_version_activate, model_version_register, model_version_roll_back

EVALUATION = {"task_metrics": {"exact_match": 0.81, "rouge_l": 0.62}, "general_capability_regression": -0.02,
              "eval_set": "held-out-2024-11"}
DIGEST = "a" * 64

@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the many users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]



@pytest.fixture
def platform(make_user, use_case, grant):
    return Actor.for_user(grant(make_user("plat-pia"), use_case, "platform_owner").user)


def _register(actor, use_case, label="v1", **overrides):
    values = {"label": label, "base_model": "mistral-7b-instruct", "adapter_method": "qlora",
              "training_data_ref": "s3://training/invoices-v1.jsonl", "training_data_sha256": DIGEST,
              "evaluation": EVALUATION, **overrides}
    return model_version_register(actor=actor, use_case=use_case, **values)


def test_a_registered_version_is_a_candidate_with_its_lineage(use_case, platform):
    version = _register(platform, use_case, training_data_sha256="A" * 64)

    assert version.status == "candidate" and version.activated_at is None
    assert version.training_data_sha256 == "a" * 64
    event = AuditEvent.objects.get(action="model_version.registered")
    assert event.after["evaluation"]["general_capability_regression"] == -0.02


@pytest.mark.parametrize("overrides, field", [
    ({"training_data_sha256": "abc"}, "training_data_sha256"),
    ({"training_data_sha256": "g" * 64}, "training_data_sha256"),
    ({"training_data_sha256": ""}, "training_data_sha256"),
    ({"evaluation": ["not", "an", "object"]}, "evaluation"),
    ({"evaluation": {"task_metrics": {"exact_match": "high"}, "general_capability_regression": 0.0}}, "evaluation"),
    ({"evaluation": {"task_metrics": {"exact_match": 0.8}}}, "evaluation"),
    ({"evaluation": {"task_metrics": {"exact_match": 0.8}, "general_capability_regression": True}}, "evaluation"),
    ({"evaluation": {"task_metrics": {"exact_match": float("nan")}, "general_capability_regression": 0.0}},
     "evaluation"),
    ({"adapter_method": "telepathy"}, "adapter_method"),
    ({"label": ""}, "label"),
])
def test_malformed_lineage_or_evaluation_is_refused_and_nothing_is_stored(use_case, platform, overrides, field):
    with pytest.raises(ValidationFailed) as excinfo:
        _register(platform, use_case, **overrides)

    assert field in excinfo.value.extra["fields"]
    assert not ModelVersion.objects.exists() and not AuditEvent.objects.exists()


def test_a_duplicate_label_is_a_conflict(use_case, platform):
    _register(platform, use_case)

    with pytest.raises(Conflict) as excinfo:
        _register(platform, use_case)

    assert excinfo.value.code == "duplicate_label"


def test_activating_retires_the_version_it_replaces(use_case, platform):
    first = model_version_activate(actor=platform, model_version=_register(platform, use_case, "v1"))
    second = model_version_activate(actor=platform, model_version=_register(platform, use_case, "v2"))

    assert ModelVersion.objects.get(pk=first.pk).status == "retired"
    assert second.status == "active" and second.activated_at is not None
    assert AuditEvent.objects.filter(action="model_version.activated").count() == 2
    assert AuditEvent.objects.filter(action="model_version.retired", object_id=str(first.pk)).exists()


def test_activating_the_active_version_is_a_conflict(use_case, platform):
    version = model_version_activate(actor=platform, model_version=_register(platform, use_case))

    with pytest.raises(Conflict) as excinfo:
        model_version_activate(actor=platform, model_version=version)

    assert excinfo.value.code == "already_active"


def test_a_version_without_an_evaluation_cannot_be_activated(use_case, platform):
    version = _register(platform, use_case, evaluation={})

    with pytest.raises(Conflict) as excinfo:
        model_version_activate(actor=platform, model_version=version)

    assert excinfo.value.code == "evaluation_missing"
    assert ModelVersion.objects.get(pk=version.pk).status == "candidate"


def test_rolling_back_restores_the_previously_active_version(use_case, platform):
    first = model_version_activate(actor=platform, model_version=_register(platform, use_case, "v1"))
    second = model_version_activate(actor=platform, model_version=_register(platform, use_case, "v2"))

    rolled_back = model_version_roll_back(actor=platform, model_version=second, reason="answers got worse")

    assert rolled_back.status == "rolled_back"
    assert ModelVersion.objects.get(pk=first.pk).status == "active"
    event = AuditEvent.objects.get(action="model_version.rolled_back")
    assert event.reason == "answers got worse"


def test_rolling_back_the_only_version_leaves_none_active(use_case, platform):
    only = model_version_activate(actor=platform, model_version=_register(platform, use_case))

    model_version_roll_back(actor=platform, model_version=only, reason="unsafe")

    assert not ModelVersion.objects.filter(use_case=use_case, status="active").exists()


def test_only_the_active_version_can_be_rolled_back(use_case, platform):
    candidate = _register(platform, use_case)

    with pytest.raises(Conflict) as excinfo:
        model_version_roll_back(actor=platform, model_version=candidate, reason="oops")

    assert excinfo.value.code == "not_active"


def test_a_rolled_back_version_cannot_be_activated_again(use_case, platform):
    version = model_version_activate(actor=platform, model_version=_register(platform, use_case))
    model_version_roll_back(actor=platform, model_version=version, reason="unsafe")

    with pytest.raises(Conflict) as excinfo:
        model_version_activate(actor=platform, model_version=version)

    assert excinfo.value.code == "invalid_transition"
