"""The monitoring page's selector: hourly points for a week, one point per day past a month, significant runs kept."""
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring.drift import Policy
from monitoring.models import DriftRun, DriftSignal, MonitoringPolicy
from monitoring.selectors.overview import monitoring_overview, signal_series

pytestmark = pytest.mark.django_db


def _series(use_case, days, now=None):
    overview = monitoring_overview(use_case=use_case, days=days, now=now)
    return overview, signal_series(use_case=use_case, since=overview["since"], hourly=overview["hourly"],
                                   policy=overview["statistics_policy"])


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

    overview, (series,) = _series(use_case, 7)

    assert overview["hourly"] is True
    assert 167 <= len(series.points) <= 168 and series.significant == []
    assert (series.review, series.stop, series.cap) == (0.05, 0.15, "stop")


def test_past_a_month_each_day_shows_its_largest_effect_and_the_significant_run_stays_marked(forty_days):
    use_case, peak = forty_days

    overview, (series,) = _series(use_case, 366)

    assert overview["hourly"] is False
    assert 40 <= len(series.points) <= 41
    assert all(point.start.hour == 0 for point in series.points)
    assert max(point.effect for point in series.points) == pytest.approx(0.3)
    assert series.significant == [(peak.window_start, pytest.approx(0.3))]


@pytest.fixture
def stop_at_one_pm(use_case):
    """Forty days of hourly runs; on one day a stop at 13:00 between ok hours, one of them a larger, noisy effect."""
    MonitoringPolicy.objects.create(use_case=use_case, config={"alpha": 0.01})
    now = datetime(2026, 6, 30, 12, 30, tzinfo=UTC)
    first = datetime(2026, 5, 21, tzinfo=UTC)
    stop_at = datetime(2026, 6, 10, 13, tzinfo=UTC)
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, window_start=first + timedelta(hours=hour),
                 window_end=first + timedelta(hours=hour + 1), status="succeeded", n=300,
                 severity="stop" if first + timedelta(hours=hour) == stop_at else "ok")
        for hour in range(40 * 24)])

    def signal(run):
        start = run.window_start
        if start == stop_at:
            return dict(p_adjusted=0.0004, effect_size=0.2, severity="stop")
        if start == stop_at + timedelta(hours=5):
            return dict(p_adjusted=0.3, effect_size=0.25, severity="ok")  # larger, but not significant
        return dict(p_adjusted=0.6, effect_size=0.01, severity="ok")

    DriftSignal.objects.bulk_create([
        DriftSignal(run=run, name="quality_drop", statistic=1.0, p_value=0.5, effect_unit="relative_drop",
                    **signal(run)) for run in runs])
    return use_case, now, stop_at


def test_a_stop_in_the_middle_of_a_day_keeps_its_day_at_stop_with_the_day_s_smallest_holm_p(stop_at_one_pm):
    use_case, now, stop_at = stop_at_one_pm

    _, (series,) = _series(use_case, 366, now=now)

    day = {point.start: point for point in series.points}[datetime(2026, 6, 10, tzinfo=UTC)]
    assert day.severity == "stop"
    assert day.p_adjusted == pytest.approx(0.0004)
    assert day.effect == pytest.approx(0.25)  # the day's peak is drawn, as the hourly line would show it
    assert [point.start for point in series.points if point.severity == "stop"] == [day.start]
    assert {point.severity for point in series.points if point.start != day.start} == {"ok"}


def test_the_holm_significant_run_is_marked_at_its_own_hour_and_effect_in_the_daily_view(stop_at_one_pm):
    use_case, now, stop_at = stop_at_one_pm

    _, (series,) = _series(use_case, 366, now=now)

    assert series.significant == [(stop_at, pytest.approx(0.2))]


def test_a_day_without_runs_breaks_the_daily_line(stop_at_one_pm):
    use_case, now, _ = stop_at_one_pm
    DriftRun.objects.filter(use_case=use_case, window_start__date=datetime(2026, 6, 2).date()).delete()

    _, (series,) = _series(use_case, 366, now=now)

    by_start = {point.start: point for point in series.points}
    assert by_start[datetime(2026, 6, 2, tzinfo=UTC)].effect is None
    assert by_start[datetime(2026, 6, 1, tzinfo=UTC)].effect == pytest.approx(0.01)
    assert by_start[datetime(2026, 6, 3, tzinfo=UTC)].effect == pytest.approx(0.01)


def test_the_range_starts_on_the_hour_so_requests_within_an_hour_read_the_same_runs(use_case):
    early, late = (datetime(2026, 6, 30, 12, minute, tzinfo=UTC) for minute in (1, 59))

    first, second = (monitoring_overview(use_case=use_case, days=7, now=now)["since"] for now in (early, late))

    assert first == second == datetime(2026, 6, 23, 12, tzinfo=UTC)


def test_the_daily_query_uses_the_policy_s_alpha_for_the_marks(stop_at_one_pm):
    use_case, now, stop_at = stop_at_one_pm
    overview = monitoring_overview(use_case=use_case, days=366, now=now)

    (series,) = signal_series(use_case=use_case, since=overview["since"], hourly=False,
                              policy=Policy.from_dict({"alpha": 0.0001}))

    assert series.significant == []
