"""Reading measured power curves: the smallest shift share a window of a given size detects 90% of the time."""

from __future__ import annotations

import math
from collections.abc import Sequence


def smallest_detected_share(shares: Sequence[float], rates: Sequence[float], *, level: float = 0.9) -> float | None:
    """Smallest share at which the detection rate reaches `level`, interpolated linearly; None if never.

    Rates measured on a finite number of windows wobble, so the answer is the first crossing from below
    after which the curve stays at or above the level.
    """
    if len(shares) != len(rates) or not shares:
        raise ValueError("shares and rates must be non-empty and of the same length")
    points = sorted(zip(shares, rates, strict=True))
    last_below = None
    for index, (_, rate) in enumerate(points):
        if rate < level:
            last_below = index
    if last_below is None:
        return float(points[0][0])
    if last_below == len(points) - 1:
        return None
    (s0, r0), (s1, r1) = points[last_below], points[last_below + 1]
    return float(s0 + (level - r0) / (r1 - r0) * (s1 - s0))


def share_for_window(window_sizes: Sequence[int], shares: Sequence[float | None], size: int) -> float | None:
    """Interpolate the detectable share at `size` records, linearly in log(size) between measured sizes.

    Below the smallest measured size there is no honest answer (None); above the largest, the largest
    size's share is an upper bound, since power only grows with the window.
    """
    points = sorted(zip(window_sizes, shares, strict=True))
    if size < points[0][0]:
        return None
    if size >= points[-1][0]:
        return points[-1][1]
    for (n0, s0), (n1, s1) in zip(points, points[1:], strict=False):
        if n0 <= size <= n1:
            if s0 is None or s1 is None:
                # A size between a measured miss and a hit: only the larger window's share is safe to state.
                return None if s1 is None else (s1 if size == n1 else None)
            t = (math.log(size) - math.log(n0)) / (math.log(n1) - math.log(n0))
            return float(s0 + t * (s1 - s0))
    return None
