"""Baseline K-means clusters, novelty radii and the cluster-occupancy chi-square test."""

from __future__ import annotations

import numpy as np
from scipy import stats
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from monitoring.drift.sampling import as_groups, collapse, paired_sample
from monitoring.drift.types import ClusterModel

# Fewer fitted texts per cluster than this and a cluster's scale (median distance) is noise.
MIN_TEXTS_PER_CLUSTER = 20
# Cochran's rule for the chi-square approximation: expected counts of at least 5 per cell.
MIN_EXPECTED = 5.0


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Return float32 rows scaled to unit length (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)


def nearest_centroid(clusters: ClusterModel, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's nearest cluster and its Euclidean distance to that centroid."""
    x = unit_rows(embeddings)
    similarity = x @ clusters.centroids.T
    nearest = np.argmax(similarity, axis=1)
    # For unit vectors |x - c|^2 = 2 - 2 cos(x, c); clip the rounding below zero.
    best = similarity[np.arange(len(x)), nearest].astype(np.float64)
    return nearest, np.sqrt(np.clip(2.0 - 2.0 * best, 0.0, None))


def fit_clusters(
    embeddings: np.ndarray,
    *,
    k: int = 32,
    holdout_fraction: float = 0.2,
    seed: int = 0,
    level: float = 0.99,
    groups: np.ndarray | None = None,
    max_fit: int = 10_000,
) -> ClusterModel:
    """Fit K-means on a baseline and set per-cluster novelty radii on held-out baseline texts.

    k = 32 keeps about 150 window records per cluster for a 5,000-record window, so the
    chi-square cells stay well filled, and DESIGN.md measured similar sensitivity for k = 10-60.
    Duplicates are collapsed first (FAQ prompts would otherwise pull centroids) and the holdout is
    split by text, so no held-out text was seen by K-means and its distance is honest.
    """
    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError("holdout_fraction must be between 0 and 1")
    if not 0.5 < level < 1.0:
        raise ValueError("level must be between 0.5 and 1")
    x = unit_rows(embeddings)
    groups = as_groups(groups, x)
    distinct = collapse(groups, np.arange(len(x)))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(distinct.rows))
    n_holdout = int(round(holdout_fraction * len(order)))
    fit_rows = distinct.rows[order[n_holdout:]]
    holdout_rows = distinct.rows[order[:n_holdout]]
    k = int(min(k, len(fit_rows) // MIN_TEXTS_PER_CLUSTER))
    if k < 2 or n_holdout < 20:
        raise ValueError("baseline too small: need at least 40 distinct texts to fit and 20 to hold out")

    kmeans = KMeans(n_clusters=k, n_init=2, max_iter=100, random_state=int(rng.integers(2**31)))
    # K-means on a sample of the distinct texts: 32 centroids in 384 dimensions are pinned down by
    # 10,000 texts, and fitting all of a 50,000-record baseline took 34 s of the minute a freeze may
    # take on two busy cores. Measured on 50,000 distinct embeddings: the sampled fit's inertia over
    # all texts is within 1% of the full fit's (benchmarks/baseline_freeze.py).
    sample_rows = fit_rows
    if len(fit_rows) > max_fit:
        sample_rows = fit_rows[np.sort(rng.choice(len(fit_rows), max_fit, replace=False))]
    # One thread for BLAS and for OpenMP alike: scikit-learn's Lloyd iterations run on OpenMP threads,
    # which on two busy cores spin against each other. Measured on 1,200 distinct embeddings (k = 32,
    # two inits) at load 9: 1.45 s with OpenMP's default threads, 0.40 s with one.
    with threadpool_limits(limits=1):
        kmeans.fit(x[sample_rows])
    model = ClusterModel(
        centroids=unit_rows(kmeans.cluster_centers_),
        radii=np.ones(k),
        counts=np.zeros(k, dtype=np.int64),
    )

    # Per-cluster scale from the many fitted texts, one global quantile from the held-out texts:
    # a per-cluster 99th percentile of ~20 held-out points would be the maximum and exceeded ~5%
    # of the time. This is split conformal prediction (Vovk et al. 2005; Lei et al. 2018, JASA)
    # with a cluster-normalised score.
    fit_nearest, fit_distance = nearest_centroid(model, x[fit_rows])
    scale = np.array(
        [np.median(fit_distance[fit_nearest == j]) if np.any(fit_nearest == j) else np.median(fit_distance) for j in range(k)]
    )
    scale = np.maximum(scale, 1e-6)
    hold_nearest, hold_distance = nearest_centroid(model, x[holdout_rows])
    normalised = np.sort(hold_distance / scale[hold_nearest])
    rank = min(int(np.ceil((n_holdout + 1) * level)), n_holdout)
    threshold = float(normalised[rank - 1])
    all_nearest, _ = nearest_centroid(model, x)
    return ClusterModel(
        centroids=model.centroids,
        radii=threshold * scale,
        counts=np.bincount(all_nearest, minlength=k).astype(np.int64),
        holdout_size=n_holdout,
        holdout_outside=int(np.sum(normalised > threshold)),
    )


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence in bits (0 = same, 1 = disjoint) of two count vectors."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        """Kullback-Leibler divergence of a from the mixture, in bits."""
        mask = a > 0
        return float(np.sum(a[mask] * np.log2(a[mask] / m[mask])))

    return max(0.0, 0.5 * kl(p) + 0.5 * kl(q))


def _pooled_columns(table: np.ndarray) -> np.ndarray:
    """Merge sparse clusters into one column until every expected cell count reaches 5."""
    table = table[:, table.sum(axis=0) > 0]
    order = np.argsort(table.sum(axis=0))
    row_share = table.sum(axis=1) / table.sum()
    for cut in range(table.shape[1]):
        small, kept = order[:cut], order[cut:]
        merged = np.column_stack([table[:, kept], table[:, small].sum(axis=1)]) if cut else table
        merged = merged[:, merged.sum(axis=0) > 0]
        expected = np.outer(row_share, merged.sum(axis=0))
        if expected.min() >= MIN_EXPECTED:
            return merged
    return table.sum(axis=1, keepdims=True)


def _chi_square(table: np.ndarray) -> tuple[float, float, int]:
    """Pearson chi-square test of homogeneity on a 2 x k table: (statistic, p-value, dof)."""
    pooled = _pooled_columns(table)
    if pooled.shape[1] < 2 or np.any(pooled.sum(axis=1) == 0):
        return 0.0, 1.0, 0
    statistic, p_value, dof, _ = stats.chi2_contingency(pooled, correction=False)
    return float(statistic), float(p_value), int(dof)


# Label permutations behind the repeat-robust chi-square's p-value (see _permutation_chi_square).
CHI2_PERMUTATIONS = 300


def _pool_map(column_totals: np.ndarray, row_share: np.ndarray) -> np.ndarray:
    """Map each cluster to a pooled column, merging the sparsest until every expected count reaches 5."""
    k = len(column_totals)
    order = np.argsort(column_totals, kind="mergesort")
    for cut in range(k):
        mapping = np.empty(k, dtype=np.int64)
        kept = order[cut:]
        mapping[kept] = np.arange(len(kept))
        mapping[order[:cut]] = len(kept)
        pooled = np.bincount(mapping, weights=column_totals, minlength=len(kept) + 1)
        pooled = pooled[pooled > 0]
        if np.outer(row_share, pooled).min() >= MIN_EXPECTED:
            return mapping
    return np.zeros(k, dtype=np.int64)


def _permutation_chi_square(
    clusters_of: np.ndarray, is_window: np.ndarray, k: int, rng: np.random.Generator
) -> tuple[float, float, int]:
    """Chi-square of a 2 x k occupancy table, its p-value from permutations of the side labels.

    The labels of texts seen on one side only are exchangeable under "no drift", so permuting them
    gives the statistic's exact null; the asymptotic chi-square tail was measured too liberal on
    FAQ-heavy traffic (2.5% of 200 no-drift windows below 0.01). As for the local test, the p-value
    is read from a gamma distribution with the permutations' mean and variance (the chi-square
    family is gamma), so it is not floored at 1/(P + 1).
    """
    if is_window.all() or not is_window.any():
        return 0.0, 1.0, 0
    totals = np.bincount(clusters_of, minlength=k).astype(np.float64)
    n_window = int(is_window.sum())
    row_share = np.array([len(is_window) - n_window, n_window], dtype=np.float64) / len(is_window)
    mapping = _pool_map(totals, row_share)
    cells = int(mapping.max()) + 1
    pooled_of = mapping[clusters_of]
    column = np.bincount(pooled_of, minlength=cells).astype(np.float64)
    if np.count_nonzero(column) < 2:
        return 0.0, 1.0, 0
    nonzero = column > 0
    expected_window = column[nonzero] * row_share[1]
    expected_baseline = column[nonzero] * row_share[0]

    def statistic(window_counts: np.ndarray) -> np.ndarray:
        """Pearson chi-square for each row of window counts (the baseline row follows from the margins)."""
        w = window_counts[..., nonzero]
        b = column[nonzero] - w
        return (((w - expected_window) ** 2) / expected_window + ((b - expected_baseline) ** 2) / expected_baseline).sum(
            axis=-1
        )

    observed = float(statistic(np.bincount(pooled_of[is_window], minlength=cells).astype(np.float64)))
    # Window counts of all permutations at once: a (P, n) label matrix times the (n, cells) one-hot
    # cluster matrix, in blocks so memory stays small.
    one_hot = np.zeros((len(pooled_of), cells), dtype=np.float32)
    one_hot[np.arange(len(pooled_of)), pooled_of] = 1.0
    null = np.empty(CHI2_PERMUTATIONS)
    for start in range(0, CHI2_PERMUTATIONS, 200):
        stop = min(CHI2_PERMUTATIONS, start + 200)
        labels = rng.permuted(np.tile(is_window, (stop - start, 1)), axis=1).astype(np.float32)
        null[start:stop] = statistic((labels @ one_hot).astype(np.float64))
    mean, variance = float(null.mean()), float(null.var(ddof=1))
    dof = int(np.count_nonzero(nonzero)) - 1
    if mean <= 0 or variance <= 0:
        return observed, 1.0, dof
    p_value = float(stats.gamma.sf(observed, mean * mean / variance, scale=variance / mean))
    return observed, p_value, dof


def cluster_occupancy_test(
    clusters: ClusterModel,
    window: np.ndarray,
    *,
    window_groups: np.ndarray | None = None,
    baseline: np.ndarray | None = None,
    baseline_groups: np.ndarray | None = None,
    max_per_side: int = 5000,
    seed: int = 0,
) -> dict:
    """Chi-square test of whether the window fills the baseline's clusters in other proportions.

    With baseline rows, both sides are balanced and collapsed exactly as for the classifier test
    (same seed, same sample), the test runs on texts seen on one side only (fair coins under "no
    drift", so repeats and retry bursts cannot inflate it), and the JS divergence compares the
    distinct-text occupancy of the two sides. Without baseline rows it falls back to the frozen
    record counts; that is valid only for independent records, so callers should pass the rows.
    """
    if baseline is None:
        window_nearest, _ = nearest_centroid(clusters, window)
        window_counts = np.bincount(window_nearest, minlength=clusters.k)
        table = np.vstack([clusters.counts, window_counts])
        statistic, p_value, dof = _chi_square(table)
        return {
            "chi2": statistic,
            "p_value": p_value,
            "dof": dof,
            "js_divergence": js_divergence(clusters.counts, window_counts),
            "baseline_counts": clusters.counts.astype(int).tolist(),
            "window_counts": window_counts.astype(int).tolist(),
            "repeat_robust": False,
        }

    baseline_groups = as_groups(baseline_groups, baseline)
    window_groups = as_groups(window_groups, window)
    rng = np.random.default_rng(seed)
    sample = paired_sample(baseline_groups, window_groups, max_per_side=max_per_side, rng=rng)
    b, w = sample.baseline, sample.window
    b_nearest, _ = nearest_centroid(clusters, baseline[b.rows])
    w_nearest, _ = nearest_centroid(clusters, window[w.rows])
    shared = np.intersect1d(b.groups, w.groups, assume_unique=True)
    b_only = ~np.isin(b.groups, shared)
    w_only = ~np.isin(w.groups, shared)
    statistic, p_value, dof = _permutation_chi_square(
        np.concatenate([b_nearest[b_only], w_nearest[w_only]]),
        np.concatenate([np.zeros(int(b_only.sum()), dtype=bool), np.ones(int(w_only.sum()), dtype=bool)]),
        clusters.k,
        rng,
    )
    baseline_counts = np.bincount(b_nearest, minlength=clusters.k)
    window_counts = np.bincount(w_nearest, minlength=clusters.k)
    return {
        "chi2": statistic,
        "p_value": p_value,
        "dof": dof,
        "js_divergence": js_divergence(baseline_counts, window_counts),
        "js_divergence_records": js_divergence(
            np.bincount(b_nearest, weights=b.counts, minlength=clusters.k),
            np.bincount(w_nearest, weights=w.counts, minlength=clusters.k),
        ),
        "baseline_counts": baseline_counts.astype(int).tolist(),
        "window_counts": window_counts.astype(int).tolist(),
        "one_side_texts": [int(b_only.sum()), int(w_only.sum())],
        "repeat_robust": True,
    }
