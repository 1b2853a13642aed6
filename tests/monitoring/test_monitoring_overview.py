"""The monitoring page's selector: hourly points for a week, daily maxima past a month, significant runs kept."""
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import DriftRun, DriftSignal, MonitoringPolicy
from monitoring.selectors.overview import monitoring_overview

pytestmark = pytest.mark.django_db


@pytest.fixture
def forty_days(use_case):
    MonitoringPolicy.objects.create(use_case=use_case, config={"alpha": 0.01})
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, window_start=end - timedelta(hours=hour + 1), window_end=end - timedelta(hours=hour),
                 status="succeeded", severity="ok", n=300) for hour in range(40 * 24)])
    peak = runs[20 * 24 + 5]  # twenty days ago
    DriftSignal.objects.bulk_create([
        DriftSignal(run=run, name="quality_drop", statistic=1.0, p_value=0.5,
                    p_adjusted=0.001 if run.pk == peak.pk else 0.5, effect_size=0.3 if run.pk == peak.pk else 0.01,
                    effect_unit="relative_drop", severity="ok") for run in runs])
    return use_case, peak


def test_a_week_is_drawn_from_every_hourly_run(forty_days):
    use_case, _ = forty_days

    overview = monitoring_overview(use_case=use_case)

    (series,) = overview["signals"]
    assert overview["hourly"] is True
    assert 167 <= len(series.points) <= 168 and series.significant == []
    assert (series.review, series.stop, series.cap) == (0.05, 0.15, "stop")


def test_past_a_month_each_day_shows_its_largest_effect_and_the_significant_run_stays_marked(forty_days):
    use_case, peak = forty_days

    overview = monitoring_overview(use_case=use_case, days=366)

    (series,) = overview["signals"]
    assert overview["hourly"] is False
    assert 40 <= len(series.points) <= 41
    assert max(effect for _, effect in series.points) == pytest.approx(0.3)
    assert series.significant == [(peak.window_start, pytest.approx(0.3))]
