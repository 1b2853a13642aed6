"""Balanced subsampling and duplicate collapsing shared by the two-sample tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CollapsedSide:
    """The distinct texts of one side of a comparison, each with its record count."""

    rows: np.ndarray  # index into the side's original arrays of one record per distinct text
    groups: np.ndarray  # text group id per distinct text
    counts: np.ndarray  # records of that text on this side (after subsampling)


@dataclass(frozen=True)
class PairedSample:
    """A balanced, duplicate-collapsed baseline/window pair ready for a two-sample test."""

    baseline: CollapsedSide
    window: CollapsedSide
    n_records: int  # records per side after balancing (texts per side when `texts_once`)
    # The baseline held each text once, so both sides were compared as sets of texts (see _sets_sample).
    texts_once: bool = False
    records_ratio: float = 1.0  # estimated baseline source records per window record (sets only)


def as_groups(groups: np.ndarray | None, embeddings: np.ndarray) -> np.ndarray:
    """Return int64 text groups; without explicit groups, identical embedding rows form a group."""
    if groups is not None:
        groups = np.asarray(groups, dtype=np.int64)
        if groups.shape != (embeddings.shape[0],):
            raise ValueError("groups must hold one id per embedding row")
        return groups
    # An embedding model is deterministic, so identical texts give byte-identical rows.
    contiguous = np.ascontiguousarray(embeddings)
    view = contiguous.view(np.dtype((np.void, contiguous.dtype.itemsize * contiguous.shape[1])))
    _, inverse = np.unique(view.ravel(), return_inverse=True)
    return inverse.astype(np.int64)


def collapse(groups: np.ndarray, rows: np.ndarray) -> CollapsedSide:
    """Collapse the records `rows` (with text ids `groups[rows]`) to one entry per distinct text."""
    unique, first, counts = np.unique(groups[rows], return_index=True, return_counts=True)
    return CollapsedSide(rows=rows[first], groups=unique, counts=counts.astype(np.int64))


def paired_sample(
    baseline_groups: np.ndarray,
    window_groups: np.ndarray,
    *,
    max_per_side: int,
    rng: np.random.Generator,
) -> PairedSample:
    """Draw the same number of records from each side, then collapse duplicates within each side.

    Balancing *records* before collapsing matters: the number of distinct texts in a sample grows
    sub-linearly with its size when traffic repeats, so only equal-sized samples have the same
    distribution of distinct texts under "no drift". Collapsing then counts each text once per side,
    which keeps the tests calibrated when texts repeat and neutralises bursts of retries.

    A baseline that holds each text once has no record counts to balance; `_sets_sample` then puts
    the two sides on the same footing as sets of texts.
    """
    if len(baseline_groups) >= 2 and np.unique(baseline_groups).size == len(baseline_groups):
        return _sets_sample(baseline_groups, window_groups, max_per_side=max_per_side, rng=rng)
    n = int(min(len(baseline_groups), len(window_groups), max_per_side))
    if n < 2:
        raise ValueError("each side needs at least two records")
    window_rows = np.sort(rng.choice(len(window_groups), n, replace=False))
    baseline_rows = np.sort(rng.choice(len(baseline_groups), n, replace=False))
    return PairedSample(
        baseline=collapse(baseline_groups, baseline_rows),
        window=collapse(window_groups, window_rows),
        n_records=n,
    )


# Good-Toulmin's series for the distinct texts of rho times the window's records converges for rho <= 2
# (Good & Toulmin 1956, Biometrika; Orlitsky, Suresh & Wu 2016, PNAS): past that, no unbiased thinning
# of the window reaches the baseline's footing.
MAX_RECORDS_RATIO = 2.0


def expected_distinct(window_counts: np.ndarray, rho: float) -> float:
    """Distinct texts expected in rho times the window's records, from the window's text counts.

    A text seen y times in the window appears in a sample of rho times as many records with
    probability estimated without bias by 1 - (1 - rho)^y (Poisson sampling; for rho <= 1 it is
    exactly the chance that one of its y records survives thinning at rate rho).
    """
    values, multiplicity = np.unique(np.asarray(window_counts, dtype=np.float64), return_counts=True)
    return _expected_distinct(values, multiplicity, rho)


def _expected_distinct(values: np.ndarray, multiplicity: np.ndarray, rho: float) -> float:
    """expected_distinct over the histogram of the counts: `multiplicity` texts seen `values` times."""
    return float(np.sum(multiplicity * (1.0 - (1.0 - rho) ** values)))


def records_ratio(window_counts: np.ndarray, baseline_texts: int) -> float:
    """Solve expected_distinct(window_counts, rho) = baseline_texts for rho in (0, MAX_RECORDS_RATIO]."""
    # Texts share few distinct counts (most are seen once or twice), so the bisection's 40 sums run over
    # the counts' histogram rather than over every text.
    values, multiplicity = np.unique(np.asarray(window_counts, dtype=np.float64), return_counts=True)
    if _expected_distinct(values, multiplicity, MAX_RECORDS_RATIO) <= baseline_texts:
        return MAX_RECORDS_RATIO
    low, high = 0.0, MAX_RECORDS_RATIO
    # Increasing in rho wherever singletons dominate, which any window whose distinct texts outnumber
    # half a baseline of distinct texts has; bisection finds the root in 40 halvings.
    for _ in range(40):
        middle = 0.5 * (low + high)
        if _expected_distinct(values, multiplicity, middle) < baseline_texts:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def _sets_sample(
    baseline_groups: np.ndarray, window_groups: np.ndarray, *, max_per_side: int, rng: np.random.Generator
) -> PairedSample:
    """Compare a baseline of distinct texts with a window on the same footing: sets of texts.

    A baseline stored with each text once is the set of distinct texts of some traffic of unknown
    size N. Whether a text is in it depends on how popular it is, 1 - (1 - p)^N, so it cannot be
    compared with the window's records, nor with the distinct texts of the window's n records: the
    texts seen on one side only then lean to the rare ones on one side, and the tests measured
    3% of no-drift windows below 0.01 instead of 1% (tests/monitoring/drift/test_drift_error_rates.py).
    Here rho = N / n is estimated from the baseline's size and the window's repeats (Good-Toulmin),
    a window text seen y times is kept with probability (1 - (1 - rho)^y) / max(1, rho), and each
    baseline text with probability 1 / max(1, rho). Both sides then hold each text with the same
    probability, whatever its popularity, so a text seen on one side only is on either side with
    probability one half: the null every test here assumes. Each text counts once on both sides.
    """
    unique, first, counts = np.unique(window_groups, return_index=True, return_counts=True)
    n_baseline = len(baseline_groups)
    rho = records_ratio(counts, n_baseline)
    window_keep = 1.0 - (1.0 - rho) ** counts.astype(np.float64)
    expected_window = float(window_keep.sum())
    # Past MAX_RECORDS_RATIO the window cannot be lifted to the baseline's footing; the baseline is then
    # thinned to the same expected size, which still balances the texts that were seen once.
    scale = max(1.0, rho)
    baseline_keep = min(1.0, expected_window / n_baseline) / scale
    window_keep = window_keep / scale
    expected_size = expected_window / scale
    cap = min(1.0, max_per_side / expected_size) if expected_size > 0 else 1.0
    kept_window = rng.random(len(unique)) < window_keep * cap
    kept_baseline = np.flatnonzero(rng.random(n_baseline) < baseline_keep * cap)
    if kept_window.sum() < 2 or len(kept_baseline) < 2:
        raise ValueError("each side needs at least two records")
    order = np.argsort(baseline_groups[kept_baseline], kind="mergesort")
    baseline_rows = kept_baseline[order]
    window_rows = first[kept_window]
    return PairedSample(
        baseline=CollapsedSide(rows=baseline_rows, groups=baseline_groups[baseline_rows],
                               counts=np.ones(len(baseline_rows), dtype=np.int64)),
        window=CollapsedSide(rows=window_rows, groups=unique[kept_window],
                             counts=np.ones(len(window_rows), dtype=np.int64)),
        n_records=int(max(len(baseline_rows), len(window_rows))),
        texts_once=True,
        records_ratio=float(rho),
    )
