"""The batch form of the monitoring facts: the same answer as one use case at a time, in a fixed number of queries."""
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.facts import monitoring_facts_for, monitoring_facts_for_many
from monitoring.models import Baseline, BaselineStatus
from tests.factories import AlertFactory, DriftRunFactory, MonitoringPolicyFactory, UseCaseFactory

pytestmark = pytest.mark.django_db


def _varied_use_cases() -> list:
    quiet, watched, alarmed = UseCaseFactory(), UseCaseFactory(), UseCaseFactory()
    MonitoringPolicyFactory(use_case=watched)
    MonitoringPolicyFactory(use_case=alarmed, enabled=False)
    Baseline.objects.create(use_case=watched, start=timezone.now() - timedelta(days=40),
                            end=timezone.now() - timedelta(days=10), status=BaselineStatus.FROZEN,
                            embedding_model="all-MiniLM-L6-v2:384", frozen_at=timezone.now())
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    DriftRunFactory(use_case=watched, severity="ok", window_start=hour - timedelta(hours=3))
    DriftRunFactory(use_case=watched, severity="review", window_start=hour - timedelta(hours=2))
    DriftRunFactory(use_case=watched, status="skipped", severity="", window_start=hour - timedelta(hours=1))
    run = DriftRunFactory(use_case=alarmed, severity="stop", window_start=hour - timedelta(hours=1))
    AlertFactory(run=run, severity="stop")
    AlertFactory(run__use_case=alarmed, severity="review", created_at=timezone.now() - timedelta(days=30))
    return [quiet, watched, alarmed]


def test_the_batch_agrees_with_the_single_answer_for_every_use_case():
    use_cases = _varied_use_cases()

    many = monitoring_facts_for_many(use_cases)

    assert set(many) == {use_case.pk for use_case in use_cases}
    for use_case in use_cases:
        single = monitoring_facts_for(use_case).as_dict()
        # The batch leaves out the probe facts (list pages show none); everything else must agree.
        assert many[use_case.pk].as_dict() == {**single, "probes": None}, use_case.slug


def test_the_batch_costs_the_same_queries_for_three_or_nine_use_cases(django_assert_num_queries):
    few = _varied_use_cases()
    many = few + _varied_use_cases() + _varied_use_cases()

    with django_assert_num_queries(4):
        monitoring_facts_for_many(few)
    with django_assert_num_queries(4):
        monitoring_facts_for_many(many)
