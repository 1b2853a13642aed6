"""Automated gate criteria, evaluated live: each names why it fails, and an unknown blocks like a failure."""
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.criteria import failing_criteria, gate_criteria
from governance.models import ChecklistItem, EffectMeasurement, Gate, GateStatus, Membership, Obligation
from governance.services.gates import gate_open
from tests.governance.gates_setup import add_goals, complete_required_items, make_team, monitoring_ready

pytestmark = pytest.mark.django_db


def _by_code(gate):
    return {result["code"]: result for result in gate_criteria(gate)}


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def gate1(team):
    return gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)


def test_gate_1_asks_for_checklists_effect_goals_owners_and_no_overdue_obligations(gate1):
    assert list(_by_code(gate1)) == ["checklists_complete", "effect_goals_met", "owners_named",
                                     "no_overdue_obligations"]


def test_a_fresh_gate_fails_on_its_open_items_and_missing_goals(gate1):
    results = _by_code(gate1)

    assert results["checklists_complete"]["passed"] is False
    assert "dod-pilot/effect-goals-defined: open" in results["checklists_complete"]["reasons"]
    assert results["effect_goals_met"]["reasons"] == ["0 effect goal(s) defined, at least 3 needed"]
    assert results["owners_named"]["passed"] is True


def test_every_criterion_passes_on_a_prepared_gate_1(team, gate1):
    add_goals(team.use_case)
    complete_required_items(team, gate1)

    assert failing_criteria(gate_criteria(gate1)) == []


def test_a_waived_item_with_a_reason_counts_as_complete_but_done_without_evidence_does_not(team, gate1):
    complete_required_items(team, gate1)
    item = ChecklistItem.objects.get(checklist__gate=gate1, key="value-evidence")
    item.evidence.update(removed_at=timezone.now())

    assert _by_code(gate1)["checklists_complete"]["reasons"] == ["dod-pilot/value-evidence: done but without evidence"]


def test_the_latest_measurement_decides_whether_a_goal_is_met(team, gate1):
    goals = add_goals(team.use_case)
    EffectMeasurement.objects.create(goal=goals[0], value=0.4, measured_at=timezone.now() + timedelta(minutes=1))

    result = _by_code(gate1)["effect_goals_met"]

    assert result["passed"] is False
    assert result["reasons"] == ["metric-0: latest 0.4 misses the target >= 0.7"]


def test_the_minimum_number_of_goals_is_a_setting(team, gate1, settings):
    add_goals(team.use_case, count=2)
    assert _by_code(gate1)["effect_goals_met"]["passed"] is False

    settings.DRIFTGATE_GATE1_MIN_EFFECT_GOALS = 2

    assert _by_code(gate1)["effect_goals_met"]["passed"] is True


def test_a_goal_without_measurement_fails(team, gate1):
    add_goals(team.use_case)
    team.use_case.effect_goals.first().measurements.all().delete()

    assert _by_code(gate1)["effect_goals_met"]["reasons"] == ["metric-0: not measured"]


def test_owners_named_lists_the_missing_owner(team, gate1):
    Membership.objects.filter(use_case=team.use_case, role="platform_owner").delete()

    assert _by_code(gate1)["owners_named"]["reasons"] == ["no platform owner named"]


def test_an_overdue_open_obligation_blocks_but_a_fulfilled_one_does_not(team, gate1):
    overdue = Obligation.objects.create(use_case=team.use_case, title="Fix logging", owner=team.platform_owner,
                                        due_date=timezone.localdate() - timedelta(days=1))
    assert _by_code(gate1)["no_overdue_obligations"]["passed"] is False

    Obligation.objects.filter(pk=overdue.pk).update(status="fulfilled")

    assert _by_code(gate1)["no_overdue_obligations"]["passed"] is True


def test_gate_2_needs_gate_1_approved_and_monitoring_configured(monkeypatch):
    team = make_team(stage="pre_production")
    gate2 = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)
    monkeypatch.setattr("governance.facts._provider", None)

    results = _by_code(gate2)

    assert list(results) == ["checklists_complete", "previous_gate_approved", "monitoring_ready",
                             "model_probes_passed", "no_overdue_obligations"]
    assert results["previous_gate_approved"]["reasons"] == ["gate 1 has not been approved"]
    assert results["monitoring_ready"] == {"code": "monitoring_ready", "title": "Monitoring ready", "passed": None,
                                           "reasons": ["monitoring not configured"]}
    assert results["monitoring_ready"] in failing_criteria(list(results.values()))

    Gate.objects.create(use_case=team.use_case, number=1, status=GateStatus.APPROVED)
    monitoring_ready(monkeypatch)
    results = _by_code(gate2)
    assert results["previous_gate_approved"]["passed"] is True and results["monitoring_ready"]["passed"] is True


def test_gate_2_only_asks_monitoring_for_a_policy(monkeypatch):
    team = make_team(stage="pre_production")
    gate2 = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=2)
    monitoring_ready(monkeypatch, baseline_frozen=False, open_stop_alerts=2)
    assert _by_code(gate2)["monitoring_ready"]["passed"] is True

    monitoring_ready(monkeypatch, policy_configured=False)
    assert _by_code(gate2)["monitoring_ready"]["reasons"] == ["no monitoring policy configured"]


def test_gate_3_needs_a_frozen_baseline_no_stop_alert_and_triaged_review_alerts(monkeypatch):
    team = make_team(stage="production")
    gate3 = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=3)
    monitoring_ready(monkeypatch, baseline_frozen=False, open_stop_alerts=1, untriaged_review_alerts_overdue=2)

    result = _by_code(gate3)["monitoring_ready"]

    assert result["passed"] is False
    assert result["reasons"] == ["no frozen baseline", "1 open stop alert(s)", "2 review alert(s) not triaged in time"]
    assert "effect_goals_met" in _by_code(gate3)
