"""The monitoring page's charts are drawn once per state of their runs and policy, and redrawn when either changes."""
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from monitoring.models import DriftRun, DriftSignal, MonitoringPolicy
from monitoring.pages.charts import charts_for
from monitoring.selectors.overview import monitoring_overview

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days(use_case):
    MonitoringPolicy.objects.create(use_case=use_case, config={"alpha": 0.01})
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, window_start=end - timedelta(hours=hour + 1), window_end=end - timedelta(hours=hour),
                 status="succeeded", severity="ok", n=300, finished_at=end - timedelta(hours=hour))
        for hour in range(1, 48)])
    DriftSignal.objects.bulk_create([
        DriftSignal(run=run, name="quality_drop", statistic=1.0, p_value=0.5, p_adjusted=0.5, effect_size=0.01,
                    effect_unit="relative_drop", severity="ok") for run in runs])
    return use_case, end


def _signal_queries(captured) -> int:
    return sum("monitoring_driftsignal" in query["sql"] for query in captured.captured_queries)


def test_a_second_reader_gets_the_drawn_charts_without_reading_the_signals(two_days):
    use_case, _ = two_days
    overview = monitoring_overview(use_case=use_case)
    first = charts_for(use_case=use_case, overview=overview)

    with CaptureQueriesContext(connection) as captured:
        second = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))

    assert _signal_queries(captured) == 0
    assert [(chart.name, str(chart.svg), chart.summary) for chart in second] == [
        (chart.name, str(chart.svg), chart.summary) for chart in first]


def test_a_finished_run_redraws_the_charts(two_days):
    use_case, end = two_days
    (before,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))
    run = DriftRun.objects.create(use_case=use_case, window_start=end - timedelta(hours=1), window_end=end,
                                  status="running")
    (while_running,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))
    DriftSignal.objects.create(run=run, name="quality_drop", statistic=9.0, p_value=1e-6, p_adjusted=1e-5,
                               effect_size=0.3, effect_unit="relative_drop", severity="stop")
    run.status, run.severity, run.finished_at = "succeeded", "stop", timezone.now()
    run.save()

    (after,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))

    assert "47 points" in before.summary and "47 points" in while_running.summary
    assert "48 points; 1 runs significant after Holm" in after.summary
    assert "1 at the stop tier" in after.summary


def test_a_saved_policy_redraws_the_charts_with_its_tiers(two_days):
    use_case, _ = two_days
    (before,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))
    policy = MonitoringPolicy.objects.get(use_case=use_case)
    policy.config = {"alpha": 0.01, "tiers": {"quality_drop": [0.07, 0.2]}}
    policy.save()

    (after,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))

    assert "tiers 0.05 review, 0.15 stop" in before.summary
    assert "tiers 0.07 review, 0.2 stop" in after.summary


def test_the_charts_are_drawn_in_the_reader_s_language(two_days):
    use_case, _ = two_days
    with translation.override("en"):
        (english,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))
    with translation.override("nb"):
        (norwegian,) = charts_for(use_case=use_case, overview=monitoring_overview(use_case=use_case))

    assert "stop tier" in english.svg
    assert "stop tier" not in norwegian.svg
