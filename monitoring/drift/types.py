"""Value types passed between the drift engine and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SIGNAL_NAMES = (
    "prompt_drift",
    "response_drift",
    "quality_drop",
    "feedback_drop",
    "topic_novelty",
    "label_drift",
    # Model probes: golden sets compared item by item with the previous run and with the base model.
    "model_behaviour",
    "model_behaviour_base",
)
SEVERITIES = ("ok", "review", "stop")


@dataclass(frozen=True)
class SignalResult:
    """One drift signal of one run: its test statistic, p-value, effect size and verdict."""

    name: str
    statistic: float
    p_value: float
    effect_size: float
    effect_unit: str
    details: dict = field(default_factory=dict)
    p_adjusted: float | None = None
    severity: str = "ok"

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict of this result."""
        return {
            "name": self.name,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "effect_size": self.effect_size,
            "effect_unit": self.effect_unit,
            "details": self.details,
            "p_adjusted": self.p_adjusted,
            "severity": self.severity,
        }


@dataclass(frozen=True)
class ClusterModel:
    """K-means clusters of a frozen baseline, with novelty radii and occupancy counts."""

    centroids: np.ndarray  # (k, d) float32, unit-norm rows
    radii: np.ndarray  # (k,) Euclidean radius per cluster; farther is "outside the baseline"
    counts: np.ndarray  # (k,) baseline records per cluster
    # The radii are an order statistic of held-out distances; keeping how many held-out texts
    # there were and how many lay outside lets the novelty test account for that finite sample.
    holdout_size: int = 0
    holdout_outside: int = 0

    @property
    def k(self) -> int:
        """Number of clusters."""
        return int(self.centroids.shape[0])

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict (plain lists) of this model."""
        return {
            "centroids": self.centroids.astype(np.float32).tolist(),
            "radii": self.radii.astype(np.float64).tolist(),
            "counts": self.counts.astype(np.int64).tolist(),
            "holdout_size": int(self.holdout_size),
            "holdout_outside": int(self.holdout_outside),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ClusterModel:
        """Rebuild a model from `to_dict()` output."""
        centroids = np.asarray(data["centroids"], dtype=np.float32)
        radii = np.asarray(data["radii"], dtype=np.float64)
        counts = np.asarray(data["counts"], dtype=np.int64)
        if centroids.ndim != 2 or radii.shape != (centroids.shape[0],) or counts.shape != radii.shape:
            raise ValueError("cluster model shapes disagree: centroids (k, d), radii (k,), counts (k,)")
        return cls(
            centroids=centroids,
            radii=radii,
            counts=counts,
            holdout_size=int(data.get("holdout_size", 0)),
            holdout_outside=int(data.get("holdout_outside", 0)),
        )


@dataclass
class BaselineData:
    """What a frozen baseline provides to a drift run."""

    prompt_embeddings: np.ndarray
    prompt_groups: np.ndarray
    prompt_clusters: ClusterModel
    response_embeddings: np.ndarray | None = None
    response_groups: np.ndarray | None = None
    response_clusters: ClusterModel | None = None
    scores: np.ndarray | None = None
    feedback: np.ndarray | None = None
    tfidf: dict | None = None


@dataclass
class WindowData:
    """One window of traffic to compare with the baseline."""

    prompt_embeddings: np.ndarray
    prompt_groups: np.ndarray
    prompt_texts: list[str] | None = None
    response_embeddings: np.ndarray | None = None
    response_groups: np.ndarray | None = None
    scores: np.ndarray | None = None
    feedback: np.ndarray | None = None
    label_pairs: tuple[np.ndarray, np.ndarray] | None = None
