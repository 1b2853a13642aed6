"""The monitoring page's charts: drawn by the PDF reports' chart code, so page and report show the same picture."""
from dataclasses import dataclass

from django.utils.translation import gettext as _

from monitoring.models import Alert
from monitoring.selectors.overview import SignalSeries
from reports.rendering.charts import SvgMarkup, line_chart_svg


@dataclass(frozen=True)
class SignalChart:
    """A signal's chart and its text alternative for people who do not see it."""

    name: str
    svg: SvgMarkup
    summary: str


def signal_chart(series: SignalSeries, *, alerts: list[Alert], alpha: float) -> SignalChart:
    """Draw a signal's effect per run with its review and stop tiers, significant runs and alerts marked."""
    thresholds = [{"value": value, "label": label} for value, label in
                  ((series.review, _("review tier")), (series.stop, _("stop tier"))) if value is not None]
    # Each chart marks the alerts its own signal raised, at the run's effect (hourly) or the day's maximum.
    by_start = dict(series.points)
    alert_points = []
    for alert in alerts:
        if series.name not in ((alert.summary or {}).get("raised_by") or []):
            continue
        start = alert.run.window_start
        key = start if start in by_start else start.replace(hour=0)
        if key in by_start:
            alert_points.append((start, by_start[key]))
    markers = []
    if series.significant:
        markers.append({"name": _("significant after Holm (p < %(alpha)s)") % {"alpha": f"{alpha:g}"},
                        "shape": "diamond", "points": series.significant})
    if alert_points:
        markers.append({"name": _("alert raised by this signal"), "shape": "triangle", "points": alert_points})
    svg = line_chart_svg([{"name": series.name, "points": series.points}],
                         title=_("%(signal)s: effect per run") % {"signal": series.name}, y_label=series.unit,
                         thresholds=thresholds, markers=markers, width=760, height=220)
    effects = [effect for _start, effect in series.points if effect is not None]
    largest = max(series.points, key=lambda point: point[1] if point[1] is not None else float("-inf"), default=None)
    summary = _("%(runs)s points; %(significant)s runs significant after Holm; %(alerts)s with an alert; "
                "largest effect %(largest)s (%(when)s); tiers %(review)s review, %(stop)s stop.") % {
        "runs": len(series.points), "significant": len(series.significant), "alerts": len(alert_points),
        "largest": f"{largest[1]:.3g}" if largest and effects else "—",
        "when": f"{largest[0]:%Y-%m-%d %H:%M} UTC" if largest and effects else "—",
        "review": f"{series.review:g}" if series.review is not None else "—",
        "stop": f"{series.stop:g}" if series.stop is not None else "—"}
    return SignalChart(name=series.name, svg=svg, summary=summary)
