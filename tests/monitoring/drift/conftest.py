"""Fixtures for the drift engine's tests: a pool of real sentences with embeddings."""

from __future__ import annotations

import pytest

from tests.monitoring.drift.traffic import TrafficPool


@pytest.fixture(scope="session")
def traffic_pool() -> TrafficPool:
    """The sentence pool, embedded once per session (and cached on disk across sessions)."""
    return TrafficPool()

