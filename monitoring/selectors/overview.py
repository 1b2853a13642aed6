"""What the monitoring page of a use case shows: its state, each signal's recent series, alerts on the time axis."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.db.models.functions import TruncDay
from django.utils import timezone

from governance.models import UseCase
from monitoring.drift import Policy
from monitoring.models import Alert, DriftRun, DriftSignal, MonitoringPolicy, RunStatus, Severity

# The page shows the last week by default and at most a year: a year of hourly runs is 8,760 points per signal,
# which the chart code reduces to what a pixel column can show.
DEFAULT_DAYS = 7
MAX_DAYS = 366
HOURLY_MAX_DAYS = 31


@dataclass(frozen=True)
class SignalSeries:
    """One signal's effect sizes over the runs, with the points significant after Holm and its tiers."""

    name: str
    unit: str
    points: list[tuple[datetime, float]]
    significant: list[tuple[datetime, float]]
    review: float | None
    stop: float | None
    cap: str


def monitoring_overview(*, use_case: UseCase, days: int = DEFAULT_DAYS, now: datetime | None = None) -> dict:
    """Return the state (ok / review / stop, halted, last and next run), the signals' series and the alerts."""
    now = now or timezone.now()
    days = max(1, min(int(days), MAX_DAYS))
    since = now - timedelta(days=days)
    stored = MonitoringPolicy.objects.filter(use_case=use_case).first()
    policy = Policy.from_dict(stored.config) if stored is not None and stored.config else Policy()
    runs = DriftRun.objects.filter(use_case=use_case)
    last = runs.filter(status__in=[RunStatus.SUCCEEDED, RunStatus.SKIPPED]).order_by("-window_end").first()
    last_succeeded = runs.filter(status=RunStatus.SUCCEEDED).order_by("-window_end").first()
    window_hours = stored.window_hours if stored is not None else 1
    next_run = (last.window_end + timedelta(hours=window_hours) if last is not None
                else None)
    in_range = DriftSignal.objects.filter(run__use_case=use_case, run__window_start__gte=since)
    series: dict[str, dict] = {}
    hourly = days <= HOURLY_MAX_DAYS
    if hourly:
        points = in_range.order_by("name", "run__window_start").values_list(
            "name", "effect_unit", "run__window_start", "effect_size")
    else:
        # Past a month a chart is a few hundred pixels per year: the daily maximum shows every peak a reader could
        # see, and 366 rows per signal keep the page fast where 8,760 hourly rows would not.
        points = (in_range.annotate(day=TruncDay("run__window_start")).values("name", "day")
                  .annotate(unit=Max("effect_unit"), effect=Max("effect_size")).order_by("name", "day")
                  .values_list("name", "unit", "day", "effect"))
    for name, unit, start, effect in points.iterator(chunk_size=10_000):
        series.setdefault(name, {"unit": unit, "points": [], "significant": []})["points"].append((start, effect))
    significant = (in_range.filter(p_adjusted__lt=policy.alpha).order_by("name", "run__window_start")
                   .values_list("name", "run__window_start", "effect_size"))
    for name, start, effect in significant.iterator(chunk_size=10_000):
        if name in series:
            series[name]["significant"].append((start, effect))
    alerts = list(Alert.objects.filter(use_case=use_case, run__window_start__gte=since)
                  .select_related("run").order_by("run__window_start"))
    return {
        "days": days,
        "hourly": hourly,
        "since": since,
        "policy": stored,
        "alpha": policy.alpha,
        "state": last_succeeded.severity if last_succeeded is not None else None,
        "halted": use_case.halted,
        "last_run": last,
        "next_run": next_run,
        "sample_size": stored.sample_size if stored is not None else settings.DRIFTGATE_WINDOW_SAMPLE_SIZE,
        "window_hours": window_hours,
        "runs": runs.filter(window_start__gte=since).count(),
        "open_alerts": Alert.objects.filter(use_case=use_case, status="open").count(),
        "signals": [
            SignalSeries(name=name, unit=entry["unit"], points=entry["points"], significant=entry["significant"],
                         review=policy.tiers.get(name, (None, None))[0], stop=policy.tiers.get(name, (None, None))[1],
                         cap=policy.max_severity.get(name, Severity.STOP))
            for name, entry in sorted(series.items())],
        "alerts": alerts,
        "recent_runs": list(runs.filter(window_start__gte=since).exclude(severity=Severity.OK)
                            .order_by("-window_start")[:50]),
    }
