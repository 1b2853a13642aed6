"""Local two-sample test: do window texts crowd together where the baseline has few texts?

A linear classifier over 384 dimensions is weak against a small, tight cluster of new texts; a
test that looks locally is not. This is a nearest-neighbour two-sample test in the family of
Schilling (1986, JASA) and Henze (1988, Ann. Statist.), with a scan-type statistic: the number of
window texts whose own neighbourhood is mostly window. A new topic at 5% of a window shows up as
dozens of such texts at once, while under "no drift" they are scattered and few.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats

from monitoring.drift.sampling import PairedSample

# Neighbours per text. Measured on real sentence embeddings (2,000-record windows, 5% from the
# held-out topic closest to the baseline's, 48 windows): k = 10 detected 58% at alpha = 0.01, k = 15
# 81%, k = 20 75%, with at most one false alarm in 120 no-drift windows for each.
NEIGHBOURS = 15
# Label permutations for the null distribution of the statistic. The p-value is read from a gamma
# distribution with the permutations' mean and variance: an empirical p-value is floored at
# 1/(P + 1), above a run's Holm-adjusted alpha, and the statistic (a count of rare events that
# come in clumps) is right-skewed, so a normal tail is too light. Measured on 200 no-drift windows
# per repeat scenario: normal tail 1.5-3% below 0.01, gamma tail 0.5-1.5%. Five hundred
# permutations pin the mean and variance down to a few percent, which moves p-values near 0.01 by
# less than 0.002.
PERMUTATIONS = 500
# A neighbourhood counts as window-heavy when so many window texts would occur by chance in at
# most this share of neighbourhoods.
HEAVY_TAIL = 0.05
# Texts seen on one side only that the test looks at, per side: the neighbour search is quadratic.
# With 2,500 a 5,000-record window of all-distinct prompts and responses took 8 s on two busy cores
# (benchmarks/drift_run.py). The test pool's repeating traffic stays far below the cap (300-400 such
# texts per side in 2,000-record windows, 200-350 in 5,000-record ones); diverse traffic reaches it.
MAX_TEXTS_PER_SIDE = 1200
# Rows of the similarity matrix computed at once: memory stays below ~40 MB for 5,000 texts.
CHUNK = 1024
# Label permutations scored at once: a (block, texts) label matrix of a few megabytes.
PERMUTATION_BLOCK = 250


@dataclass(frozen=True)
class LocalResult:
    """The local test's outcome and the window texts that sit in window-heavy neighbourhoods."""

    statistic: float
    z: float
    p_value: float
    null_mean: float
    null_sd: float
    heavy_rows: np.ndarray  # window-side positions (into the sample's window texts) that are flagged
    excess_share: float  # flagged window texts beyond chance, as a share of the window's distinct texts


def _unit(x: np.ndarray) -> np.ndarray:
    """Float32 unit-length rows."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def neighbours(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of each row's k nearest other rows by cosine similarity, shape (n, k)."""
    n = len(x)
    k = min(k, n - 1)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, CHUNK):
        block = x[start:start + CHUNK] @ x.T
        # A text is not its own neighbour.
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        part = np.argpartition(-block, k - 1, axis=1)[:, :k]
        out[start:start + CHUNK] = part
    return out


def _heavy_threshold(size: int, rate: float) -> int:
    """Smallest window count in a neighbourhood of `size` that chance reaches at most HEAVY_TAIL of the time."""
    counts = np.arange(size + 1)
    tail = stats.binom.sf(counts - 1, size, rate)
    return int(counts[np.argmax(tail <= HEAVY_TAIL)]) if np.any(tail <= HEAVY_TAIL) else size


def local_two_sample_test(
    baseline: np.ndarray,
    window: np.ndarray,
    sample: PairedSample,
    *,
    k: int = NEIGHBOURS,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
) -> LocalResult:
    """Count window texts in window-heavy neighbourhoods and test the count against label permutations.

    Runs on the texts seen on one side only of a balanced, collapsed sample (as the classifier
    test does): a text on both sides says nothing about which side is which, and each distinct
    text counts once, so FAQ repeats and retry bursts cannot inflate the statistic. The null
    permutes side labels among those texts, which keeps the test valid when the two sides hold
    different numbers of them (a baseline without repeats has many more distinct texts).
    """
    b, w = sample.baseline, sample.window
    shared = np.intersect1d(b.groups, w.groups, assume_unique=True)
    b_only = np.flatnonzero(~np.isin(b.groups, shared))
    w_only = np.flatnonzero(~np.isin(w.groups, shared))
    rng = np.random.default_rng(seed)
    if len(b_only) > MAX_TEXTS_PER_SIDE:
        b_only = np.sort(rng.choice(b_only, MAX_TEXTS_PER_SIDE, replace=False))
    if len(w_only) > MAX_TEXTS_PER_SIDE:
        w_only = np.sort(rng.choice(w_only, MAX_TEXTS_PER_SIDE, replace=False))
    n = len(b_only) + len(w_only)
    if len(w_only) < 2 or len(b_only) < 2 or n <= k + 1:
        return LocalResult(0.0, 0.0, 1.0, 0.0, 0.0, np.zeros(0, dtype=np.int64), 0.0)
    x = _unit(np.concatenate([baseline[b.rows[b_only]], window[w.rows[w_only]]]))
    is_window = np.concatenate([np.zeros(len(b_only), dtype=bool), np.ones(len(w_only), dtype=bool)])
    hood = np.column_stack([np.arange(n), neighbours(x, k)])
    size = hood.shape[1]
    rate = len(w_only) / n
    threshold = _heavy_threshold(size, rate)

    # The neighbourhood matrix: row i has a one at each member of text i's neighbourhood (itself included),
    # so one sparse product gives the window count of every neighbourhood under many labellings at once.
    members = sparse.csr_matrix(
        (np.ones(hood.size, dtype=np.float32), hood.ravel(), np.arange(0, hood.size + 1, size)), shape=(n, n)
    )

    def statistic(labels: np.ndarray) -> np.ndarray:
        """Window texts with a window-heavy neighbourhood, for each row of a (P, n) label matrix."""
        counts = np.asarray(members @ labels.T.astype(np.float32)).T
        return ((counts >= threshold) & labels).sum(axis=1)

    observed_heavy = (is_window[hood].sum(axis=1) >= threshold) & is_window
    observed = float(observed_heavy.sum())
    null = np.empty(permutations, dtype=np.float64)
    for start in range(0, permutations, PERMUTATION_BLOCK):
        stop = min(permutations, start + PERMUTATION_BLOCK)
        labels = rng.permuted(np.tile(is_window, (stop - start, 1)), axis=1)
        null[start:stop] = statistic(labels)
    mean, sd = float(null.mean()), float(null.std(ddof=1))
    z = (observed - mean) / sd if sd > 0 else 0.0
    if sd > 0 and mean > 0:
        p_value = float(stats.gamma.sf(observed, mean * mean / sd**2, scale=sd**2 / mean))
    else:
        # A constant null: every permutation gave the same count, so only a larger count is evidence.
        p_value = 1.0 if observed <= mean else 1.0 / (permutations + 1)
    heavy_rows = w_only[observed_heavy[len(b_only):]]
    excess = max(0.0, observed - mean) / max(len(w.rows), 1)
    return LocalResult(observed, float(z), p_value, mean, sd, heavy_rows, float(excess))
