"""Embedding drift: the classifier test and the cluster-occupancy test as one signal."""

from __future__ import annotations

import numpy as np

from monitoring.drift.classifier import classifier_two_sample_test
from monitoring.drift.clusters import cluster_occupancy_test
from monitoring.drift.multiple import holm
from monitoring.drift.types import ClusterModel, SignalResult


def embedding_drift(
    name: str,
    baseline: np.ndarray,
    baseline_groups: np.ndarray | None,
    clusters: ClusterModel,
    window: np.ndarray,
    window_groups: np.ndarray | None,
    *,
    max_per_side: int = 5000,
    seed: int = 0,
) -> SignalResult:
    """Run both embedding tests on the same balanced sample and combine their p-values by Holm."""
    classifier = classifier_two_sample_test(
        baseline,
        window,
        baseline_groups=baseline_groups,
        window_groups=window_groups,
        max_per_side=max_per_side,
        seed=seed,
    )
    occupancy = cluster_occupancy_test(
        clusters,
        window,
        window_groups=window_groups,
        baseline=baseline,
        baseline_groups=baseline_groups,
        max_per_side=max_per_side,
        seed=seed,
    )
    # The two tests see different things (DESIGN.md: the chi-square caught a topic shift the
    # classifier only hinted at), so the signal is significant when either is; the smaller Holm-
    # adjusted p keeps the family-wise error of the pair at alpha under any dependence.
    p_classifier, p_chi2 = holm([classifier["p_value"], occupancy["p_value"]])
    return SignalResult(
        name=name,
        statistic=classifier["auc"],
        p_value=min(p_classifier, p_chi2),
        effect_size=classifier["drifted_share"],
        effect_unit="drifted_share",
        details={
            "auc": classifier["auc"],
            "classifier_z": classifier["z"],
            "classifier_p": classifier["p_value"],
            "chi2": occupancy["chi2"],
            "chi2_dof": occupancy["dof"],
            "chi2_p": occupancy["p_value"],
            "js_divergence": occupancy["js_divergence"],
            "js_divergence_records": occupancy["js_divergence_records"],
            "n_baseline": classifier["n_baseline"],
            "n_window": classifier["n_window"],
            "distinct_baseline": classifier["distinct_baseline"],
            "distinct_window": classifier["distinct_window"],
            "shared_texts": classifier["shared_texts"],
            "baseline_cluster_counts": occupancy["baseline_counts"],
            "window_cluster_counts": occupancy["window_counts"],
        },
    )
