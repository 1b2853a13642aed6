"""Benchmark: a 12-month post-market monitoring report over 8,760 hourly drift runs × 6 signals.

Builds the data in a throwaway PostgreSQL database (bulk inserts), then times the selector (SQL aggregation and the
hourly series) and the rendering (charts, template, WeasyPrint PDF/A-3b) separately. Target: ≤ 30 s in total on two
cores. Run with

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.report_render

The database is `test_<name>_bench_reports` (created and dropped here); `--keepdb` keeps it for a second run.
"""
import argparse
import io
import logging
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.setdefault("DRIFTGATE_TEST_DB_SUFFIX", "bench_reports")

import django  # noqa: E402 - Django must be configured before the project's modules load

django.setup()
# WeasyPrint and its font subsetter log every step at INFO; the figures are what this script prints.
for _name in ("weasyprint", "fontTools"):
    logging.getLogger(_name).setLevel(logging.WARNING)

import pypdf  # noqa: E402
from django.db import connection  # noqa: E402

from governance.models import UseCase  # noqa: E402
from monitoring.models import Alert, Baseline, DriftRun, DriftSignal, MonitoringPolicy  # noqa: E402
from reports.builders import render_report_pdf  # noqa: E402
from reports.selectors.common import Period  # noqa: E402
from reports.selectors.monitoring import monitoring_report_data  # noqa: E402

SIGNALS = (("prompt_drift", "drifted share"), ("response_drift", "drifted share"), ("quality_drop", "relative drop"),
           ("feedback_drop", "relative drop"), ("topic_novelty", "novel share"), ("label_drift", "mean rating change"))
HOURS = 8_760
START = datetime(2025, 1, 1, tzinfo=UTC)
BATCH = 5_000


def build_year(seed: int = 1) -> tuple[UseCase, Period]:
    """Insert a use case with a policy, a frozen baseline, a year of hourly runs, six signals each, and alerts."""
    rng = random.Random(seed)
    use_case = UseCase.objects.create(slug="bench-claims", name="Claims assistant (benchmark)",
                                      purpose="Answer claims questions.", approach="fine_tuning",
                                      base_model="mistral-7b-instruct", risk_tier="high",
                                      regulatory_scopes=["eu_ai_act", "sr_11_7"], stage="production")
    MonitoringPolicy.objects.create(use_case=use_case, config={
        "alpha": 0.01, "tiers": {name: [0.05, 0.15] for name, _ in SIGNALS}})
    baseline = Baseline.objects.create(use_case=use_case, start=START - timedelta(days=30), end=START,
                                       status="frozen", embedding_model="all-MiniLM-L6-v2", n_records=50_000,
                                       frozen_at=START, summary={"k": 40})
    runs = []
    for hour in range(HOURS):
        window_start = START + timedelta(hours=hour)
        severity = "stop" if hour % 1_000 == 999 else "review" if hour % 250 == 17 else "ok"
        runs.append(DriftRun(use_case=use_case, baseline=baseline, window_start=window_start,
                             window_end=window_start + timedelta(hours=1), status="succeeded", n=5_000,
                             severity=severity, finished_at=window_start + timedelta(hours=1, minutes=2),
                             duration_ms=rng.randint(900, 1_500)))
    runs = DriftRun.objects.bulk_create(runs, batch_size=BATCH)
    signals = []
    for _hour, run in enumerate(runs):
        for index, (name, unit) in enumerate(SIGNALS):
            effect = abs(rng.gauss(0.02 + 0.01 * index, 0.01)) + (0.12 if run.severity != "ok" and index == 2 else 0)
            signals.append(DriftSignal(run=run, name=name, statistic=rng.random() * 5, p_value=rng.random(),
                                       p_adjusted=rng.random(), effect_size=effect, effect_unit=unit,
                                       severity=run.severity if index == 2 else "ok", details={}))
    DriftSignal.objects.bulk_create(signals, batch_size=BATCH)
    for run in runs:
        if run.severity != "ok":
            Alert.objects.create(use_case=use_case, run=run, severity=run.severity, created_at=run.window_end,
                                 summary={"signals": {"quality_drop": 0.14}}, halt_applied=run.severity == "stop",
                                 status="triaged", verdict="false_alarm", resolution="none",
                                 note="Checked the week's launches; no harmful answers found.")
    return use_case, Period(start=START, end=START + timedelta(hours=HOURS))


def main() -> None:
    """Create the database, build the data, time selector and rendering, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keepdb", action="store_true", help="Keep (and reuse) the benchmark database.")
    parser.add_argument("--output", type=Path, help="Also write the PDF here.")
    options = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark needs PostgreSQL: set DATABASE_URL.")
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=options.keepdb)
    try:
        started = time.perf_counter()
        use_case = UseCase.objects.filter(slug="bench-claims").first()
        if use_case is None:
            use_case, period = build_year()
        else:
            period = Period(start=START, end=START + timedelta(hours=HOURS))
        inserted = time.perf_counter() - started

        started = time.perf_counter()
        generated_at = datetime.now(UTC)
        data = monitoring_report_data(use_case=use_case, period=period, generated_at=generated_at)
        selected = time.perf_counter() - started

        started = time.perf_counter()
        pdf = render_report_pdf(kind="monitoring", use_case=use_case, period=period, data=data,
                                parameters={"kind": "monitoring", "start": period.start.isoformat(),
                                            "end": period.end.isoformat(), "requested_by": "benchmark"})
        rendered = time.perf_counter() - started
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=options.keepdb)

    if options.output:
        options.output.write_bytes(pdf)
    pages = len(pypdf.PdfReader(io.BytesIO(pdf)).pages)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, PostgreSQL {connection.pg_version // 10_000}")
    print(f"data: {data['runs']['total']} runs, {sum(s['runs'] for s in data['signals'])} signal rows, "
          f"{len(data['alerts'])} alerts (inserted in {inserted:.1f} s)")
    print(f"selector: {selected:.2f} s")
    print(f"render:   {rendered:.2f} s ({pages} pages, {len(pdf) / 1e6:.2f} MB)")
    print(f"total:    {selected + rendered:.2f} s (target ≤ 30 s)")


if __name__ == "__main__":
    main()
