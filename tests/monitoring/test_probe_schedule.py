"""Which probe runs the hourly tick queues: one per slot and endpoint, per policy, never for a retired use case."""
from datetime import UTC, datetime, timedelta

import pytest

from governance.models import UseCase
from monitoring.models import ProbeRun, ProbeTrigger
from monitoring.services.probes import (
    model_endpoint_set,
    probe_policy_configure,
    probe_runs_schedule_due,
    schedule_slot,
)
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_slots_tile_time_from_the_epoch():
    assert schedule_slot(now=NOW, interval_hours=24) == datetime(2026, 12, 1, tzinfo=UTC)
    assert schedule_slot(now=NOW, interval_hours=6) == datetime(2026, 12, 1, 6, tzinfo=UTC)
    assert schedule_slot(now=NOW, interval_hours=1) == datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_each_endpoint_gets_one_run_per_slot_and_the_next_slot_its_own(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS, interval_hours=6)
    for target in ("model", "base"):
        model_endpoint_set(actor=probed.owner, model_version=probed.version, target=target, url=openai_stub.url,
                           model_name="good")

    first = probe_runs_schedule_due(now=NOW)
    again = probe_runs_schedule_due(now=NOW + timedelta(hours=2))
    later = probe_runs_schedule_due(now=NOW + timedelta(hours=3))

    assert [run.target for run in first] == ["base", "model"] and again == []
    assert [run.scheduled_for for run in later] == [datetime(2026, 12, 1, 12, tzinfo=UTC)] * 2
    assert set(ProbeRun.objects.values_list("trigger", flat=True)) == {ProbeTrigger.SCHEDULE}


def test_a_disabled_policy_a_base_left_out_or_a_retired_use_case_is_not_probed(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS, include_base=False)
    for target in ("model", "base"):
        model_endpoint_set(actor=probed.owner, model_version=probed.version, target=target, url=openai_stub.url,
                           model_name="good")
    assert [run.target for run in probe_runs_schedule_due(now=NOW)] == ["model"]

    probe_policy_configure(actor=probed.owner, use_case=probed.use_case, values={"enabled": False})
    assert probe_runs_schedule_due(now=NOW + timedelta(days=1)) == []

    probe_policy_configure(actor=probed.owner, use_case=probed.use_case, values={"enabled": True})
    UseCase.objects.filter(pk=probed.use_case.pk).update(stage="retired")
    assert probe_runs_schedule_due(now=NOW + timedelta(days=2)) == []
