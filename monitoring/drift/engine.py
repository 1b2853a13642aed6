"""One drift run: every signal the data allows, then Holm and the policy's severities."""

from __future__ import annotations

from typing import TypeGuard

import numpy as np
from threadpoolctl import threadpool_limits

from monitoring.drift.embedding import embedding_drift
from monitoring.drift.novelty import topic_novelty
from monitoring.drift.quality import feedback_drop, label_drift, quality_drop
from monitoring.drift.severity import Policy, assign_severity
from monitoring.drift.types import BaselineData, SignalResult, WindowData

# Below this many records a side is skipped: a cross-fitted classifier and a 32-cell chi-square
# on fewer texts say nothing, and a run should report "no data" rather than a meaningless p.
MIN_EMBEDDING_ROWS = 50
MIN_SCORES = 20
MIN_FEEDBACK = 20
MIN_LABEL_PAIRS = 6


def _has_rows(array: np.ndarray | None, minimum: int) -> TypeGuard[np.ndarray]:
    """Tell whether an optional array holds at least `minimum` rows."""
    return array is not None and len(array) >= minimum


def run_signals(
    baseline: BaselineData, window: WindowData, policy: Policy, *, seed: int = 0
) -> tuple[list[SignalResult], str]:
    """Compute every signal whose data both sides provide and assign severities under `policy`."""
    policy.validate()
    # Every matrix here is small (a few thousand rows): one BLAS thread avoids thread hand-off
    # costs that dominated the run on busy cores (see classifier.py), and a worker per core
    # scales better than threads inside one run. OpenMP (scikit-learn's own loops) is held to one
    # thread for the same reason.
    with threadpool_limits(limits=1):
        signals = _signals(baseline, window, seed=seed)
    return assign_severity(signals, policy)


def _signals(baseline: BaselineData, window: WindowData, *, seed: int) -> list[SignalResult]:
    """Compute the signals whose data both sides provide, in a fixed order."""
    signals: list[SignalResult] = []
    if _has_rows(window.prompt_embeddings, MIN_EMBEDDING_ROWS) and _has_rows(
        baseline.prompt_embeddings, MIN_EMBEDDING_ROWS
    ):
        signals.append(
            embedding_drift(
                "prompt_drift",
                baseline.prompt_embeddings,
                baseline.prompt_groups,
                baseline.prompt_clusters,
                window.prompt_embeddings,
                window.prompt_groups,
                seed=seed,
            )
        )
        signals.append(
            topic_novelty(
                baseline.prompt_clusters,
                window.prompt_embeddings,
                window.prompt_texts,
                window_groups=window.prompt_groups,
                baseline=baseline.prompt_embeddings,
                baseline_groups=baseline.prompt_groups,
                tfidf=baseline.tfidf,
                seed=seed,
            )
        )
    if (
        baseline.response_clusters is not None
        and _has_rows(baseline.response_embeddings, MIN_EMBEDDING_ROWS)
        and _has_rows(window.response_embeddings, MIN_EMBEDDING_ROWS)
    ):
        signals.append(
            embedding_drift(
                "response_drift",
                baseline.response_embeddings,
                baseline.response_groups,
                baseline.response_clusters,
                window.response_embeddings,
                window.response_groups,
                # Prompts have topic novelty for local changes; responses have no such signal, so the
                # local test joins their two global tests (a new kind of answer, such as refusals).
                local=True,
                seed=seed,
            )
        )
    if _has_rows(baseline.scores, MIN_SCORES) and _has_rows(window.scores, MIN_SCORES):
        signals.append(quality_drop(baseline.scores, window.scores, seed=seed))
    if _has_rows(baseline.feedback, MIN_FEEDBACK) and _has_rows(window.feedback, MIN_FEEDBACK):
        signals.append(feedback_drop(baseline.feedback, window.feedback))
    if window.label_pairs is not None and len(window.label_pairs[0]) >= MIN_LABEL_PAIRS:
        before, after = window.label_pairs
        signals.append(label_drift(before, after))
    return signals
