"""Balanced subsampling and duplicate collapsing shared by the two-sample tests."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats


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


# Window counts below which a text on both sides takes part in the balance of _sets_sample; one seen more often
# stays shared. The series of -(e^x - 1) / (e^(rho x) - 1) that an exact balance needs converges only for
# |x| < 2 pi / rho and its cut leaves the sides 0.006 texts apart per text at x = 4 (rho = 1.5); six terms fitted
# over x in [0, 40] leave them 1e-5 apart at most, for rho up to 1.8 (5e-5).
BALANCE_TERMS = 6
# Expected window counts the fit covers: past 40 a text is on both sides with probability 1 - e^-60 and seen
# fewer than six times with probability 1e-11.
_BALANCE_GRID = np.concatenate([np.linspace(0.0, 2.0, 81)[1:], np.linspace(2.0, 40.0, 320)[1:]])


def both_sides_balance(rho: float, terms: int = BALANCE_TERMS) -> np.ndarray:
    """Probabilities d_y (y = 0 .. terms - 1) with which texts on both sides are dealt to one side, for 1 < rho.

    Every window text the baseline lacks is kept as window-only. For the two sides to hold one-side texts
    with the same probability whatever a text's popularity (its expected window count x, the baseline's
    presence 1 - e^(-rho x) under Poisson sampling), a text on both sides seen y times in the window counts
    as window-only with probability d_y (d_y > 0) or as baseline-only with probability -d_y (d_y < 0); d_0
    is for a baseline text the window lacks. Exactly, sum_y d_y x^y / y! = -(e^x - 1) / (e^(rho x) - 1),
    whose coefficients grow past one; the d_y here minimise the largest gap between the sides over x.
    """
    return _balance(round(float(rho), 4), int(terms)).copy()


@lru_cache(maxsize=256)
def _balance(rho: float, terms: int) -> np.ndarray:
    """The minimax fit of `both_sides_balance`, as a linear programme over the grid of expected counts."""
    x = _BALANCE_GRID
    # Per text of expected count x: window-only texts the baseline lacks (all kept) less the balance's dealing.
    window_only = np.exp(-rho * x) * (1.0 - np.exp(-x))
    dealt = (1.0 - np.exp(-rho * x))[:, None] * stats.poisson.pmf(np.arange(terms)[None, :], x[:, None])
    ones = np.ones((len(x), 1))
    # Minimise t subject to -t <= window_only + dealt @ d <= t and -1 <= d <= 1.
    result = optimize.linprog(
        np.r_[np.zeros(terms), 1.0],
        A_ub=np.vstack([np.hstack([dealt, -ones]), np.hstack([-dealt, -ones])]),
        b_ub=np.r_[-window_only, window_only],
        bounds=[(-1.0, 1.0)] * terms + [(0.0, None)],
        method="highs",
    )
    if not result.success:
        raise RuntimeError(f"no balance for a records ratio of {rho}: {result.message}")
    return np.asarray(result.x[:terms])


def _sets_sample(
    baseline_groups: np.ndarray, window_groups: np.ndarray, *, max_per_side: int, rng: np.random.Generator
) -> PairedSample:
    """Compare a baseline of distinct texts with a window on the same footing: sets of texts.

    A baseline stored with each text once is the set of distinct texts of some traffic of unknown
    size N. Whether a text is in it depends on how popular it is, 1 - (1 - p)^N, so it cannot be
    compared with the window's records, nor with the distinct texts of the window's n records: the
    texts seen on one side only then lean to the rare ones on one side, and the tests measured
    3% of no-drift windows below 0.01 instead of 1% (tests/monitoring/drift/test_drift_error_rates.py).
    Here rho = N / n is estimated from the baseline's size and the window's repeats (Good-Toulmin).

    Where the baseline stands for more traffic than the window (1 < rho < MAX_RECORDS_RATIO), every
    window text the baseline lacks is kept, so a new topic loses none of its texts, and texts on both
    sides are dealt to one side or kept as shared with the probabilities of `both_sides_balance`. Else a
    window text seen y times is kept with probability (1 - (1 - rho)^y) / max(1, rho) and each baseline
    text with probability 1 / max(1, rho). Either way a text seen on one side only is on either side
    with probability one half, whatever its popularity: the null every test here assumes.
    """
    unique, first, counts = np.unique(window_groups, return_index=True, return_counts=True)
    n_baseline = len(baseline_groups)
    rho = records_ratio(counts, n_baseline)
    if 1.0 < rho < MAX_RECORDS_RATIO:
        return _balanced_sets(baseline_groups, unique, first, counts, rho, max_per_side=max_per_side, rng=rng)
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
    return _texts_once(baseline_groups, kept_baseline, unique, first, kept_window, rho)


def _balanced_sets(
    baseline_groups: np.ndarray, unique: np.ndarray, first: np.ndarray, counts: np.ndarray, rho: float, *,
    max_per_side: int, rng: np.random.Generator,
) -> PairedSample:
    """The sets of `_sets_sample` for 1 < rho: window-only texts all kept, texts on both sides dealt by the balance."""
    n_baseline = len(baseline_groups)
    in_baseline = np.isin(unique, baseline_groups)
    balance = both_sides_balance(rho)
    # Texts on both sides seen more often than the balance's terms stay shared (d = 0).
    d = np.zeros(len(unique))
    both = np.flatnonzero(in_baseline & (counts < len(balance)))
    d[both] = balance[counts[both]]
    draw = rng.random(len(unique))
    to_window = in_baseline & (draw < d)  # window-only: dropped from the baseline's side
    to_baseline = in_baseline & (draw < -d)  # baseline-only: dropped from the window's side
    baseline_only = ~np.isin(baseline_groups, unique)
    expected_size = max(float(np.sum(~to_baseline)),
                        float(np.sum(in_baseline & ~to_window)) + float(np.sum(baseline_only)) * -balance[0])
    # Thinning every text alike keeps the balance while bounding the sample's size; a text on both sides is
    # kept or dropped on both at once, else the thinning would turn it one-side.
    cap = min(1.0, max_per_side / expected_size) if expected_size > 0 else 1.0
    survives = rng.random(len(unique)) < cap
    kept_window = ~to_baseline & survives
    # The baseline's side: a text the window lacks with probability 1 / rho, and shared texts left on it.
    dealt_away = unique[(to_window | ~survives) & in_baseline]
    keep_baseline = np.where(baseline_only, rng.random(n_baseline) < -balance[0] * cap,
                             ~np.isin(baseline_groups, dealt_away))
    return _texts_once(baseline_groups, np.flatnonzero(keep_baseline), unique, first, kept_window, rho)


def _texts_once(
    baseline_groups: np.ndarray, kept_baseline: np.ndarray, unique: np.ndarray, first: np.ndarray,
    kept_window: np.ndarray, rho: float,
) -> PairedSample:
    """The PairedSample of kept texts, each counted once on each side it is on."""
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
