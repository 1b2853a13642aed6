"""SVG charts: well-formed, small for a year of hourly points, faithful to spikes and gaps, escaped labels."""
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template

from reports.rendering import bar_chart_svg, downsample_min_max, line_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2024, 1, 1, tzinfo=UTC)
HOURS_PER_YEAR = 8760
SPIKE_HOUR = 4321


def _hourly_year(*, spike: float | None = 0.9) -> list[tuple[datetime, float | None]]:
    """Return a year of hourly values jittering around 0.02, with one isolated spike."""
    points = [(START + timedelta(hours=hour), 0.02 + ((hour * 7919) % 13) / 1000) for hour in range(HOURS_PER_YEAR)]
    if spike is not None:
        points[SPIKE_HOUR] = (points[SPIKE_HOUR][0], spike)
    return points


def _polyline_points(root: ET.Element) -> list[list[tuple[float, float]]]:
    """Return the vertices of every polyline in a parsed chart."""
    return [
        [tuple(map(float, pair.split(","))) for pair in line.get("points").split()]
        for line in root.iter(f"{SVG}polyline")
    ]


def _texts(root: ET.Element) -> list[str]:
    """Return the content of every text element in a parsed chart."""
    return [element.text for element in root.iter(f"{SVG}text")]


def _plot_frame(root: ET.Element) -> tuple[float, float]:
    """Return the top and bottom y of the plot frame (the last, unfilled rectangle)."""
    frame = [rect for rect in root.iter(f"{SVG}rect") if rect.get("fill") == "none"][-1]
    top = float(frame.get("y"))
    return top, top + float(frame.get("height"))


def test_downsampling_keeps_an_isolated_spike_and_bounds_the_points():
    points = [(float(hour), value) for hour, (_, value) in enumerate(_hourly_year())]

    segments = downsample_min_max(points, x_min=0.0, x_max=HOURS_PER_YEAR - 1.0, columns=600)

    assert len(segments) == 1
    assert (float(SPIKE_HOUR), 0.9) in segments[0]
    assert len(segments[0]) <= 4 * 600
    assert segments[0][0] == points[0] and segments[0][-1] == points[-1]


def test_downsampling_keeps_points_in_x_order_within_each_column():
    points = [(0.0, 1.0), (0.1, 5.0), (0.2, -3.0), (0.3, 2.0), (0.4, 0.0)]

    segments = downsample_min_max(points, x_min=0.0, x_max=10.0, columns=10)

    assert segments == [[(0.0, 1.0), (0.1, 5.0), (0.2, -3.0), (0.4, 0.0)]]


def test_downsampling_splits_segments_at_gaps():
    points = [(0.0, 1.0), (1.0, 2.0), (2.0, None), (3.0, 3.0), (4.0, None), (5.0, 4.0), (6.0, 5.0)]

    segments = downsample_min_max(points, x_min=0.0, x_max=6.0, columns=100)

    assert segments == [[(0.0, 1.0), (1.0, 2.0)], [(3.0, 3.0)], [(5.0, 4.0), (6.0, 5.0)]]


def test_a_year_of_hourly_points_makes_a_small_well_formed_svg_that_shows_the_spike():
    svg = line_chart_svg([{"name": "prompt drift", "points": _hourly_year()}], title="Prompt drift", y_label="share")

    root = ET.fromstring(svg)
    lines = _polyline_points(root)
    top, bottom = _plot_frame(root)
    ys = [y for line in lines for _, y in line]

    assert root.tag == f"{SVG}svg"
    assert len(svg) < 60_000
    # The spike reaches the top tick (axis rounded up to 1.0, so 0.9 sits 90% up); everything else hugs the bottom.
    assert min(ys) == pytest.approx(bottom - 0.9 * (bottom - top), abs=0.2)
    assert sum(1 for y in ys if y < bottom - 0.5 * (bottom - top)) == 1


def test_without_the_spike_the_line_fills_the_plot():
    svg = line_chart_svg([{"name": "quiet", "points": _hourly_year(spike=None)}], title="Quiet", y_label="share")

    root = ET.fromstring(svg)
    top, bottom = _plot_frame(root)
    ys = [y for line in _polyline_points(root) for _, y in line]

    # Same series without the spike: the axis shrinks to the data, so the line fills the plot instead.
    assert min(ys) < top + 0.5 * (bottom - top)


def test_none_breaks_the_line_and_a_lone_point_is_a_dot():
    points = [(START + timedelta(hours=hour), float(hour)) for hour in range(10)]
    points[4] = (points[4][0], None)
    points[6] = (points[6][0], None)

    root = ET.fromstring(line_chart_svg([{"name": "quality", "points": points}], title="Quality", y_label="score"))

    assert [len(line) for line in _polyline_points(root)] == [4, 3]
    assert len(list(root.iter(f"{SVG}circle"))) == 1


def test_nan_is_a_gap_and_infinity_is_refused():
    nan_points = [(0, 1.0), (1, float("nan")), (2, 2.0), (3, 2.5)]

    root = ET.fromstring(line_chart_svg([{"name": "s", "points": nan_points}], title="t", y_label="y"))

    assert len(_polyline_points(root)) == 1 and len(list(root.iter(f"{SVG}circle"))) == 1
    with pytest.raises(ValueError):
        line_chart_svg([{"name": "s", "points": [(0, float("inf"))]}], title="t", y_label="y")


def test_labels_are_escaped_and_create_no_element():
    hostile = "<script>alert(1)</script> & \"quotes\""

    svg = line_chart_svg(
        [{"name": hostile, "points": [(0, 1.0), (1, 2.0)]}, {"name": "second", "points": [(0, 2.0), (1, 1.0)]}],
        title=hostile, y_label=hostile, thresholds=[{"value": 1.5, "label": hostile}],
    )
    root = ET.fromstring(svg)

    assert not [element for element in root.iter() if element.tag.endswith("script")]
    assert _texts(root).count(hostile) == 4  # title, legend, y label, threshold label
    assert root.find(f"{SVG}title").text == hostile


def test_thresholds_are_dashed_lines_on_the_axis_even_above_the_data():
    points = [(START + timedelta(hours=hour), 0.02) for hour in range(48)]

    root = ET.fromstring(line_chart_svg(
        [{"name": "share", "points": points}], title="Drifted share", y_label="share",
        thresholds=[{"value": 0.05, "label": "review 5%"}, {"value": 0.15, "label": "stop 15%"}],
    ))
    dashed = [line for line in root.iter(f"{SVG}line") if line.get("stroke-dasharray")]
    top, bottom = _plot_frame(root)

    assert {"review 5%", "stop 15%"} <= set(_texts(root))
    assert len(dashed) == 2
    assert all(top <= float(line.get("y1")) <= bottom for line in dashed)


def test_a_year_is_ticked_by_months_and_a_few_days_by_days():
    year = ET.fromstring(line_chart_svg([{"name": "s", "points": _hourly_year()}], title="t", y_label="y"))
    days = ET.fromstring(line_chart_svg([{"name": "s", "points": _hourly_year()[:24 * 4]}], title="t", y_label="y"))

    year_labels = [text for text in _texts(year) if re.fullmatch(r"\d{4}-\d{2}", text)]
    day_labels = [text for text in _texts(days) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)]

    assert year_labels[0] == "2024-01" and len(year_labels) >= 4
    assert day_labels == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert "time (UTC)" in _texts(year)


def test_numeric_x_values_get_round_ticks():
    root = ET.fromstring(line_chart_svg([{"name": "s", "points": [(x, x * 2.0) for x in range(101)]}],
                                        title="t", y_label="y"))

    assert {"0", "20", "40", "60", "80", "100"} <= set(_texts(root))


def test_mixing_datetimes_and_numbers_is_refused():
    with pytest.raises(ValueError, match="mix"):
        line_chart_svg([{"name": "s", "points": [(START, 1.0), (1.0, 2.0)]}], title="t", y_label="y")


def test_a_series_without_values_says_so():
    root = ET.fromstring(line_chart_svg([{"name": "s", "points": [(START, None)]}], title="Empty", y_label="y"))

    assert "No data in this period" in _texts(root)
    assert not _polyline_points(root)


def test_bar_chart_draws_one_bar_per_value_and_thins_crowded_labels():
    categories = [f"cluster {index}" for index in range(60)]
    baseline = [1 / 60] * 60
    window = [0.03 if index % 2 else None for index in range(60)]

    svg = bar_chart_svg(categories, [{"name": "baseline", "values": baseline}, {"name": "window", "values": window}],
                        title="Cluster occupancy", y_label="share")
    root = ET.fromstring(svg)
    bars = [rect for rect in root.iter(f"{SVG}rect") if rect.get("fill") != "none" and float(rect.get("height")) > 3]
    labels = [text for text in _texts(root) if text.startswith("cluster")]

    assert len(bars) == 60 + 30
    assert 2 <= len(labels) < 60
    assert labels[0] == "cluster 0"


def test_bar_chart_refuses_a_series_of_the_wrong_length():
    with pytest.raises(ValueError, match="3 categories"):
        bar_chart_svg(["a", "b", "c"], [{"name": "s", "values": [1, 2]}], title="t", y_label="y")


def test_django_inserts_chart_markup_unescaped_but_escapes_plain_text():
    svg = line_chart_svg([{"name": "s", "points": [(0, 1.0), (1, 2.0)]}], title="a < b", y_label="y")
    template = Template("{{ chart }}|{{ text }}")

    rendered = template.render(Context({"chart": svg, "text": "<svg>"}))

    assert rendered == f"{svg}|&lt;svg&gt;"


def test_markers_are_outlined_shapes_named_in_the_legend_and_drawn_only_inside_the_axis():
    start = datetime(2025, 3, 1, tzinfo=UTC)
    points = [(start + timedelta(hours=hour), 0.01 * hour) for hour in range(10)]
    svg = line_chart_svg([{"name": "quality_drop", "points": points}], title="t", y_label="drop",
                         markers=[{"name": "significant after Holm", "shape": "diamond", "points": points[7:9]},
                                  {"name": "alert raised", "shape": "triangle", "points": [points[8]]}])

    # Two diamonds and one triangle on the plot, one of each in the legend; black on white, readable without colour.
    assert svg.count('<polygon points=') == 2 + 1 + 2
    assert svg.count('fill="#fff" stroke="#000"') == 5
    assert "significant after Holm" in svg and "alert raised" in svg


def test_an_unknown_marker_shape_is_refused():
    with pytest.raises(ValueError, match="unknown marker shape"):
        line_chart_svg([{"name": "s", "points": [(datetime(2025, 1, 1, tzinfo=UTC), 1.0),
                                                 (datetime(2025, 1, 2, tzinfo=UTC), 2.0)]}],
                       title="t", y_label="y", markers=[{"name": "m", "shape": "star",
                                                         "points": [(datetime(2025, 1, 1, tzinfo=UTC), 1.0)]}])
