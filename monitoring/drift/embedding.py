"""Embedding drift: the classifier test and the cluster-occupancy test as one signal."""

from __future__ import annotations

import numpy as np

from monitoring.drift.classifier import classifier_two_sample_test
from monitoring.drift.clusters import cluster_occupancy_test
from monitoring.drift.local import local_two_sample_test
from monitoring.drift.multiple import holm
from monitoring.drift.sampling import as_groups, paired_sample
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
    local: bool = False,
    seed: int = 0,
) -> SignalResult:
    """Run the embedding tests on the same balanced sample and combine their p-values by Holm.

    With `local`, the nearest-neighbour test of `local.py` is a third test beside the classifier
    and the occupancy chi-square: it sees a small, tight new group the two global tests miss.
    """
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
    p_values = [classifier["p_value"], occupancy["p_value"]]
    local_result = None
    if local:
        sample = paired_sample(as_groups(baseline_groups, baseline), as_groups(window_groups, window),
                               max_per_side=max_per_side, rng=np.random.default_rng(seed))
        local_result = local_two_sample_test(baseline, window, sample, seed=seed)
        p_values.append(local_result.p_value)
    # The tests see different things (DESIGN.md: the chi-square caught a topic shift the
    # classifier only hinted at), so the signal is significant when any is; the smallest Holm-
    # adjusted p keeps the family-wise error of the set at alpha under any dependence.
    adjusted = holm(p_values)
    extra = {}
    if local_result is not None:
        extra = {"local_p": local_result.p_value, "local_z": local_result.z,
                 "local_excess_share": local_result.excess_share}
    return SignalResult(
        name=name,
        statistic=classifier["auc"],
        p_value=min(adjusted),
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
            # A baseline of distinct texts is compared as a set (monitoring/drift/sampling.py, _sets_sample).
            "baseline_texts_once": classifier["baseline_texts_once"],
            "records_ratio": classifier["records_ratio"],
            "baseline_cluster_counts": occupancy["baseline_counts"],
            "window_cluster_counts": occupancy["window_counts"],
            **extra,
        },
    )
