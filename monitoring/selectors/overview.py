"""What the monitoring page of a use case shows: its state, each signal's recent series, alerts on the time axis."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Case, IntegerField, Max, Min, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from governance.models import UseCase
from monitoring.drift import Policy
from monitoring.models import Alert, DailySummary, DriftRun, DriftSignal, MonitoringPolicy, RunStatus, Severity

# The page shows the last week by default and at most a year: a year of hourly runs is 8,760 points per signal,
# which the chart code reduces to what a pixel column can show.
DEFAULT_DAYS = 7
MAX_DAYS = 366
HOURLY_MAX_DAYS = 31
SEVERITY_RANK = {Severity.OK: 0, Severity.REVIEW: 1, Severity.STOP: 2}
_RANKED = tuple(SEVERITY_RANK.items())


class SeriesPoint(NamedTuple):
    """One point of a signal's line: a run, or past a month a day (its largest effect, worst tier, smallest p)."""

    start: datetime
    effect: float | None
    severity: str
    p_adjusted: float | None


@dataclass(frozen=True)
class SignalSeries:
    """One signal's effect sizes over the runs, with the points significant after Holm and its tiers."""

    name: str
    unit: str
    points: list[SeriesPoint]
    significant: list[tuple[datetime, float]]
    review: float | None
    stop: float | None
    cap: str


def monitoring_overview(*, use_case: UseCase, days: int = DEFAULT_DAYS, now: datetime | None = None) -> dict:
    """Return the state (ok / review / stop, halted, last and next run), the alerts and the range of the charts.

    The charts' series come from `signal_series`; `charts_version` changes whenever what they are drawn from
    does (a run created or finished, the policy saved), so a drawn chart can be kept until then.
    """
    now = now or timezone.now()
    days = max(1, min(int(days), MAX_DAYS))
    # The range starts on the hour: every request within an hour asks for the same runs.
    since = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    stored = MonitoringPolicy.objects.filter(use_case=use_case).first()
    policy = Policy.from_dict(stored.config) if stored is not None and stored.config else Policy()
    runs = DriftRun.objects.filter(use_case=use_case)
    last = runs.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.SKIPPED]).order_by("-window_end").first()
    last_succeeded = runs.filter(status=RunStatus.SUCCEEDED).order_by("-window_end").first()
    window_hours = stored.window_hours if stored is not None else 1
    next_run = (last.window_end + timedelta(hours=window_hours) if last is not None
                else None)
    # A run's signals are written in the transaction that sets its finished_at; probe runs are new rows.
    latest = runs.aggregate(last_id=Max("id"), last_finished=Max("finished_at"))
    alerts = list(Alert.objects.filter(use_case=use_case, run__window_start__gte=since)
                  .select_related("run").order_by("run__window_start"))
    return {
        "days": days,
        "hourly": days <= HOURLY_MAX_DAYS,
        "since": since,
        "policy": stored,
        "statistics_policy": policy,
        "alpha": policy.alpha,
        "charts_version": (latest["last_id"], latest["last_finished"], stored.updated_at if stored else None),
        "state": last_succeeded.severity if last_succeeded is not None else None,
        "halted": use_case.halted,
        "last_run": last,
        "last_succeeded": last_succeeded,
        "next_run": next_run,
        "sample_size": stored.sample_size if stored is not None else settings.DRIFTGATE_WINDOW_SAMPLE_SIZE,
        "window_hours": window_hours,
        "open_alerts": Alert.objects.filter(use_case=use_case, status="open").count(),
        "alerts": alerts,
        "recent_runs": list(runs.filter(window_start__gte=since).exclude(severity=Severity.OK)
                            .order_by("-window_start")[:50]),
    }


def signal_series(*, use_case: UseCase, since: datetime, hourly: bool, policy: Policy) -> list[SignalSeries]:
    """Return each signal's series from `since`: every run, or past a month one point per day.

    The runs significant after Holm are returned one by one in both cases, at their own time and effect.
    """
    in_range = DriftSignal.objects.filter(run__use_case=use_case, run__window_start__gte=since)
    series: dict[str, dict] = {}
    if hourly:
        for name, unit, start, effect, severity, p_adjusted in in_range.order_by("name", "run__window_start").values_list(
                "name", "effect_unit", "run__window_start", "effect_size", "severity", "p_adjusted"):
            series.setdefault(name, {"unit": unit, "points": [], "significant": []})["points"].append(
                SeriesPoint(start, effect, severity, p_adjusted))
    else:
        _daily_points(use_case, since, in_range, series)
    # A plain fetch, not .iterator(): on PostgreSQL that is a WITH HOLD cursor, which materialises the result first.
    significant = (in_range.filter(p_adjusted__lt=policy.alpha).order_by("name", "run__window_start")
                   .values_list("name", "run__window_start", "effect_size"))
    for name, start, effect in significant:
        if name in series:
            series[name]["significant"].append((start, effect))
    return [
        SignalSeries(name=name, unit=entry["unit"], points=entry["points"], significant=entry["significant"],
                     review=policy.tiers.get(name, (None, None))[0], stop=policy.tiers.get(name, (None, None))[1],
                     cap=policy.max_severity.get(name, Severity.STOP))
        for name, entry in sorted(series.items())]


def _daily_points(use_case: UseCase, since: datetime, in_range: QuerySet[DriftSignal], series: dict[str, dict]) -> None:
    """Add one point per signal and day: the day's largest effect, its worst tier and its smallest Holm p."""
    # Past a month a chart is a few hundred pixels per year. The daily maximum keeps every peak a reader could see
    # (as the chart's own min/max reduction does), the worst tier keeps a stop at 13:00 a stop. The whole days
    # come from the daily summary the database keeps as signals are stored (366 rows per signal, not 8,760 to
    # aggregate); the range's first day starts on the hour, so its part of a day is aggregated from its runs.
    next_day = since.astimezone(UTC).date() + timedelta(days=1)
    rank = Case(*(When(severity=severity, then=Value(value)) for severity, value in _RANKED), default=Value(0),
                output_field=IntegerField())
    first_day = (in_range.filter(run__window_start__lt=datetime.combine(next_day, time.min, tzinfo=UTC))
                 .annotate(day=TruncDate("run__window_start", tzinfo=UTC)).values("name", "day")
                 .annotate(unit=Max("effect_unit"), effect=Max("effect_size"), rank=Max(rank), p=Min("p_adjusted"))
                 .values_list("name", "unit", "day", "effect", "rank", "p").order_by())
    whole_days = (DailySummary.objects.filter(use_case=use_case, day__gte=next_day)
                  .values_list("name", "unit", "day", "effect_max", "worst_rank", "p_min").order_by())
    # One query for both parts. The summary comes first: a union converts every row by its first part's fields,
    # and a DateField needs no converter where TruncDate's would run for each of the year's rows.
    rows = whole_days.union(first_day, all=True).order_by("name", "day")
    by_rank = {value: severity for severity, value in _RANKED}
    starts: dict[date, datetime] = {}
    for name, unit, day, effect, worst, p_adjusted in rows:
        entry = series.setdefault(name, {"unit": unit, "points": [], "significant": [], "day": None})
        previous = entry["day"]
        if previous is not None and (day - previous).days > 1:
            # Days without a run are a gap in the line, not a straight line drawn across them.
            gap = previous + timedelta(days=1)
            entry["points"].append(SeriesPoint(_day_start(gap, starts), None, "", None))
        entry["day"] = day
        entry["points"].append(SeriesPoint(_day_start(day, starts), effect, by_rank[worst], p_adjusted))


def _day_start(day: date, starts: dict[date, datetime]) -> datetime:
    """Return the day's midnight UTC, made once per day for all signals."""
    if day not in starts:
        starts[day] = datetime.combine(day, time.min, tzinfo=UTC)
    return starts[day]
