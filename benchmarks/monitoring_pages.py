"""Benchmark: server time of the monitoring, alert, run, reports and audit pages for a use case with a year of hourly
runs (8,760 runs × 6 signals, an alert every 250 hours), ending now.

Builds the data in a throwaway PostgreSQL database, signs a platform owner in and times each page through Django's
test client in-process (URL resolution, middleware, views, queries, templates and the SVG charts; no network).
Target: ≤ 150 ms server time per page, as for the gate pages. Run with

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.monitoring_pages

`--against REF` also times the pages of another commit (e.g. `main`) on the same data in the same run: its tree is
exported with `git archive` into a temporary directory and this script, copied there, times it in a child process,
alternating with this tree's rounds so both see the same machine load. The monitoring pages are timed twice: for
the first reader after a run (the charts drawn: a cache key no entry has) and for the readers after them.
"""
import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.setdefault("DRIFTGATE_TEST_DB_SUFFIX", "bench_pages")

import django  # noqa: E402 - Django must be configured before the project's modules load

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from governance.models import Membership, UseCase  # noqa: E402
from monitoring.models import Alert, Baseline, DriftRun, DriftSignal, MonitoringPolicy  # noqa: E402

try:
    # Present where the drawn charts are cached; --against may time a tree from before that.
    from monitoring.pages import charts as charts_module  # noqa: E402
except ImportError:  # pragma: no cover - a tree from before the monitoring pages
    charts_module = None
if charts_module is not None and not hasattr(charts_module, "CHART_LAYOUT"):
    charts_module = None

SIGNALS = (("prompt_drift", "drifted_share"), ("response_drift", "drifted_share"), ("quality_drop", "relative_drop"),
           ("feedback_drop", "relative_drop"), ("topic_novelty", "novel_share"), ("label_drift", "rating_change"))
HOURS = 8_760
BATCH = 5_000
TARGET_MS = 150


def build_year(seed: int = 1):
    """Insert a use case with a policy, a frozen baseline, a year of hourly runs ending now, signals and alerts."""
    rng = random.Random(seed)
    end = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=HOURS)
    use_case = UseCase.objects.create(slug="bench-pages", name="Claims assistant (benchmark)",
                                      purpose="Answer claims questions.", approach="fine_tuning",
                                      base_model="mistral-7b-instruct", risk_tier="high",
                                      regulatory_scopes=["eu_ai_act"], stage="production")
    MonitoringPolicy.objects.create(use_case=use_case, config={"alpha": 0.01})
    baseline = Baseline.objects.create(use_case=use_case, start=start - timedelta(days=30), end=start,
                                       status="frozen", embedding_model="m", n_records=50_000, frozen_at=start)
    runs = DriftRun.objects.bulk_create([
        DriftRun(use_case=use_case, baseline=baseline, window_start=start + timedelta(hours=hour),
                 window_end=start + timedelta(hours=hour + 1), status="succeeded", n=5_000,
                 severity="stop" if hour % 1_000 == 999 else "review" if hour % 250 == 17 else "ok")
        for hour in range(HOURS)], batch_size=BATCH)
    DriftSignal.objects.bulk_create([
        DriftSignal(run=run, name=name, statistic=rng.random() * 5, p_value=rng.random(), p_adjusted=rng.random(),
                    effect_size=abs(rng.gauss(0.02, 0.01)), effect_unit=unit, severity="ok", details={})
        for run in runs for name, unit in SIGNALS], batch_size=BATCH)
    for run in runs:
        if run.severity != "ok":
            Alert.objects.create(use_case=use_case, run=run, severity=run.severity,
                                 summary={"raised_by": ["quality_drop"]})
    user = get_user_model().objects.create_user("bench-pete", password="bench password 123")
    Membership.objects.create(use_case=use_case, user=user, role="platform_owner")
    return use_case, user, runs


def time_page(client: Client, url: str, repeats: int, *,
              first_reader: bool = False) -> tuple[float, float, float, int]:
    """Return the median, fastest and slowest server time (ms) of `repeats` GETs after a warm-up, and the status.

    `first_reader` gives each GET a cache key no entry has, as the first reader after a run gets, so the charts
    are drawn every time (a tree without the chart cache draws them anyway).
    """
    response = client.get(url)
    timings = []
    for _ in range(repeats):
        if first_reader and charts_module is not None:
            charts_module.CHART_LAYOUT = f"bench-{time.perf_counter_ns()}"
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), min(timings), max(timings), response.status_code


def pages_of(use_case: UseCase) -> dict[str, tuple[str, bool]]:
    """Return the pages to time: name -> (URL, as the first reader)."""
    alert = Alert.objects.filter(use_case=use_case).order_by("-run__window_start").first()
    last_run = DriftRun.objects.filter(use_case=use_case).aggregate(last=Max("id"))["last"]
    slug = use_case.slug
    return {
        "monitoring, 7 days, first reader": (f"/use-cases/{slug}/monitoring/", True),
        "monitoring, 7 days, next readers": (f"/use-cases/{slug}/monitoring/", False),
        "monitoring, year, first reader": (f"/use-cases/{slug}/monitoring/?days=366", True),
        "monitoring, year, next readers": (f"/use-cases/{slug}/monitoring/?days=366", False),
        "review queue": ("/alerts/", False),
        "alert": (f"/alerts/{alert.pk}/", False),
        "run": (f"/runs/{last_run}/", False),
        "policy": (f"/use-cases/{slug}/policy/", False),
        "reports": ("/reports/", False),
        "audit log": ("/audit/", False),
    }


def time_pages(repeats: int) -> dict[str, tuple[float, float, float, int]]:
    """Sign the benchmark's platform owner in and time every page of the benchmark's use case."""
    use_case = UseCase.objects.get(slug="bench-pages")
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-pete"))
    return {name: time_page(client, url, repeats, first_reader=first)
            for name, (url, first) in pages_of(use_case).items()}


def time_other_tree(ref: str, database: str, repeats: int) -> dict[str, tuple[float, float, float, int]]:
    """Time the pages of commit `ref` on the same database, in a child process run from an export of its tree."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tree:
        archive = subprocess.run(["git", "-C", str(root), "archive", ref], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", tree], input=archive, check=True)
        shutil.copy(__file__, Path(tree) / "benchmarks" / "monitoring_pages.py")
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.monitoring_pages", "--time-database", database,
             "--repeats", str(repeats)], cwd=tree, check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": tree})
    return {name: tuple(values) for name, values in json.loads(child.stdout.splitlines()[-1]).items()}


def main() -> None:
    """Create the database, build the year, time each page (and another commit's) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of this tree and --against's")
    parser.add_argument("--against", help="a git ref whose pages to time on the same data, e.g. main")
    parser.add_argument("--time-database", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL.")
    setup_test_environment()
    if options.time_database:
        # The child of --against: time an existing database and print the figures as one JSON line.
        connection.close()
        connection.settings_dict["NAME"] = options.time_database
        print(json.dumps(time_pages(options.repeats)))
        return
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    mine: list[dict] = []
    theirs: list[dict] = []
    loads = []
    try:
        build_year()
        with connection.cursor() as cursor:
            # What autovacuum does soon after a bulk load; without statistics the planner sorts on disk.
            cursor.execute("ANALYZE")
        for _ in range(options.rounds if options.against else 1):
            loads.append(os.getloadavg()[0])
            mine.append(time_pages(options.repeats))
            if options.against:
                theirs.append(time_other_tree(options.against, connection.settings_dict["NAME"], options.repeats))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, PostgreSQL {connection.pg_version // 10_000}; load average at each round "
          + ", ".join(f"{load:.1f}" for load in loads))
    print(f"data: {HOURS} runs × {len(SIGNALS)} signals, a review alert every 250 h and a stop every 1,000 h; "
          f"{options.repeats} GETs per page and round: median of the rounds' medians (fastest GET–slowest GET)")
    worst = 0.0
    print(f"{'page':34s} {'this tree':>28s}" + (f" {options.against:>28s}" if options.against else ""))

    def figures(results: list[dict], name: str) -> str:
        median = statistics.median(result[name][0] for result in results)
        return (f"{median:8.1f} ms ({min(result[name][1] for result in results):5.0f}–"
                f"{max(result[name][2] for result in results):5.0f})")

    for name in mine[0]:
        worst = max(worst, statistics.median(result[name][0] for result in mine))
        line = f"{name:34s} {figures(mine, name):>28s}"
        if theirs and name in theirs[0]:
            line += f" {figures(theirs, name):>28s}"
        statuses = {result[name][3] for result in mine + theirs if name in result}
        if statuses != {200}:
            line += f"  HTTP {sorted(statuses)}"
        print(line)
    print(f"worst median of this tree: {worst:.1f} ms (target ≤ {TARGET_MS} ms)")


if __name__ == "__main__":
    main()
