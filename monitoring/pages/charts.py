"""The monitoring page's charts: drawn by the PDF reports' chart code, so page and report show the same picture.

Drawing a year of signals reads its days from the daily summary, the runs significant after Holm and the alerts,
then draws a chart per signal; the result only changes when a run is created or finished, the policy is saved or
the hour moves the range on. The drawn charts are therefore kept in the cache under a key made of exactly those
facts (see `charts_for`), so the next reader within the hour gets them without touching the signal rows.
"""
import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext as _

from driftgate.throttling import CACHE_ERRORS
from governance.models import UseCase
from monitoring.models import Alert, Severity
from monitoring.selectors.overview import SignalSeries, signal_series
from reports.rendering.charts import SvgMarkup, line_chart_svg

logger = logging.getLogger(__name__)

# The key changes on the hour anyway (the range starts on the hour); an entry outlives that only by accident.
CHART_CACHE_SECONDS = 3600
# Bump when what a chart shows changes, so no process draws from an older layout's cache entries.
CHART_LAYOUT = 2


@dataclass(frozen=True)
class SignalChart:
    """A signal's chart and its text alternative for people who do not see it."""

    name: str
    svg: SvgMarkup
    summary: str


def charts_for(*, use_case: UseCase, overview: dict) -> list[SignalChart]:
    """Return the charts of the overview's range, from the cache when nothing they show has changed."""
    last_id, last_finished, policy_saved = overview["charts_version"]
    key = ":".join(str(part) for part in (
        "monitoring-charts", CHART_LAYOUT, use_case.pk, overview["since"].isoformat(), last_id,
        last_finished.isoformat() if last_finished else "", policy_saved.isoformat() if policy_saved else "",
        translation.get_language() or ""))
    try:
        cached = cache.get(key)
    except CACHE_ERRORS as exc:
        logger.warning("monitoring charts drawn without the cache, which is unavailable: %s", exc)
        cached = None
    if cached is not None:
        return [SignalChart(name=name, svg=SvgMarkup(svg), summary=summary) for name, svg, summary in cached]
    series = signal_series(use_case=use_case, since=overview["since"], hourly=overview["hourly"],
                           policy=overview["statistics_policy"])
    charts = [signal_chart(entry, alerts=overview["alerts"], alpha=overview["alpha"]) for entry in series]
    try:
        cache.set(key, [(chart.name, str(chart.svg), chart.summary) for chart in charts], CHART_CACHE_SECONDS)
    except CACHE_ERRORS as exc:
        logger.warning("monitoring charts not kept, the cache is unavailable: %s", exc)
    return charts


def signal_chart(series: SignalSeries, *, alerts: list[Alert], alpha: float) -> SignalChart:
    """Draw a signal's effect per run with its review and stop tiers, significant runs and alerts marked."""
    thresholds = [{"value": value, "label": label} for value, label in
                  ((series.review, _("review tier")), (series.stop, _("stop tier"))) if value is not None]
    # Each chart marks the alerts its own signal raised, at the run's effect (hourly) or the day's maximum.
    by_start = {point.start: point.effect for point in series.points if point.effect is not None}
    alert_points = []
    for alert in alerts:
        if series.name not in ((alert.summary or {}).get("raised_by") or []):
            continue
        start = alert.run.window_start
        key = start if start in by_start else start.replace(hour=0, minute=0, second=0, microsecond=0)
        if key in by_start:
            alert_points.append((start, by_start[key]))
    markers = []
    if series.significant:
        markers.append({"name": _("significant after Holm (p < %(alpha)s)") % {"alpha": f"{alpha:g}"},
                        "shape": "diamond", "points": series.significant})
    if alert_points:
        markers.append({"name": _("alert raised by this signal"), "shape": "triangle", "points": alert_points})
    svg = line_chart_svg([{"name": series.name, "points": [(point.start, point.effect) for point in series.points]}],
                         title=_("%(signal)s: effect per run") % {"signal": series.name}, y_label=series.unit,
                         thresholds=thresholds, markers=markers, width=760, height=220)
    measured = [point for point in series.points if point.effect is not None]
    largest = max(measured, key=lambda point: point.effect or 0.0, default=None)
    at_review = sum(1 for point in measured if point.severity == Severity.REVIEW)
    at_stop = sum(1 for point in measured if point.severity == Severity.STOP)
    summary = _("%(runs)s points; %(significant)s runs significant after Holm; %(alerts)s with an alert; "
                "largest effect %(largest)s (%(when)s); tiers %(review)s review, %(stop)s stop.") % {
        "runs": len(measured), "significant": len(series.significant), "alerts": len(alert_points),
        "largest": f"{largest.effect:.3g}" if largest else "—",
        "when": f"{largest.start:%Y-%m-%d %H:%M} UTC" if largest else "—",
        "review": f"{series.review:g}" if series.review is not None else "—",
        "stop": f"{series.stop:g}" if series.stop is not None else "—"}
    summary += " " + _("%(review)s points at the review tier, %(stop)s at the stop tier.") % {
        "review": at_review, "stop": at_stop}
    return SignalChart(name=series.name, svg=svg, summary=summary)
