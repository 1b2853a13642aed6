"""Fault run: a drift worker killed mid-run, and a second `celery beat` started by mistake.

    .venv/bin/python benchmarks/fault_worker_kill.py > var/fault-worker-kill.json

Creates its own database `driftgate_bench_fault` (dropped at the end) and a throw-away redis-server on a free
loopback port; freezes a baseline of real embeddings and fills the last complete hour with drifted traffic.
Then: worker A starts, and two real `celery beat` processes with their own schedule files, ticking the drift
schedule every 2 seconds (DRIFTGATE_DRIFT_SCHEDULE_SECONDS); as soon as A is inside the window's drift run it
is killed with SIGKILL; worker B starts while both beats keep sending the window. The run A left `running`
turns stale after the drift time limit (set to its minimum, 60 s, as is the broker's visibility timeout), B
takes it over and finishes it; A's unacknowledged message comes back after the visibility timeout and finds the
run done. Prints one JSON document; exits 1 unless the window has exactly one finished run and at most one alert.
"""
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.processes import free_port  # noqa: E402

DB_NAME = "driftgate_bench_fault"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_URL = urlunparse(urlparse(SERVER_URL)._replace(path=f"/{DB_NAME}"))
WORKER = """
import sys
import django
django.setup()
from monitoring.tasks import drift
# Look again every 5 s instead of 5 minutes (as often as needed to outlast the time limit), so the drill ends in
# minutes; the production values keep the same relation: rechecks x interval > the drift time limit.
drift.RUNNING_RECHECK_SECONDS = 5
drift.RUNNING_RECHECKS = drift.HARD_TIME_LIMIT // drift.RUNNING_RECHECK_SECONDS + 2
from driftgate.celery import app
app.worker_main(["worker", "-Q", "embed,drift", "--pool", "solo", "-n", sys.argv[1], "--loglevel", "INFO"])
"""


def main() -> int:
    """Run the fault scenario and print what happened."""
    # A terminated run still stops its redis-server and workers and drops its database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    work = Path(tempfile.mkdtemp(prefix="driftgate-fault-"))
    redis_port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": BENCH_URL, "DJANGO_SETTINGS_MODULE": "driftgate.settings",
           "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0", "CELERY_VISIBILITY_TIMEOUT": "60",
           "DRIFTGATE_DRIFT_TIME_LIMIT": "60", "DRIFTGATE_DRIFT_CATCH_UP_WINDOWS": "1",
           "DRIFTGATE_DRIFT_SCHEDULE_SECONDS": "2",
           "DRIFTGATE_BASELINE_MIN_RECORDS": "300", "DRIFTGATE_RUN_MIN_RECORDS": "100",
           "DRIFTGATE_VAR_DIR": str(work / "var"), "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("DRIFTGATE_TEST_DB_SUFFIX", None)
    os.environ.update(env)
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    processes: dict[str, subprocess.Popen] = {}
    logs = open(work / "workers.log", "w")
    try:
        processes["redis"] = subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                               "--dir", str(work), "--appendonly", "yes", "--save", ""],
                                              stdout=subprocess.DEVNULL)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from driftgate.actors import Actor
        from monitoring.ingest.partitions import ensure_partitions
        from monitoring.models import Alert, DriftRun, RunStatus
        from monitoring.services.baselines import baseline_build, baseline_freeze
        from monitoring.tasks.drift import last_complete_window
        from tests.factories import MonitoringPolicyFactory, UseCaseFactory, drift_scenario_traffic

        use_case = UseCaseFactory(slug="fault-drill")
        start, end = last_complete_window(now=datetime.now(UTC), window_hours=1)
        base_start, base_end = start - timedelta(days=8), start - timedelta(days=1)
        # The traffic is written with the ORM, which (unlike ingestion) does not create its months' partitions.
        ensure_partitions([base_start, start])
        drift_scenario_traffic(use_case=use_case, start=base_start, end=base_end, records=900, prefix="b", seed=31)
        actor = Actor.system("fault-drill")
        baseline_freeze(actor=actor, baseline=baseline_build(actor=actor, use_case=use_case, start=base_start,
                                                             end=base_end))
        MonitoringPolicyFactory(use_case=use_case, auto_halt=False)
        drift_scenario_traffic(use_case=use_case, start=start, end=end, records=400, new_topic_share=0.3,
                               quality_drop=0.2, prefix="w", seed=32)

        def worker(name: str) -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-c", WORKER, f"{name}@fault"], cwd=ROOT, env=env,
                                    stdout=logs, stderr=logs)

        processes["A"] = worker("A")
        began = time.monotonic()
        # Two beats, as when a second one is started by mistake: each has its own schedule file and sends the tick.
        for name in ("beat-1", "beat-2"):
            processes[name] = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "driftgate", "beat", "--loglevel", "INFO",
                 "-s", str(work / f"{name}-schedule"), "--pidfile", ""], cwd=ROOT, env=env,
                stdout=open(work / f"{name}.log", "w"), stderr=subprocess.STDOUT)
        killed_at = None
        while time.monotonic() - began < 300:
            if DriftRun.objects.filter(use_case=use_case, status=RunStatus.RUNNING).exists():
                processes["A"].send_signal(signal.SIGKILL)
                processes["A"].wait(10)
                killed_at = time.monotonic() - began
                break
            time.sleep(0.05)
        left_running = list(DriftRun.objects.filter(use_case=use_case).values_list("status", flat=True))
        processes["B"] = worker("B")
        finished_at = None
        while time.monotonic() - began < 600:
            runs = list(DriftRun.objects.filter(use_case=use_case, window_start=start))
            if runs and all(run.status != RunStatus.RUNNING for run in runs):
                finished_at = finished_at or time.monotonic() - began
                # Keep B running past the visibility timeout, so A's lost message comes back and meets the run.
                if time.monotonic() - began > (killed_at or 0) + 75:
                    break
            time.sleep(1)
        runs = list(DriftRun.objects.filter(use_case=use_case).values("window_start", "status", "severity",
                                                                          "started_at"))
        alerts = Alert.objects.filter(use_case=use_case).count()
        result = {
            "window": [start.isoformat(), end.isoformat()],
            "killed_worker_after_s": round(killed_at, 1) if killed_at else None,
            "runs_when_killed": left_running,
            "run_finished_after_s": round(finished_at, 1) if finished_at else None,
            "runs": [{**run, "window_start": run["window_start"].isoformat(),
                      "started_at": run["started_at"].isoformat()} for run in runs],
            "alerts": alerts,
            "beat_ticks": {name: (work / f"{name}.log").read_text().count("Sending due task monitoring-hourly-drift-runs")
                           for name in ("beat-1", "beat-2")},
        }
        ok = (killed_at is not None and len(runs) == 1 and runs[0]["status"] == RunStatus.SUCCEEDED and alerts <= 1
              and all(ticks >= 2 for ticks in result["beat_ticks"].values()))
        result["ok"] = ok
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    process.kill()
        from django.db import connections

        connections.close_all()
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    sys.exit(main())
