"""End to end on PostgreSQL: freezing a 50,000-record baseline and one hourly run, with embeddings ready.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python benchmarks/drift_db.py [--window 5000]

Creates its own database (driftgate_bench_drift, dropped afterwards) on the server of DATABASE_URL, stores a
use case's traffic as ingestion would (records with digests and sample keys) and the embeddings of every
distinct text, as embedding on arrival leaves them (vectors from the test pool of real English sentences;
each record is a distinct text, made so by a numbered suffix and a tiny jitter of its sentence's vector, the
worst case for the statistics). Then it times, through the services:
- `baseline_build` + `baseline_freeze` of 50,000 records (target: 60 s), with the progress lines it reports;
- `drift_run_execute` of a 5,000-record hourly window against it (target: 2 s), checking that the run embedded
  nothing (its window was ready): the first run of a worker process (it loads the baseline's arrays) and the
  next hour's run (arrays cached, as for every later run of that worker).
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = "driftgate_bench_drift"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
os.environ["DATABASE_URL"] = urlunparse(urlparse(SERVER_URL)._replace(path=f"/{BENCH_DB}"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.pop("DRIFTGATE_TEST_DB_SUFFIX", None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

BASELINE_START = datetime(2026, 1, 5, tzinfo=UTC)
BASELINE_END = BASELINE_START + timedelta(days=14)
WINDOW_START = datetime(2026, 2, 2, 10, tzinfo=UTC)


def _database(action: str) -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        if action == "create":
            conn.execute(f"CREATE DATABASE {BENCH_DB}")


def _store(use_case, *, n: int, start: datetime, end: datetime, prefix: str, rng: np.random.Generator) -> None:
    """Store n distinct-text records over [start, end) and the embeddings of their prompts and responses."""
    from monitoring.embeddings import embedding_model_key, vector_to_bytes
    from monitoring.ingest.digest import text_digest
    from monitoring.models import TextEmbedding, TrafficRecord
    from tests.textpool import load_pool

    texts, _, vectors = load_pool()
    key = embedding_model_key()
    step = (end - start) / n
    records, embeddings = [], []
    for i in range(n):
        p, r = rng.integers(0, len(texts), 2)
        prompt, response = f"{texts[p]} ({prefix} {i})", f"{texts[r]} (answer {prefix} {i})"
        moment = start + step * i
        prompt_digest, response_digest = text_digest(prompt), text_digest(response)
        records.append(TrafficRecord(
            use_case=use_case, external_id=f"{prefix}-{i}", timestamp=moment,
            hour=moment.replace(minute=0, second=0, microsecond=0), prompt=prompt, response=response,
            prompt_digest=prompt_digest, response_digest=response_digest, score=float(rng.beta(7, 3)),
            sample_key=int(rng.integers(0, 2**62))))
        for digest, index in ((prompt_digest, p), (response_digest, r)):
            vector = vectors[index] + 0.01 * rng.standard_normal(vectors.shape[1]).astype(np.float32)
            vector /= np.linalg.norm(vector)
            embeddings.append(TextEmbedding(model_key=key, digest=digest, vector=vector_to_bytes(vector),
                                            dim=vectors.shape[1]))
    TrafficRecord.objects.bulk_create(records, batch_size=5000)
    TextEmbedding.objects.bulk_create(embeddings, batch_size=5000, ignore_conflicts=True)


def run(window_records: int, profile: bool = False) -> dict:
    """Build the data, then time the freeze and the run through the services."""
    import django

    django.setup()
    from django.conf import settings

    from driftgate.actors import Actor
    from governance.models import UseCase
    from monitoring.models import TextEmbedding
    from monitoring.services import embeddings as embedding_services
    from monitoring.services.baselines import baseline_build, baseline_freeze
    from monitoring.services.runs import drift_run_execute

    settings.DRIFTGATE_BASELINE_MIN_RECORDS = 1000
    rng = np.random.default_rng(0)
    use_case = UseCase.objects.create(slug="bench-drift", name="Benchmark", purpose="benchmark",
                                      approach="rag", base_model="m", risk_tier="minimal")
    started = time.monotonic()
    _store(use_case, n=50_000, start=BASELINE_START, end=BASELINE_END, prefix="b", rng=rng)
    for hour in range(2):
        start = WINDOW_START + timedelta(hours=hour)
        _store(use_case, n=window_records, start=start, end=start + timedelta(hours=1), prefix=f"w{hour}", rng=rng)
    setup_seconds = time.monotonic() - started

    actor = Actor.system("benchmark")
    progress: list[str] = []
    started = time.monotonic()
    baseline = baseline_build(actor=actor, use_case=use_case, start=BASELINE_START, end=BASELINE_END,
                              progress=progress.append)
    baseline = baseline_freeze(actor=actor, baseline=baseline)
    freeze_seconds = time.monotonic() - started

    embedded_before = TextEmbedding.objects.count()
    encoder_calls = []
    original = embedding_services._encoder_for
    embedding_services._encoder_for = lambda key: encoder_calls.append(key) or original(key)
    profiler = cProfile.Profile() if profile else None
    started = time.monotonic()
    if profiler:
        profiler.enable()
    drift = drift_run_execute(use_case=use_case, window_start=WINDOW_START,
                              window_end=WINDOW_START + timedelta(hours=1))
    run_seconds = time.monotonic() - started
    if profiler:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    # The next hour in the same worker process: the baseline's arrays are cached, as for every hourly run
    # after a worker's first.
    started = time.monotonic()
    warm = drift_run_execute(use_case=use_case, window_start=WINDOW_START + timedelta(hours=1),
                             window_end=WINDOW_START + timedelta(hours=2))
    warm_seconds = time.monotonic() - started
    return {
        "benchmark": "drift_db",
        "warm_run_seconds": round(warm_seconds, 3),
        "warm_run_status": warm.status,
        "baseline_records": baseline.n_records,
        "window_records": drift.n,
        "setup_seconds": round(setup_seconds, 1),
        "freeze_seconds": round(freeze_seconds, 2),
        "freeze_progress": progress,
        "run_seconds": round(run_seconds, 3),
        "run_duration_ms": drift.duration_ms,
        "run_status": drift.status,
        "run_embedded_texts": TextEmbedding.objects.count() - embedded_before,
        "encoder_loaded_by_run": bool(encoder_calls),
        "signals": list(drift.signals.values_list("name", flat=True)),
        "targets": {"freeze_seconds": 60, "run_seconds": 2},
        "load_average": os.getloadavg(),
    }


def main() -> None:
    """Create the database, migrate, measure, drop it, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=5000, help="records in the hourly window")
    parser.add_argument("--profile", action="store_true", help="print the run's profile on stderr")
    args = parser.parse_args()
    _database("create")
    try:
        subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True,
                       cwd=ROOT, env=os.environ.copy())
        result = run(args.window, profile=args.profile)
    finally:
        _database("drop")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
