"""The monitoring facts governance reads: registered at start-up, counting what gates and CI status need."""
from datetime import timedelta

import pytest
from django.utils import timezone

from governance.criteria import monitoring_ready
from governance.facts import monitoring_facts
from governance.models import Gate
from monitoring.models import Alert, Baseline, BaselineStatus
from tests.factories import AlertFactory, DriftRunFactory, MonitoringPolicyFactory

pytestmark = pytest.mark.django_db


def _frozen_baseline(use_case):
    return Baseline.objects.create(use_case=use_case, start=timezone.now() - timedelta(days=40),
                                   end=timezone.now() - timedelta(days=10), status=BaselineStatus.FROZEN,
                                   embedding_model="all-MiniLM-L6-v2:384", frozen_at=timezone.now())


def test_governance_sees_an_unmonitored_use_case_as_not_configured(use_case):
    facts = monitoring_facts(use_case)

    assert facts is not None
    assert not facts.policy_configured and not facts.baseline_frozen
    assert facts.open_stop_alerts == 0 and facts.last_run_at is None and facts.last_severity is None


def test_a_disabled_policy_does_not_count_as_configured(use_case):
    MonitoringPolicyFactory(use_case=use_case, enabled=False)

    assert not monitoring_facts(use_case).policy_configured


def test_facts_report_the_policy_the_frozen_baseline_and_the_newest_finished_run(use_case):
    MonitoringPolicyFactory(use_case=use_case)
    baseline = _frozen_baseline(use_case)
    DriftRunFactory(use_case=use_case, severity="ok")
    newest = DriftRunFactory(use_case=use_case, severity="review",
                             window_start=timezone.now().replace(minute=0, second=0, microsecond=0))
    DriftRunFactory(use_case=use_case, status="skipped", severity="",
                    window_start=newest.window_start + timedelta(hours=1))

    facts = monitoring_facts(use_case)

    assert facts.policy_configured and facts.baseline_frozen
    assert facts.baseline_frozen_at == baseline.frozen_at
    assert facts.last_severity == "review" and facts.details["last_run_id"] == newest.pk
    assert facts.as_dict()["baseline_frozen"] is True


def test_open_stop_alerts_block_until_triaged_unless_found_harmful(use_case):
    AlertFactory(run__use_case=use_case, severity="stop")
    AlertFactory(run__use_case=use_case, severity="stop", status="triaged", verdict="harmful_degradation",
                 resolution="retrain")
    AlertFactory(run__use_case=use_case, severity="stop", status="triaged", verdict="false_alarm", resolution="none")
    AlertFactory(run__use_case=use_case, severity="stop", status="resolved", verdict="harmful_degradation",
                 resolution="retrain")

    assert monitoring_facts(use_case).open_stop_alerts == 2


def test_review_alerts_untriaged_past_the_deadline_are_overdue(use_case, settings):
    settings.DRIFTGATE_REVIEW_TRIAGE_DAYS = 7
    AlertFactory(run__use_case=use_case, created_at=timezone.now() - timedelta(days=8))
    AlertFactory(run__use_case=use_case, created_at=timezone.now() - timedelta(days=2))
    AlertFactory(run__use_case=use_case, created_at=timezone.now() - timedelta(days=9), status="triaged",
                 verdict="false_alarm", resolution="none")

    facts = monitoring_facts(use_case)

    assert facts.open_review_alerts == 2
    assert facts.untriaged_review_alerts_overdue == 1


def test_another_use_cases_alerts_do_not_count(use_case):
    AlertFactory(severity="stop")

    assert monitoring_facts(use_case).open_stop_alerts == 0


def test_the_gate_3_monitoring_criterion_sees_the_facts(use_case):
    gate = Gate.objects.create(use_case=use_case, number=3)
    assert monitoring_ready(gate)["reasons"] == ["no monitoring policy configured", "no frozen baseline"]

    MonitoringPolicyFactory(use_case=use_case)
    _frozen_baseline(use_case)
    AlertFactory(run__use_case=use_case, severity="stop")
    AlertFactory(run__use_case=use_case, created_at=timezone.now() - timedelta(days=30))
    assert monitoring_ready(gate)["reasons"] == ["1 open stop alert(s)", "1 review alert(s) not triaged in time"]

    Alert.objects.update(status="resolved", verdict="false_alarm", resolution="none")
    assert monitoring_ready(gate)["reasons"] == []
