"""The model-probes criterion of gates 2 and 3, on facts as monitoring reports them."""
import pytest

from governance.criteria import gate_criteria
from governance.services.gates import gate_open
from tests.governance.gates_setup import make_team, monitoring_ready, probes_ready

pytestmark = pytest.mark.django_db


def _probes(gate) -> dict:
    return {result["code"]: result for result in gate_criteria(gate)}["model_probes_passed"]


@pytest.fixture
def gate2():
    team = make_team(stage="pre_production")
    return gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)


def test_recent_runs_on_target_with_no_base_regression_pass(monkeypatch, gate2):
    monitoring_ready(monkeypatch)
    assert _probes(gate2) == {"code": "model_probes_passed", "title": "Model probes passed", "passed": True,
                              "reasons": []}


def test_no_provider_information_is_unknown_and_blocks(monkeypatch, gate2):
    monitoring_ready(monkeypatch, probes=None)
    result = _probes(gate2)
    assert result["passed"] is None and result["reasons"] == ["model probes not configured"]


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"model_version": None}, "no candidate or active model version"),
    ({"endpoint_registered": False}, "model version v1 has no registered endpoint"),
    ({"last_run": None}, "the golden sets have not run on v1 in the last 7 day(s)"),
    ({"sets": [{"key": "general-capability", "current_version": 1, "ran_version": 1, "pass_rate": 0.84,
                "graded": 86, "errors": 0}]}, "general-capability v1: pass rate 84.0% below the target 90.0%"),
    ({"sets": [{"key": "own", "current_version": 3, "ran_version": 2, "pass_rate": 1.0, "graded": 5, "errors": 0}]},
     "own v3 has not run on v1 since it changed (last run: v2)"),
    ({"sets": [{"key": "own", "current_version": 1, "ran_version": 1, "pass_rate": None, "graded": 0,
                "errors": 12}]}, "own v1: no item was answered (12 failed call(s))"),
    ({"base_endpoint_registered": False},
     "model version v1 has no base-model endpoint to compare general capability with"),
    ({"base_comparison": None}, "no base-model run in the last 7 day(s) to compare general capability with"),
    ({"base_comparison": {"compared": True, "paired": 86, "lost": 14, "gained": 1, "drop": 13 / 86,
                          "p_value": 0.0005}},
     "general capability regressed against the base model: 15.1% drop in pass rate (14 items lost, 1 gained), "
     "McNemar p = 0.0005 < 0.05"),
])
def test_each_shortfall_fails_with_its_reason(monkeypatch, gate2, overrides, reason):
    monitoring_ready(monkeypatch, probes=probes_ready(**overrides))
    result = _probes(gate2)
    assert result["passed"] is False and result["reasons"] == [reason]


def test_gate_3_asks_the_same(monkeypatch):
    team = make_team(stage="production")
    gate3 = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=3)
    monitoring_ready(monkeypatch, probes=probes_ready(last_run=None))
    assert _probes(gate3)["passed"] is False
