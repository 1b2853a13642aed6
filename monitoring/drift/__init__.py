"""Pure statistical drift engine: numpy/scipy/scikit-learn on arrays, no Django, no ORM.

A service loads a frozen baseline and a window of traffic, calls `run_signals`, and stores the
signals. Every function is deterministic under its `seed`.

Refinements of the originally specified API (all backwards compatible with the keyword calls):
- `BaselineData` lists `prompt_clusters` right after the prompt arrays (dataclass fields with
  defaults must come last); build it with keyword arguments.
- `ClusterModel` also stores `holdout_size` and `holdout_outside` (how many held-out baseline
  texts set the radii and how many lay outside), which the novelty test uses to stay calibrated;
  `from_dict` accepts dicts without them and then falls back to the nominal 1% rate.
- `fit_clusters(..., level=0.99, groups=None)`: texts are collapsed by `groups` (or by identical
  embedding rows) before fitting and the holdout is split by text.
- `cluster_occupancy_test(clusters, window, *, window_groups=None, baseline=None,
  baseline_groups=None, max_per_side=5000, seed=0)`: with baseline rows it is repeat-robust
  (what `embedding_drift` uses); without them it compares raw counts and is not.
- `topic_novelty(..., window_groups=None, baseline=None, baseline_groups=None, ...)`: groups decide
  which rows are the same text; with baseline rows (what a run passes) the test is the local
  nearest-neighbour test of `local.py`, without them the share outside the cluster radii.
- `embedding_drift(..., max_per_side=5000, seed=0)`.
- Policy tiers are keyed by signal name plus "js_divergence", the second effect of the two
  embedding signals.
"""

from monitoring.drift.classifier import classifier_two_sample_test
from monitoring.drift.clusters import cluster_occupancy_test, fit_clusters, js_divergence, nearest_centroid
from monitoring.drift.embedding import embedding_drift
from monitoring.drift.engine import run_signals
from monitoring.drift.local import local_two_sample_test
from monitoring.drift.multiple import holm
from monitoring.drift.novelty import fit_tfidf, top_terms, topic_novelty
from monitoring.drift.quality import feedback_drop, label_drift, quality_drop
from monitoring.drift.severity import DEFAULT_MAX_SEVERITY, DEFAULT_TIERS, Policy, assign_severity
from monitoring.drift.types import (
    SEVERITIES,
    SIGNAL_NAMES,
    BaselineData,
    ClusterModel,
    SignalResult,
    WindowData,
)

__all__ = [
    "DEFAULT_MAX_SEVERITY",
    "DEFAULT_TIERS",
    "SEVERITIES",
    "SIGNAL_NAMES",
    "BaselineData",
    "ClusterModel",
    "Policy",
    "SignalResult",
    "WindowData",
    "assign_severity",
    "classifier_two_sample_test",
    "cluster_occupancy_test",
    "embedding_drift",
    "feedback_drop",
    "fit_clusters",
    "fit_tfidf",
    "holm",
    "js_divergence",
    "label_drift",
    "local_two_sample_test",
    "nearest_centroid",
    "quality_drop",
    "run_signals",
    "top_terms",
    "topic_novelty",
]
