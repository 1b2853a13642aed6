"""Gate 2 reads the probes through monitoring's facts provider: real runs against the local server decide it."""
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.criteria import gate_criteria
from governance.services.gates import gate_open
from monitoring.models import GoldenSet, ProbeRun
from monitoring.selectors.probes import probe_facts
from monitoring.services.probes import golden_set_revise, model_endpoint_set
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case

pytestmark = pytest.mark.django_db


def _criterion(probed) -> dict:
    type(probed.use_case).objects.filter(pk=probed.use_case.pk).update(stage="pre_production")
    gate = gate_open(actor=probed.owner, use_case=probed.use_case, number=2)
    return {result["code"]: result for result in gate_criteria(gate)}["model_probes_passed"]


def test_a_model_that_matches_its_base_model_passes_the_gate_criterion(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=["general-capability"])
    probed.run(model="good", target="base")
    probed.run(model="good")

    assert _criterion(probed) == {"code": "model_probes_passed", "title": "Model probes passed", "passed": True,
                                  "reasons": []}


def test_forgetting_arithmetic_fails_the_gate_on_the_pass_target_and_the_base_comparison(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=["general-capability"])
    probed.run(model="good", target="base")
    probed.run(model="arith-regress")

    result = _criterion(probed)

    assert result["passed"] is False
    assert result["reasons"][0] == "general-capability v1: pass rate 76.7% below the target 90.0%"
    assert result["reasons"][1].startswith("general capability regressed against the base model: 23.3% drop in "
                                           "pass rate (20 items lost, 0 gained), McNemar p = 9.5e-07 < 0.05")


def test_an_old_run_a_changed_set_or_a_missing_base_run_each_fail_the_criterion(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS)
    run = probed.run(model="good")
    assert _criterion(probed)["reasons"] == [
        f"model version {probed.version.label} has no base-model endpoint to compare general capability with"]
    model_endpoint_set(actor=probed.owner, model_version=probed.version, target="base", url=openai_stub.url,
                       model_name="good")
    assert _criterion_again(probed) == ["no base-model run in the last 7 day(s) to compare general capability with"]

    own = GoldenSet.objects.get(use_case=probed.use_case)
    golden_set_revise(actor=probed.owner, golden_set=own, items=ARITHMETIC_ITEMS[:5])
    assert probe_facts(probed.use_case)["sets"][0] | {"pass_rate": None} == {
        "key": "own", "current_version": 2, "ran_version": 1, "pass_rate": None, "graded": 8, "errors": 0}
    assert f"own v2 has not run on {probed.version.label} since it changed (last run: v1)" in _criterion_again(probed)

    ProbeRun.objects.filter(pk=run.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert _criterion_again(probed) == [f"the golden sets have not run on {probed.version.label} in the last 7 day(s)"]


def _criterion_again(probed) -> list[str]:
    gate = probed.use_case.gates.get(number=2)
    return {result["code"]: result for result in gate_criteria(gate)}["model_probes_passed"]["reasons"]
