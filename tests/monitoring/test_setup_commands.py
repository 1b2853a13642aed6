"""Setting up monitoring from the command line: use case, model version, policy; audited, with clear refusals."""
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from governance.models import AuditEvent, ModelVersion, ModelVersionStatus, UseCase
from monitoring.models import MonitoringPolicy

EVALUATION = json.dumps({"task_metrics": {"accuracy": 0.91}, "general_capability_regression": -0.01})


def _call(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def engineer(make_user):
    """A platform engineer with the 'add use case' permission through staff status."""
    return make_user("pat", is_staff=True)


@pytest.mark.django_db
def test_a_platform_engineer_sets_up_monitoring_without_a_shell(engineer, grant):
    out = _call("use_case_create", "--slug", "claims-assistant", "--name", "Claims assistant",
                "--purpose", "Drafts answers to claim questions", "--approach", "fine_tuning",
                "--base-model", "llama-3.1-8b", "--risk-tier", "high", "--scope", "eu_ai_act", "--as", "pat",
                "--json")
    assert json.loads(out)["stage"] == "pilot"
    use_case = UseCase.objects.get(slug="claims-assistant")
    grant(engineer, use_case, "platform_owner")

    _call("model_version_register", "--use-case", use_case.slug, "--label", "v1", "--base-model", "llama-3.1-8b",
          "--adapter-method", "lora", "--evaluation", EVALUATION, "--activate", "--as", "pat")
    out = _call("policy_configure", "--use-case", use_case.slug, "--as", "pat", "--window-hours", "2",
                "--sample-size", "2000", "--tier", "prompt_drift=0.04,0.2", "--auto-halt", "--json")

    assert ModelVersion.objects.get(use_case=use_case, label="v1").status == ModelVersionStatus.ACTIVE
    policy = MonitoringPolicy.objects.get(use_case=use_case)
    assert (policy.window_hours, policy.sample_size, policy.auto_halt) == (2, 2000, True)
    assert policy.config["tiers"]["prompt_drift"] == [0.04, 0.2]
    assert policy.config["tiers"]["quality_drop"] == [0.05, 0.15]  # untouched tiers keep the seed default
    data = json.loads(out)
    # The command states what the configured window can see, from the measured power curves.
    assert data["detectable_share"]["window_records"] == 2000
    assert 0 < data["detectable_share"]["new_topic"] <= 0.2
    actions = list(AuditEvent.objects.filter(use_case=use_case).order_by("sequence").values_list("action", flat=True))
    assert actions[0] == "use_case.created"
    assert {"model_version.registered", "model_version.activated", "policy.configured"} <= set(actions)
    assert AuditEvent.objects.filter(action="policy.configured", actor_display__contains="pat").exists()


@pytest.mark.django_db
def test_configuring_a_policy_needs_an_owner_role_and_writes_nothing_otherwise(use_case, make_user):
    make_user("sam")
    with pytest.raises(CommandError, match="missing_role"):
        _call("policy_configure", "--use-case", use_case.slug, "--as", "sam", "--window-hours", "3")
    assert not MonitoringPolicy.objects.filter(use_case=use_case).exists()
    assert not AuditEvent.objects.filter(action="policy.configured").exists()


@pytest.mark.django_db
def test_bad_values_are_refused_with_their_stable_code(use_case, make_user, grant):
    grant(make_user("pat"), use_case, "platform_owner")
    with pytest.raises(CommandError, match="invalid_policy"):
        _call("policy_configure", "--use-case", use_case.slug, "--as", "pat", "--tier", "prompt_drift=0.5,0.1")
    with pytest.raises(CommandError, match="invalid_window_hours"):
        _call("policy_configure", "--use-case", use_case.slug, "--as", "pat", "--window-hours", "0")
    with pytest.raises(CommandError, match="no active user"):
        _call("policy_configure", "--use-case", use_case.slug, "--as", "nobody")
    with pytest.raises(CommandError, match="Unknown use case"):
        _call("model_version_register", "--use-case", "missing", "--label", "v1", "--base-model", "m",
              "--adapter-method", "lora", "--as", "pat")
    assert not MonitoringPolicy.objects.filter(use_case=use_case).exists()


@pytest.mark.django_db
def test_a_duplicate_slug_is_refused_with_its_code(use_case):
    with pytest.raises(CommandError, match="duplicate_slug"):
        _call("use_case_create", "--slug", use_case.slug, "--name", "Again", "--purpose", "x",
              "--approach", "rag", "--base-model", "m", "--risk-tier", "minimal")
