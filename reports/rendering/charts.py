"""Vector SVG charts for the PDF reports, in pure Python so a report needs neither matplotlib nor a display.

Every piece of text (titles, series names, labels) is escaped here, which is why the markup may be inserted
into a template unescaped (see SvgMarkup). A year of hourly drift signals is 8,760 points per series; drawing
each would make a page of charts megabytes of path data while the printed line is a few hundred dots wide,
so lines are reduced to the points a pixel column can show (see downsample_min_max).
"""
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from datetime import tzinfo as TzInfo
from html import escape

# Okabe & Ito's palette stays distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
# Thresholds are told apart by dash pattern as well as label, so they survive black-and-white printing.
THRESHOLD_DASHES = ("6 3", "2 2", "8 2 2 2")
FONT_FAMILY = "DejaVu Sans"
FONT_SIZE = 9
# DejaVu Sans averages about 0.6 em per character; used only to space labels, never to clip them.
CHAR_WIDTH = 0.6 * FONT_SIZE
MARGIN_LEFT = 58
MARGIN_RIGHT = 14
MARGIN_BOTTOM = 34
TITLE_HEIGHT = 20
LEGEND_ROW_HEIGHT = 14
MIN_TICK_SPACING = 85

_DATE_STEPS = (
    ("hour", 1), ("hour", 2), ("hour", 3), ("hour", 6), ("hour", 12),
    ("day", 1), ("day", 2), ("day", 7), ("day", 14),
    ("month", 1), ("month", 2), ("month", 3), ("month", 6),
    ("year", 1), ("year", 2), ("year", 5), ("year", 10),
)
_STEP_SECONDS = {"hour": 3600, "day": 86400, "month": 30.44 * 86400, "year": 365.25 * 86400}


class SvgMarkup(str):
    """SVG text whose labels charts.py has escaped, so Django templates insert it without escaping it again."""

    __slots__ = ()

    def __html__(self) -> str:
        """Return the markup itself: Django's conditional_escape honours __html__."""
        return str(self)


def downsample_min_max(
    points: Sequence[tuple[float, float | None]], *, x_min: float, x_max: float, columns: int
) -> list[list[tuple[float, float]]]:
    """Split x-sorted points into gap-free segments and keep, per pixel column, its first, min, max and last point."""
    # This is M4 (Jugel et al., "M4: A Visualization-Oriented Time Series Data Aggregation", VLDB 2014): a line
    # drawn through these four points per column is pixel-identical to the line through all points, so an
    # isolated one-hour spike survives while a segment never has more than 4 points per column.
    scale = columns / (x_max - x_min) if x_max > x_min else 0.0
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    column = None
    # Placeholders: read only once a column has started, when they hold that column's points.
    first = last = low = high = (0.0, 0.0)
    for x, y in points:
        if y is None:
            # A gap is data: the line stops rather than interpolating across hours nobody measured.
            if column is not None:
                current.extend(_column_points(first, low, high, last))
                segments.append(current)
            current, column = [], None
            continue
        point = (x, y)
        point_column = min(columns - 1, int((x - x_min) * scale))
        if point_column != column:
            if column is not None:
                current.extend(_column_points(first, low, high, last))
            column = point_column
            first = last = low = high = point
            continue
        last = point
        if y < low[1]:
            low = point
        if y > high[1]:
            high = point
    if column is not None:
        current.extend(_column_points(first, low, high, last))
        segments.append(current)
    return segments


Point = tuple[float, float]


def _column_points(first: Point, low: Point, high: Point, last: Point) -> list[Point]:
    """Return a column's extreme points once each, in the order they occurred."""
    return sorted(dict.fromkeys((first, low, high, last)), key=lambda point: point[0])


def line_chart_svg(
    series: Sequence[Mapping],
    *,
    title: str,
    y_label: str,
    thresholds: Sequence[Mapping] = (),
    width: int = 680,
    height: int = 240,
    y_range: tuple[float, float] | None = None,
    x_label: str | None = None,
    markers: Sequence[Mapping] = (),
) -> SvgMarkup:
    """Draw series of (datetime or number, number or None) points as lines; None breaks the line.

    `markers` are sets of points drawn on top as outlined shapes named in the legend ({"name", "points",
    "shape": "diamond" or "triangle"}), such as the runs that were significant after Holm correction.
    """
    prepared, x_kind, tzinfo = _prepare_line_series(series)
    marked = [(entry, points) for entry, points in zip(
        markers, _prepare_line_series(markers)[0] if markers else [], strict=True)]
    legend_rows, legend = _legend(names=[entry["name"] for entry in series], width=width, top=TITLE_HEIGHT,
                                  shapes=[(entry["name"], entry.get("shape", "diamond")) for entry in markers])
    top = TITLE_HEIGHT + legend_rows * LEGEND_ROW_HEIGHT + 8
    plot = _Plot(left=MARGIN_LEFT, top=top, right=width - MARGIN_RIGHT, bottom=height - MARGIN_BOTTOM)
    parts = [_title(title=title)] + legend
    xs = [x for points in prepared for x, _ in points]
    ys = [y for points in prepared for _, y in points if y is not None]
    if not ys:
        parts += _empty_plot(plot=plot)
        return _svg(width=width, height=height, title=title, parts=parts)

    x_min, x_max = min(xs), max(xs)
    if x_min == x_max:
        # One instant still needs an axis: half an hour either side, or half a unit for numbers.
        half = 1800 if x_kind == "datetime" else 0.5
        x_min, x_max = x_min - half, x_max + half
    y_ticks, y_min, y_max = _y_axis(values=ys, thresholds=thresholds, y_range=y_range, plot=plot, zero=False)
    if x_kind == "datetime":
        x_ticks = _date_ticks(t_min=x_min, t_max=x_max, tzinfo=tzinfo, max_ticks=_max_ticks(plot))
        x_label = x_label if x_label is not None else _time_axis_label(tzinfo=tzinfo, at=x_min)
    else:
        x_ticks = _labelled_number_ticks(x_min, x_max, _max_ticks(plot))

    def to_x(x: float) -> float:
        return plot.left + (x - x_min) / (x_max - x_min) * plot.width

    def to_y(y: float) -> float:
        # A fixed y_range may cut values off; clamping keeps them on the frame instead of over the legend.
        y = min(max(y, y_min), y_max)
        return plot.bottom - (y - y_min) / (y_max - y_min) * plot.height

    parts += _y_grid(ticks=y_ticks, plot=plot, to_y=to_y, y_label=y_label)
    parts += _x_axis(ticks=[(to_x(value), label) for value, label in x_ticks], plot=plot, x_label=x_label)
    parts += _threshold_lines(thresholds=thresholds, plot=plot, to_y=to_y)
    columns = max(1, int(plot.width))
    for index, points in enumerate(prepared):
        colour = PALETTE[index % len(PALETTE)]
        for segment in downsample_min_max(points, x_min=x_min, x_max=x_max, columns=columns):
            if len(segment) == 1:
                # A lone measurement between two gaps has no line to draw; a dot keeps it visible.
                x, y = segment[0]
                parts.append(f'<circle cx="{to_x(x):.1f}" cy="{to_y(y):.1f}" r="1.6" fill="{colour}"/>')
                continue
            coordinates = " ".join(f"{to_x(x):.1f},{to_y(y):.1f}" for x, y in segment)
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.2" stroke-linejoin="round" '
                f'points="{coordinates}"/>'
            )
    for entry, points in marked:
        parts += [_marker(entry.get("shape", "diamond"), to_x(x), to_y(y)) for x, y in points
                  if y is not None and x_min <= x <= x_max]
    parts.append(_frame(plot=plot))
    return _svg(width=width, height=height, title=title, parts=parts)


def _marker(shape: str, x: float, y: float, size: float = 4.0) -> str:
    """Return an outlined marker: black on white, so it reads without colour and over any line."""
    if shape == "triangle":
        outline = f"{x:.1f},{y - size:.1f} {x + size:.1f},{y + size * 0.8:.1f} {x - size:.1f},{y + size * 0.8:.1f}"
    elif shape == "diamond":
        outline = f"{x:.1f},{y - size:.1f} {x + size:.1f},{y:.1f} {x:.1f},{y + size:.1f} {x - size:.1f},{y:.1f}"
    else:
        raise ValueError(f"unknown marker shape {shape!r}; use diamond or triangle")
    return f'<polygon points="{outline}" fill="#fff" stroke="#000" stroke-width="1.1"/>'


def bar_chart_svg(
    categories: Sequence[str],
    series: Sequence[Mapping],
    *,
    title: str,
    y_label: str,
    thresholds: Sequence[Mapping] = (),
    width: int = 680,
    height: int = 240,
    y_range: tuple[float, float] | None = None,
) -> SvgMarkup:
    """Draw grouped bars, one group per category and one bar per series ({"name", "values"}); None draws none."""
    for entry in series:
        if len(entry["values"]) != len(categories):
            raise ValueError(
                f"series {entry['name']!r} has {len(entry['values'])} values for {len(categories)} categories"
            )
    legend_rows, legend = _legend(names=[entry["name"] for entry in series], width=width, top=TITLE_HEIGHT)
    top = TITLE_HEIGHT + legend_rows * LEGEND_ROW_HEIGHT + 8
    plot = _Plot(left=MARGIN_LEFT, top=top, right=width - MARGIN_RIGHT, bottom=height - MARGIN_BOTTOM)
    parts = [_title(title=title)] + legend
    values = [_finite(value) for entry in series for value in entry["values"] if value is not None]
    if not values or not categories:
        parts += _empty_plot(plot=plot)
        return _svg(width=width, height=height, title=title, parts=parts)

    y_ticks, y_min, y_max = _y_axis(values=values, thresholds=thresholds, y_range=y_range, plot=plot, zero=True)

    def to_y(y: float) -> float:
        y = min(max(y, y_min), y_max)
        return plot.bottom - (y - y_min) / (y_max - y_min) * plot.height

    group_width = plot.width / len(categories)
    bar_width = group_width * 0.8 / max(1, len(series))
    labels_every = _label_stride(categories=categories, group_width=group_width)
    x_ticks = [
        (plot.left + (index + 0.5) * group_width, _shorten(str(category), 18))
        for index, category in enumerate(categories)
        if index % labels_every == 0
    ]
    parts += _y_grid(ticks=y_ticks, plot=plot, to_y=to_y, y_label=y_label)
    parts += _x_axis(ticks=x_ticks, plot=plot, x_label=None)
    baseline = to_y(min(max(0.0, y_min), y_max))
    for series_index, entry in enumerate(series):
        colour = PALETTE[series_index % len(PALETTE)]
        for index, value in enumerate(entry["values"]):
            if value is None:
                continue
            x = plot.left + index * group_width + group_width * 0.1 + series_index * bar_width
            y = to_y(_finite(value))
            parts.append(
                f'<rect x="{x:.1f}" y="{min(y, baseline):.1f}" width="{max(bar_width - 0.5, 0.5):.1f}" '
                f'height="{abs(baseline - y):.1f}" fill="{colour}"/>'
            )
    parts += _threshold_lines(thresholds=thresholds, plot=plot, to_y=to_y)
    parts.append(_frame(plot=plot))
    return _svg(width=width, height=height, title=title, parts=parts)


class _Plot:
    """The plotting rectangle inside the chart's margins, in SVG user units."""

    __slots__ = ("left", "top", "right", "bottom", "width", "height")

    def __init__(self, *, left: float, top: float, right: float, bottom: float) -> None:
        if right - left < 50 or bottom - top < 40:
            raise ValueError("chart too small for its title, legend and axes")
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.width, self.height = right - left, bottom - top


def _prepare_line_series(
    series: Sequence[Mapping],
) -> tuple[list[list[tuple[float, float | None]]], str, TzInfo | None]:
    """Convert each series to x-sorted (float, float | None) pairs and tell whether x holds datetimes."""
    kinds, tzinfo, prepared = set(), None, []
    for entry in series:
        points = []
        for x, y in entry["points"]:
            if isinstance(x, datetime):
                kinds.add("datetime")
                tzinfo = x.tzinfo
                x = x.timestamp()
            else:
                kinds.add("number")
                x = float(x)
            points.append((x, None if y is None or _is_nan(y) else _finite(y)))
        points.sort(key=lambda point: point[0])
        prepared.append(points)
    if len(kinds) > 1:
        raise ValueError("x values mix datetimes and numbers")
    return prepared, kinds.pop() if kinds else "number", tzinfo


def _is_nan(value: float) -> bool:
    """Tell whether a value is a float NaN, which numpy-produced series use for a missing hour."""
    return isinstance(value, float) and math.isnan(value)


def _finite(value: float) -> float:
    """Return value as a float, refusing infinities, which no axis can show."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"cannot plot {value!r}")
    return number


def _y_axis(
    *, values: Sequence[float], thresholds: Sequence[Mapping], y_range: tuple[float, float] | None, plot: _Plot,
    zero: bool,
) -> tuple[list[tuple[float, str]], float, float]:
    """Return the y ticks (value, label) and the axis bounds, widened to round numbers and to every threshold."""
    if y_range is not None:
        low, high = float(y_range[0]), float(y_range[1])
        if not low < high:
            raise ValueError("y_range must be (low, high) with low < high")
    else:
        # Thresholds belong on the axis even when the data stays far below them: the distance is the message.
        candidates = list(values) + [_finite(threshold["value"]) for threshold in thresholds]
        candidates += [0.0] if zero else []
        low, high = min(candidates), max(candidates)
        if low == high:
            low, high = low - (abs(low) * 0.1 or 1.0), high + (abs(high) * 0.1 or 1.0)
        step = _nice_step(high - low, max(2, int(plot.height // 30)))
        low, high = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
    return _labelled_number_ticks(low, high, max(2, int(plot.height // 30))), low, high


def _nice_step(span: float, max_ticks: int) -> float:
    """Return the smallest 1, 2, 2.5 or 5 times a power of ten that splits span into at most max_ticks steps."""
    raw = span / max_ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if span / (multiple * magnitude) <= max_ticks + 1e-9:
            return multiple * magnitude
    return 10 * magnitude


def _number_ticks(low: float, high: float, max_ticks: int) -> list[tuple[float, float]]:
    """Return (value, step) for each round-numbered tick between low and high."""
    step = _nice_step(high - low, max_ticks)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    # Multiplying the index (not adding steps) keeps 0.1 + 0.2 style errors out of the labels.
    return [(round(index * step, 12), step) for index in range(first, last + 1)]


def _labelled_number_ticks(low: float, high: float, max_ticks: int) -> list[tuple[float, str]]:
    """Return (value, label) for each round-numbered tick between low and high."""
    return [(value, _format_number(value, step)) for value, step in _number_ticks(low, high, max_ticks)]


def _format_number(value: float, step: float) -> str:
    """Format a tick value with as many decimals as its step needs, grouping thousands."""
    decimals = next(digits for digits in range(0, 12) if abs(round(step, digits) - step) <= abs(step) * 1e-9)
    text = f"{value:,.{decimals}f}"
    return "0" if text.strip("-0.,") == "" else text


def _max_ticks(plot: _Plot) -> int:
    """Return how many x labels fit side by side without touching."""
    return max(2, int(plot.width // MIN_TICK_SPACING))


def _date_ticks(*, t_min: float, t_max: float, tzinfo: TzInfo | None, max_ticks: int) -> list[tuple[float, str]]:
    """Return (timestamp, label) ticks on calendar boundaries (hours, days, months, years) in the data's zone."""
    span = t_max - t_min
    unit, count = next(
        ((unit, count) for unit, count in _DATE_STEPS if span / (_STEP_SECONDS[unit] * count) <= max_ticks),
        _DATE_STEPS[-1],
    )
    start = datetime.fromtimestamp(t_min, tzinfo)
    if unit == "hour":
        tick = start.replace(hour=start.hour - start.hour % count, minute=0, second=0, microsecond=0)
        label_format = "%H:%M" if span <= 86400 else "%m-%d %H:%M"
    elif unit == "day":
        tick = start.replace(hour=0, minute=0, second=0, microsecond=0)
        label_format = "%Y-%m-%d"
    elif unit == "month":
        tick = start.replace(month=start.month - (start.month - 1) % count, day=1, hour=0, minute=0, second=0,
                             microsecond=0)
        label_format = "%Y-%m"
    else:
        tick = start.replace(year=start.year - start.year % count, month=1, day=1, hour=0, minute=0, second=0,
                             microsecond=0)
        label_format = "%Y"
    ticks = []
    while tick.timestamp() <= t_max:
        if tick.timestamp() >= t_min:
            ticks.append((tick.timestamp(), tick.strftime(label_format)))
        tick = _advance(tick, unit=unit, count=count)
    return ticks


def _advance(moment: datetime, *, unit: str, count: int) -> datetime:
    """Return the next calendar tick; months and years step by the calendar, not by a fixed length."""
    if unit == "hour":
        return moment + timedelta(hours=count)
    if unit == "day":
        return moment + timedelta(days=count)
    months = moment.month - 1 + (count if unit == "month" else 12 * count)
    return moment.replace(year=moment.year + months // 12, month=months % 12 + 1)


def _time_axis_label(*, tzinfo: TzInfo | None, at: float) -> str:
    """Name the time axis with the zone its ticks are in, since reports are read across zones."""
    if tzinfo is None:
        return "time"
    return f"time ({datetime.fromtimestamp(at, tzinfo).tzname()})"


def _label_stride(*, categories: Sequence[str], group_width: float) -> int:
    """Return n so that labelling every n-th category keeps the labels from overlapping."""
    label_width = min(max(len(str(category)) for category in categories), 18) * CHAR_WIDTH + 6
    return max(1, math.ceil(label_width / group_width))


def _shorten(text: str, limit: int) -> str:
    """Cut a label to limit characters with an ellipsis, so one long category cannot push the rest off."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(*, width: int, height: int, title: str, parts: list[str]) -> SvgMarkup:
    """Wrap chart parts into a standalone SVG element with an accessible name."""
    name = escape(title, quote=True)
    return SvgMarkup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" font-family="{FONT_FAMILY}" font-size="{FONT_SIZE}" role="img" aria-label="{name}">'
        f"<title>{name}</title>" + "".join(parts) + "</svg>"
    )


def _title(*, title: str) -> str:
    """Return the chart's visible title."""
    return f'<text x="{MARGIN_LEFT}" y="13" font-size="11" font-weight="bold">{escape(title)}</text>'


def _legend(*, names: Sequence[str], width: int, top: float,
            shapes: Sequence[tuple[str, str]] = ()) -> tuple[int, list[str]]:
    """Return how many rows the legend takes and its swatches and names, wrapped to the chart width."""
    if len(names) + len(shapes) < 2:
        # One series is named by the title and the axis label; a legend would repeat them.
        return 0, []
    parts, x, row = [], float(MARGIN_LEFT), 0
    entries = [(name, None) for name in names] + list(shapes)
    for index, (name, shape) in enumerate(entries):
        label = _shorten(str(name), 40)
        item_width = 18 + len(label) * CHAR_WIDTH + 12
        if x + item_width > width - MARGIN_RIGHT and x > MARGIN_LEFT:
            x, row = float(MARGIN_LEFT), row + 1
        y = top + row * LEGEND_ROW_HEIGHT
        if shape is None:
            colour = PALETTE[index % len(PALETTE)]
            parts.append(f'<rect x="{x:.1f}" y="{y + 5:.1f}" width="14" height="3" fill="{colour}"/>')
        else:
            parts.append(_marker(shape, x + 7, y + 6.5, size=3.5))
        parts.append(f'<text x="{x + 18:.1f}" y="{y + 9:.1f}">{escape(label)}</text>')
        x += item_width
    return row + 1, parts


def _y_grid(
    *, ticks: list[tuple[float, str]], plot: _Plot, to_y: Callable[[float], float], y_label: str
) -> list[str]:
    """Return horizontal grid lines with their labels, and the rotated y-axis label."""
    parts = []
    for value, label in ticks:
        y = to_y(value)
        parts.append(
            f'<line x1="{plot.left}" y1="{y:.1f}" x2="{plot.right}" y2="{y:.1f}" stroke="#ddd" stroke-width="0.6"/>'
        )
        parts.append(f'<text x="{plot.left - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(label)}</text>')
    middle = (plot.top + plot.bottom) / 2
    parts.append(
        f'<text transform="translate(11 {middle:.1f}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts


def _x_axis(*, ticks: list[tuple[float, str]], plot: _Plot, x_label: str | None) -> list[str]:
    """Return x tick marks and labels at the given positions, and the axis label under them."""
    parts = []
    for x, label in ticks:
        parts.append(
            f'<line x1="{x:.1f}" y1="{plot.bottom}" x2="{x:.1f}" y2="{plot.bottom + 4}" stroke="#555" '
            f'stroke-width="0.6"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="{plot.bottom + 14}" text-anchor="middle">{escape(label)}</text>')
    if x_label:
        parts.append(
            f'<text x="{(plot.left + plot.right) / 2:.1f}" y="{plot.bottom + 28}" text-anchor="middle" '
            f'fill="#444">{escape(x_label)}</text>'
        )
    return parts


def _threshold_lines(*, thresholds: Sequence[Mapping], plot: _Plot, to_y: Callable[[float], float]) -> list[str]:
    """Return dashed horizontal lines for policy thresholds, each labelled at its right end."""
    parts = []
    for index, threshold in enumerate(thresholds):
        y = to_y(_finite(threshold["value"]))
        dash = THRESHOLD_DASHES[index % len(THRESHOLD_DASHES)]
        parts.append(
            f'<line x1="{plot.left}" y1="{y:.1f}" x2="{plot.right}" y2="{y:.1f}" stroke="#333" stroke-width="0.9" '
            f'stroke-dasharray="{dash}"/>'
        )
        parts.append(
            f'<text x="{plot.right - 3}" y="{y - 3:.1f}" text-anchor="end" fill="#333">'
            f'{escape(str(threshold["label"]))}</text>'
        )
    return parts


def _frame(*, plot: _Plot) -> str:
    """Return the plot's border, drawn last so lines at the edge do not cover it."""
    return (
        f'<rect x="{plot.left}" y="{plot.top}" width="{plot.width}" height="{plot.height}" fill="none" '
        f'stroke="#888" stroke-width="0.8"/>'
    )


def _empty_plot(*, plot: _Plot) -> list[str]:
    """Return a framed plot that says there is nothing to show, rather than an axis with no line."""
    return [
        _frame(plot=plot),
        f'<text x="{(plot.left + plot.right) / 2:.1f}" y="{(plot.top + plot.bottom) / 2:.1f}" '
        f'text-anchor="middle" fill="#555">No data in this period</text>',
    ]
