"""Small SVG charts for the pages, drawn by the same code as the PDF reports' charts.

The chart module is pure Python with no dependency on the rest of `reports`; the pages import it rather than
keep a second chart drawer.
"""
from django.utils.translation import gettext as _

from governance.models import EffectGoal, EffectMeasurement
from reports.rendering.charts import SvgMarkup, line_chart_svg


def measurement_chart(goal: EffectGoal, measurements: list[EffectMeasurement]) -> SvgMarkup | None:
    """Draw a goal's measurements over time with its target as a dashed line; None before two measurements."""
    if len(measurements) < 2:
        return None
    points = [(measurement.measured_at, measurement.value) for measurement in measurements]
    target = {"value": goal.target, "label": _("target %(target)s") % {"target": f"{goal.target:g}"}}
    return line_chart_svg([{"name": goal.metric, "points": points}],
                          title=_("%(metric)s over time") % {"metric": goal.metric}, y_label=goal.unit,
                          thresholds=[target], width=480, height=180)
