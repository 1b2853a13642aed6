"""Benchmark: one /metrics scrape against an inventory of 50, 200 and 1,000 monitored use cases.

Target: a scrape stays a few aggregate queries (no query per use case) and well under a second with a year of
hourly runs behind each use case, so a 15 s scrape interval costs the database little. Runs in a throwaway
PostgreSQL database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.metrics

Each use case gets `--runs` hourly drift runs (six signals each), an ingest counter and task counters; the scrape
is timed through `metrics_text` (what the view serves) with the queries counted. Prints JSON.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.setdefault("DRIFTGATE_TEST_DB_SUFFIX", "bench_metrics")

import django  # noqa: E402 - Django must be configured before the project's modules load

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from driftgate.metrics import metrics_text  # noqa: E402
from driftgate.models import TaskOutcomeCount  # noqa: E402
from governance.models import UseCase  # noqa: E402
from monitoring.models import DriftRun, DriftSignal, TrafficIngestCount  # noqa: E402

SIGNALS = ("prompt_drift", "response_drift", "quality_drop", "feedback_drop", "topic_novelty", "label_drift")
START = datetime(2025, 1, 1, tzinfo=UTC)


def grow_inventory(*, to: int, runs: int) -> None:
    """Add use cases, each with `runs` hourly runs and their signals, until there are `to`."""
    have = UseCase.objects.count()
    for index in range(have, to):
        use_case = UseCase.objects.create(name=f"Use case {index}", slug=f"bench-{index}", purpose="benchmark")
        made = DriftRun.objects.bulk_create([
            DriftRun(use_case=use_case, window_start=START + timedelta(hours=hour),
                     window_end=START + timedelta(hours=hour + 1), status="succeeded", n=5000,
                     severity="ok", finished_at=START + timedelta(hours=hour + 1), duration_ms=1500)
            for hour in range(runs)], batch_size=2000)
        DriftSignal.objects.bulk_create([
            DriftSignal(run=run, name=name, statistic=1.0, p_value=0.3, p_adjusted=0.6, effect_size=0.01,
                        effect_unit="share", severity="ok")
            for run in made for name in SIGNALS], batch_size=5000)
        TrafficIngestCount.objects.create(use_case=use_case, accepted=1_000_000, duplicate=10, rejected=5)
    for queue in ("ingest", "embed", "drift", "reports", "probes", "default"):
        TaskOutcomeCount.objects.get_or_create(queue=queue, task=f"monitoring.tasks.{queue}_x", outcome="failure",
                                               defaults={"count": 3})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def scrape(repeats: int) -> dict:
    """Time `repeats` scrapes; return the median and worst seconds, the queries and the answer's size."""
    metrics_text()  # warm the connection and the plan cache
    seconds = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            body = metrics_text()
            seconds.append(time.perf_counter() - started)
    return {"median_ms": round(statistics.median(seconds) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1),
            "queries": len(queries), "bytes": len(body), "series": body.count(b"\n") - body.count(b"\n#")}


def main() -> None:
    """Build the inventory step by step and time the scrape at each size."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=8760, help="hourly runs per use case (default: a year)")
    parser.add_argument("--sizes", default="50,200,1000", help="use-case counts to measure at")
    parser.add_argument("--repeats", type=int, default=20)
    options = parser.parse_args()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results = []
        for size in (int(item) for item in options.sizes.split(",")):
            started = time.perf_counter()
            grow_inventory(to=size, runs=options.runs)
            results.append({"use_cases": size, "runs_per_use_case": options.runs,
                            "build_seconds": round(time.perf_counter() - started, 1), **scrape(options.repeats)})
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
        machine = {"cpus": os.cpu_count(), "load": os.getloadavg(), "python": platform.python_version()}
        print(json.dumps({"scrapes": results, "machine": machine}, indent=1))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
