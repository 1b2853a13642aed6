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
    n_records: int  # records per side after balancing


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
    """
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
