"""Mixed load for 10 minutes against gunicorn and Celery workers: ingestion, CI status, pages, report requests.

    .venv/bin/python benchmarks/load.py [--minutes 10] [--users 24] [--port 8104] > var/bench-load.json

Creates its own database `driftgate_bench_load` (dropped at the end) on the server of DATABASE_URL, runs the
demo seed, makes machine users and tokens with `token_create --create-user`, starts a throw-away redis-server on a
free port as broker and cache, Celery workers for the ingest/default and reports queues, and gunicorn
(DJANGO_DEBUG=0 with WhiteNoise, behind no proxy) on loopback; then locust headless (`benchmarks/locustfile.py`).
Prints one JSON document: per endpoint the request count, failures, p50, p95 and p99 in ms, and the totals.
Needs the `bench` extra (locust).
"""
import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.processes import free_port, wait_http  # noqa: E402

DB_NAME = "driftgate_bench_load"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _manage(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """Run the load and print its statistics."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--spawn-rate", type=float, default=4)
    parser.add_argument("--port", type=int, default=8104)
    parser.add_argument("--web-workers", type=int, default=3)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="driftgate-load-"))
    redis_port = free_port()
    password = secrets.token_urlsafe(16)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": urlunparse(urlparse(SERVER_URL)._replace(
        path=f"/{DB_NAME}")), "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
           "DRIFTGATE_VAR_DIR": str(work / "var"), "DRIFTGATE_DEMO_PASSWORD": password,
           "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost", "DJANGO_SECURE_SSL_REDIRECT": "0",
           "DJANGO_SESSION_COOKIE_SECURE": "0", "DJANGO_CSRF_COOKIE_SECURE": "0", "DJANGO_SECURE_HSTS_SECONDS": "0",
           "DJANGO_STATIC_ROOT": str(work / "static"), "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DRIFTGATE_LOG_LEVEL": "WARNING"}
    env.pop("DRIFTGATE_TEST_DB_SUFFIX", None)
    processes: list[subprocess.Popen] = []
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    try:
        processes.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", str(work)],
                                          stdout=subprocess.DEVNULL))
        _manage(env, "migrate", "--noinput")
        _manage(env, "collectstatic", "--noinput")
        _manage(env, "demo_seed")
        traffic = _manage(env, "token_create", "--user", "serving", "--create-user", "--use-case",
                          "invoice-assistant", "--role", "platform_owner", "--name", "load", "--scope",
                          "traffic:write")
        status = _manage(env, "token_create", "--user", "ci-bot", "--create-user", "--use-case",
                         "invoice-assistant", "--role", "viewer", "--name", "load", "--scope", "status:read")
        # One serving token stands for a fleet of serving processes here; raise its batch rate accordingly.
        web_env = {**env, "DRIFTGATE_INGEST_RATE_PER_MINUTE": "100000"}
        log = open(work / "services.log", "w")
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "driftgate.wsgi", "--bind", f"127.0.0.1:{args.port}",
             "--workers", str(args.web_workers), "--timeout", "60"], cwd=ROOT, env=web_env, stdout=log, stderr=log))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "driftgate", "worker", "-Q", "ingest,default,drift",
             "--concurrency", "1", "--loglevel", "WARNING", "-n", "load-default@%h"], cwd=ROOT, env=env,
            stdout=log, stderr=log))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "driftgate", "worker", "-Q", "reports", "--concurrency", "1",
             "--loglevel", "WARNING", "-n", "load-reports@%h"], cwd=ROOT, env=env, stdout=log, stderr=log))
        host = f"http://127.0.0.1:{args.port}"
        wait_http(f"{host}/healthz/ready", timeout=60, request_timeout=2)
        started = time.time()
        subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "benchmarks" / "locustfile.py"),
                        "--headless", "--host", host, "--users", str(args.users), "--spawn-rate",
                        str(args.spawn_rate), "--run-time", f"{int(args.minutes * 60)}s", "--csv",
                        str(work / "load"), "--only-summary", "--loglevel", "WARNING"],
                       cwd=ROOT, env={**env, "LOAD_TRAFFIC_TOKEN": traffic, "LOAD_STATUS_TOKEN": status,
                                      "LOAD_PASSWORD": password}, check=False, capture_output=True)
        elapsed = time.time() - started
        with open(work / "load_stats.csv") as handle:
            rows = list(csv.DictReader(handle))
        with open(work / "load_failures.csv") as handle:
            failures = list(csv.DictReader(handle))
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            stored = conn.execute("SELECT count(*) FROM monitoring_trafficrecord").fetchone()[0]
            reports = dict(conn.execute("SELECT status, count(*) FROM reports_report GROUP BY status").fetchall())
        endpoints = [{"endpoint": row["Name"], "requests": int(row["Request Count"]),
                      "failures": int(row["Failure Count"]), "p50_ms": float(row["50%"] or 0),
                      "p95_ms": float(row["95%"] or 0), "p99_ms": float(row["99%"] or 0),
                      "rps": round(float(row["Requests/s"]), 2)} for row in rows]
        print(json.dumps({"minutes": round(elapsed / 60, 2), "users": args.users, "web_workers": args.web_workers,
                          "endpoints": endpoints, "failures": failures, "traffic_records_stored": stored,
                          "reports": reports, "load_average": os.getloadavg()}, indent=2))
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        with psycopg.connect(SERVER_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
