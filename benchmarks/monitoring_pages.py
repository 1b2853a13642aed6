"""Benchmark: server time of the monitoring, alert, run, reports and audit pages for a use case with a year of hourly
runs (8,760 runs × 6 signals, an alert every 250 hours), ending now.

Builds the data in a throwaway PostgreSQL database, signs a platform owner in and times each page through Django's
test client in-process (URL resolution, middleware, views, queries, templates and the SVG charts; no network).
Target: ≤ 150 ms server time per page, as for the gate pages. Run with

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.monitoring_pages
"""
import argparse
import os
import platform
import random
import statistics
import sys
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
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from governance.models import Membership, UseCase  # noqa: E402
from monitoring.models import Alert, Baseline, DriftRun, DriftSignal, MonitoringPolicy  # noqa: E402

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


def time_page(client: Client, url: str, repeats: int) -> tuple[float, float, int]:
    """Return the median and the slowest server time (ms) of `repeats` GETs after one warm-up, and the status."""
    response = client.get(url)
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), max(timings), response.status_code


def main() -> None:
    """Create the database, build the year, time each page and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL.")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        use_case, user, runs = build_year()
        client = Client()
        client.force_login(user)
        alert = Alert.objects.filter(use_case=use_case).order_by("-run__window_start").first()
        pages = {
            "monitoring, last 7 days": f"/use-cases/{use_case.slug}/monitoring/",
            "monitoring, whole year": f"/use-cases/{use_case.slug}/monitoring/?days=366",
            "review queue": "/alerts/",
            "alert": f"/alerts/{alert.pk}/",
            "run": f"/runs/{runs[-1].pk}/",
            "policy": f"/use-cases/{use_case.slug}/policy/",
            "reports": "/reports/",
            "audit log": "/audit/",
        }
        results = {name: time_page(client, url, options.repeats) for name, url in pages.items()}
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, PostgreSQL {connection.pg_version // 10_000}; load {os.getloadavg()[0]:.1f}")
    print(f"data: {HOURS} runs × {len(SIGNALS)} signals, a review alert every 250 h and a stop every 1,000 h")
    worst = 0.0
    for name, (median, slowest, status) in results.items():
        worst = max(worst, median)
        print(f"{name:26s} median {median:6.1f} ms, slowest {slowest:6.1f} ms (HTTP {status})")
    print(f"worst median: {worst:.1f} ms (target ≤ {TARGET_MS} ms)")


if __name__ == "__main__":
    main()
