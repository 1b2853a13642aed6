"""Multiple-testing correction."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float], weights: Sequence[float] | None = None) -> list[float]:
    """Holm's step-down adjusted p-values, in the input order, optionally weighted (Holm 1979, Scand. J. Statist.).

    With weights, hypothesis i is tested at alpha * w_i / (sum of the weights still in play), in the order of
    p_i / w_i: the weighted Holm procedure of the same paper, which controls the family-wise error rate at
    alpha under any dependence for weights fixed before the data are seen. Equal weights give plain Holm.
    """
    # Holm rather than Bonferroni: it controls the family-wise error rate under any dependence
    # between the signals (prompt and response drift are clearly dependent) and is uniformly more
    # powerful than Bonferroni.
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("p_values must be a flat sequence")
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    m = len(p)
    if m == 0:
        return []
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != p.shape:
        raise ValueError("weights must hold one weight per p-value")
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise ValueError("weights must be positive")
    order = np.argsort(p / w, kind="mergesort")
    # Weight still in play at each step: the step's own hypothesis and every one after it.
    remaining = np.cumsum(w[order][::-1])[::-1]
    stepped = p[order] * remaining / w[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(stepped), 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return adjusted.tolist()
