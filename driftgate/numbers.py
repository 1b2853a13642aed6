"""Numbers as a reader of a report or page wants them: p-values as "< 0.001" or three significant digits,
effects and statistics to three significant digits, shares as percentages; long floats stay in the data."""
import math

P_FLOOR = 0.001


def p_text(value: float | None) -> str:
    """Return a p-value for people: "< 0.001" below the floor, else three significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if value < P_FLOOR:
        return f"< {P_FLOOR:g}"
    return significant(value)


def significant(value: float | int | None, digits: int = 3) -> str:
    """Return a number to `digits` significant digits in plain notation (no exponent for everyday magnitudes)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 10 ** (digits - 1):
        return f"{int(round(value)):,}"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -6 or magnitude >= 9:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def percent(value: float | None) -> str:
    """Return a share as a percentage with three significant digits at most ("12.3%", "0.52%")."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    scaled = value * 100
    if scaled == 0:
        return "0%"
    decimals = min(4, max(0, 2 - math.floor(math.log10(abs(scaled)))))
    return f"{scaled:.{decimals}f}%"
