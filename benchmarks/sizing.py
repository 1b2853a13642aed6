"""Sizing on loopback: two gunicorn and two Celery worker processes, ingestion driven for a fixed time.

    .venv/bin/python benchmarks/sizing.py [--seconds 30] [--batch-size 1000] [--windows 1] [--sample-size 2000] \
        [--baseline-size 10000] [--baseline-texts 1500] > var/bench-sizing.json

Creates its own database `driftgate_bench_sizing` (or `DRIFTGATE_BENCH_SIZING_DB`; dropped at the end) on the
server of DATABASE_URL and a throw-away redis-server on a free port as broker and cache. Before anything is
timed it makes a use case with a monitoring policy (hourly windows, `--sample-size` records sampled per window)
and a frozen baseline of `--baseline-size` records from three days ago. The baseline's records repeat their
texts as real traffic does: prompts and responses are drawn from `--baseline-texts` distinct ones each (0: every
record fresh), and the build embeds each distinct text once, in this process on every core (what
`baseline_build` does with texts that arrived while embedding on arrival was off). Then:

1. **ingest**: starts `gunicorn -w 2` and `celery worker -c 2` (queues ingest, embed, drift, default; one
   embedding thread per worker process) on loopback and posts batches of realistic records
   (`benchmarks/ingest.py`'s prose) from two client threads for `--seconds`, spread over the last `--windows`
   hourly windows. Every stored batch queues the embedding of its windows' samples (embedding on arrival),
   which the workers run meanwhile.
2. **embed drain**: waits until the workers have worked off the embedding queue (at most `--drain-timeout`).
3. **drift**: queues one drift run per window through the broker, as the hourly schedule does, and waits for
   them (a run embeds whatever of its sample is still missing).

CPU seconds per phase are read from /proc every half second: the gunicorn workers and their database backends,
the Celery worker processes and theirs (told apart by application_name). Per-core throughput is what a phase
did per CPU second it used, the figure to size cores by; the wall-clock rates are given beside it with the
machine's load average, since other work on the machine slows them. Prints one JSON document.
"""
import argparse
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("DRIFTGATE_BENCH_SIZING_DB", "driftgate_bench_sizing")
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_URL = urlunparse(urlparse(SERVER_URL)._replace(path=f"/{BENCH_DB}"))
REDIS_PORT = int(os.environ.get("DRIFTGATE_BENCH_SIZING_REDIS_PORT", "0"))
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.pop("DRIFTGATE_TEST_DB_SUFFIX", None)
# This process builds the baseline itself and queues nothing: no broker, no embedding on arrival.
os.environ.pop("CELERY_BROKER_URL", None)
os.environ["DRIFTGATE_EMBED_ON_ARRIVAL"] = "0"

from benchmarks.ingest import cpu_seconds, make_records, sentences  # noqa: E402
from benchmarks.processes import free_port, wait_http  # noqa: E402

# Importing the ingestion benchmark pointed DATABASE_URL at its own database.
os.environ["DATABASE_URL"] = BENCH_URL

WEB_NAME, WORKER_NAME = "sizing-web", "sizing-worker"
SLUG = "sizing"
VERSION = "ft-2025-06"


def children(pid: int) -> list[int]:
    """Direct child processes of a process."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class Sampler(threading.Thread):
    """Reads the CPU time of the web and worker processes and their database backends every half second."""

    def __init__(self, web: subprocess.Popen, worker: subprocess.Popen) -> None:
        super().__init__(daemon=True)
        self.web, self.worker = web, worker
        self.latest: dict[tuple[str, int], float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def sample(self, monitor: psycopg.Connection) -> None:
        rows = monitor.execute("SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s",
                               [BENCH_DB]).fetchall()
        groups = {"web": children(self.web.pid), "worker": children(self.worker.pid),
                  "web_db": [pid for pid, name in rows if name == WEB_NAME],
                  "worker_db": [pid for pid, name in rows if name == WORKER_NAME]}
        readings = {(group, pid): cpu_seconds(pid) for group, pids in groups.items() for pid in pids}
        with self.lock:
            for key, value in readings.items():
                # A process that has gone keeps its last reading.
                if value > 0:
                    self.latest[key] = value

    def run(self) -> None:
        with psycopg.connect(SERVER_URL, autocommit=True) as monitor:
            while not self.stopping.is_set():
                self.sample(monitor)
                self.stopping.wait(0.5)

    def mark(self) -> dict:
        """A reading to compare a later one with."""
        with psycopg.connect(SERVER_URL, autocommit=True) as monitor:
            self.sample(monitor)
        with self.lock:
            return dict(self.latest)

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds per group between two marks."""
        totals = {"web": 0.0, "web_db": 0.0, "worker": 0.0, "worker_db": 0.0}
        for key, value in after.items():
            totals[key[0]] += value - before.get(key, 0.0)
        return {group: round(value, 2) for group, value in totals.items()}


def recreate_database() -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database() -> None:
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def baseline_records(rng: random.Random, pool: list[str], *, n: int, distinct: int, start: datetime) -> list[dict]:
    """Return n records over a day whose prompts and responses come from `distinct` texts each (0: all fresh).

    The texts are those of `distinct` records of the same shape, drawn independently of each other, so a
    frequent prompt gets different answers and a popular answer follows different prompts, as in real traffic.
    """
    records = make_records(rng, pool, prefix="baseline", n=n, start=start)
    if distinct:
        texts = make_records(rng, pool, prefix="text", n=distinct, start=start)
        prompts = [text["prompt"] for text in texts]
        responses = [text["response"] for text in texts]
        for record in records:
            record["prompt"], record["response"] = rng.choice(prompts), rng.choice(responses)
    return records


def setup(*, sample_size: int, baseline_size: int, baseline_texts: int, now: datetime, windows: int,
          pool: list[str]) -> tuple[str, dict]:
    """Migrate; make the use case, its policy, a frozen baseline and a traffic token; return the raw token.

    Also returns what the baseline held and how long its steps took.
    """
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True,
                   cwd=ROOT, env=os.environ.copy())
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from driftgate.actors import Actor
    from governance.models import Membership, ModelVersion, UseCase
    from governance.services.tokens import api_token_create
    from monitoring.ingest.partitions import ensure_partitions
    from monitoring.services.baselines import baseline_build, baseline_freeze
    from monitoring.services.policies import policy_configure
    from monitoring.services.traffic import traffic_ingest

    owner = get_user_model().objects.create_user("sizing-owner", password=secrets.token_urlsafe(16))
    use_case = UseCase.objects.create(slug=SLUG, name="Sizing", purpose="Benchmark", approach="fine_tuning",
                                      base_model="mistral-7b-instruct")
    ModelVersion.objects.create(use_case=use_case, label=VERSION, base_model="mistral-7b-instruct", status="active")
    Membership.objects.create(use_case=use_case, user=owner, role="platform_owner")
    actor = Actor.for_user(owner)
    from monitoring.drift import Policy

    policy_configure(actor=actor, use_case=use_case, config=Policy().to_dict(), auto_halt=False, window_hours=1,
                     sample_size=sample_size, material_degradation=0.10, enabled=True,
                     ingest_rate_per_minute=60_000)
    ensure_partitions([now - timedelta(days=3), now - timedelta(hours=windows + 1), now])
    migrated = time.perf_counter()
    baseline_start = now - timedelta(days=3)
    records = baseline_records(random.Random(7), pool, n=baseline_size, distinct=baseline_texts,
                               start=baseline_start)
    for offset in range(0, len(records), 1000):
        traffic_ingest(actor=Actor.system("benchmark"), use_case=use_case,
                       body=json.dumps(records[offset:offset + 1000]).encode(), content_type="application/json")
    ingested = time.perf_counter()
    # This process's CPU over all its threads: what the build's embedding cost, beside the workers' rate.
    cpu_before = time.process_time()
    built = baseline_build(actor=actor, use_case=use_case, start=baseline_start,
                           end=baseline_start + timedelta(days=1), sample_size=baseline_size)
    frozen = baseline_freeze(actor=actor, baseline=built)
    finished = time.perf_counter()
    build_cpu = time.process_time() - cpu_before
    from monitoring.models import TextEmbedding

    baseline = {"records": frozen.n_records, "responses": built.summary["n_responses"],
                "distinct_prompts": built.summary["distinct_prompts"],
                "distinct_responses": built.summary["distinct_responses"],
                "texts_embedded": TextEmbedding.objects.count(),
                "seconds_migrate": round(migrated - started, 1),
                "seconds_ingest": round(ingested - migrated, 1),
                "seconds_build_and_freeze": round(finished - ingested, 1),
                "cpu_seconds_build_and_freeze": round(build_cpu, 1)}
    _, raw = api_token_create(actor=Actor.system("benchmark"), owner_username=owner.username, name="sizing",
                              scopes=["traffic:write"])
    return raw, baseline


def service_env(redis_url: str, name: str, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"{BENCH_URL}?application_name={name}",
           "CELERY_BROKER_URL": redis_url, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0", "DRIFTGATE_LOG_LEVEL": "WARNING",
           "DRIFTGATE_VAR_DIR": str(work / "var"), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           # One embedding thread per worker process: two processes, two cores.
           "DRIFTGATE_EMBEDDING_THREADS": "1"}
    env.pop("DRIFTGATE_EMBED_ON_ARRIVAL", None)
    return env


def queue_lengths(redis_url: str) -> int:
    """Messages waiting in the broker's queues plus those a worker has taken and not acknowledged."""
    import redis

    client = redis.Redis.from_url(redis_url)
    waiting = sum(client.llen(queue) for queue in ("ingest", "embed", "drift", "default"))
    return waiting + client.hlen("unacked")


def embedded_count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM monitoring_textembedding").fetchone()[0]


def window_starts(now: datetime, windows: int) -> list[datetime]:
    """The last `windows` complete hourly windows, oldest first: those the hourly schedule would run."""
    current = now.replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=offset) for offset in range(windows, 0, -1)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The benchmark's options; the defaults are the product's window against a 10,000-record baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="How long ingestion is driven.")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2, help="Client threads posting batches.")
    parser.add_argument("--windows", type=int, default=1, help="Hourly windows the traffic is spread over.")
    parser.add_argument("--sample-size", type=int, default=2000, help="The policy's sample per window.")
    parser.add_argument("--baseline-size", type=int, default=10_000,
                        help="Records in the frozen baseline (built and embedded before anything is timed).")
    parser.add_argument("--baseline-texts", type=int, default=1500,
                        help="Distinct prompts, and distinct responses, the baseline's records repeat (0: all fresh).")
    parser.add_argument("--drain-timeout", type=float, default=600)
    args = parser.parse_args(argv)
    # The product refuses baselines above 50,000 records; below 100 the clusters cannot be fitted.
    if not 100 <= args.baseline_size <= 50_000:
        parser.error("--baseline-size must lie between 100 and 50,000")
    if args.baseline_texts < 0:
        parser.error("--baseline-texts must not be negative")
    return args


def main() -> None:
    args = parse_args()

    # A stopped benchmark still stops its services and drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_at_start = os.getloadavg()
    now = datetime.now(UTC)
    pool = sentences()
    work = Path(tempfile.mkdtemp(prefix="driftgate-sizing-"))
    redis_port = REDIS_PORT or free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    os.environ["DRIFTGATE_BASELINE_MIN_RECORDS"] = str(min(args.baseline_size, 10_000))
    processes: list[subprocess.Popen] = []
    recreate_database()
    try:
        processes.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", str(work)],
                                          stdout=subprocess.DEVNULL))
        setup_started = time.perf_counter()
        token, baseline = setup(sample_size=args.sample_size, baseline_size=args.baseline_size,
                                baseline_texts=args.baseline_texts, now=now, windows=args.windows, pool=pool)
        setup_seconds = time.perf_counter() - setup_started
        log = open(work / "services.log", "w")
        port = free_port()
        web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "driftgate.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--timeout", "300", "--log-level", "warning"],
            cwd=ROOT, env=service_env(redis_url, WEB_NAME, work), stdout=log, stderr=log)
        processes.append(web)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "driftgate", "worker", "-Q", "ingest,embed,drift,default",
             "--concurrency", "2", "--prefetch-multiplier", "1", "--loglevel", "WARNING", "-n", "sizing@%h"],
            cwd=ROOT, env=service_env(redis_url, WORKER_NAME, work), stdout=log, stderr=log)
        processes.append(worker)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz")
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        url = f"{base}/api/v1/use-cases/{SLUG}/traffic"
        starts = window_starts(now, args.windows)

        def batch(prefix: str, n: int) -> bytes:
            rng = random.Random(prefix)
            records = make_records(rng, pool, prefix=prefix, n=n, start=starts[0])
            for index, record in enumerate(records):
                # Round robin over the windows, each record at a random moment of its hour.
                start = starts[index % len(starts)]
                record["timestamp"] = (start + timedelta(seconds=rng.uniform(0, 3599))).isoformat()
            return json.dumps(records).encode()

        # Untimed: every gunicorn worker imports the application; the workers load the embedding model.
        for warm in range(4):
            session.post(url, data=batch(f"warm{warm}", 20), headers={"Content-Type": "application/json"},
                         timeout=300).raise_for_status()
        sampler = Sampler(web, worker)
        sampler.start()
        with psycopg.connect(BENCH_URL, autocommit=True) as conn:
            deadline = time.monotonic() + 300
            while queue_lengths(redis_url) and time.monotonic() < deadline:
                time.sleep(0.5)
            embedded_before = embedded_count(conn)
            mark_ingest = sampler.mark()
            accepted = [0] * args.clients
            errors: list[str] = []
            stop_at = time.monotonic() + args.seconds
            ingest_started = time.perf_counter()

            def client(number: int) -> None:
                own = requests.Session()
                own.headers["Authorization"] = f"Bearer {token}"
                sent = 0
                while time.monotonic() < stop_at:
                    # Fresh texts every time, as a serving fleet sends: each is embedded once.
                    body = batch(f"c{number}-{sent}", args.batch_size)
                    response = own.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=300)
                    if response.status_code != 200:
                        errors.append(f"{response.status_code}: {response.text[:200]}")
                        continue
                    accepted[number] += response.json()["accepted"]
                    sent += 1

            threads = [threading.Thread(target=client, args=(number,)) for number in range(args.clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            ingest_seconds = time.perf_counter() - ingest_started
            mark_drain = sampler.mark()
            embedded_during_ingest = embedded_count(conn) - embedded_before
            drain_started = time.perf_counter()
            deadline = time.monotonic() + args.drain_timeout
            while queue_lengths(redis_url) and time.monotonic() < deadline:
                time.sleep(0.5)
            drain_seconds = time.perf_counter() - drain_started
            drained = not queue_lengths(redis_url)
            mark_drift = sampler.mark()
            embedded_total = embedded_count(conn) - embedded_before

            from celery import Celery

            broker = Celery(broker=redis_url)
            drift_started = time.perf_counter()
            use_case_id = conn.execute("SELECT id FROM governance_usecase WHERE slug = %s", [SLUG]).fetchone()[0]
            for start in starts:
                broker.send_task("monitoring.tasks.drift_window",
                                 args=[use_case_id, start.isoformat(), (start + timedelta(hours=1)).isoformat()],
                                 queue="drift")
            deadline = time.monotonic() + args.drain_timeout
            runs: list = []
            while time.monotonic() < deadline:
                runs = conn.execute("SELECT status, n, finished_at - started_at FROM monitoring_driftrun "
                                    "WHERE use_case_id = %s AND window_start >= %s",
                                    [use_case_id, starts[0]]).fetchall()
                if len(runs) == len(starts) and all(status != "running" for status, _, _ in runs):
                    break
                time.sleep(0.5)
            drift_seconds = time.perf_counter() - drift_started
            mark_end = sampler.mark()
            sampler.stopping.set()
            sizes = dict(conn.execute(
                "SELECT 'records', pg_total_relation_size('monitoring_trafficrecord') + coalesce((SELECT "
                "sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = "
                "'monitoring_trafficrecord'::regclass), 0) UNION ALL SELECT 'keys', "
                "pg_total_relation_size('monitoring_traffickey') UNION ALL SELECT 'embeddings', "
                "pg_total_relation_size('monitoring_textembedding')").fetchall())
            stored = conn.execute("SELECT count(*) FROM monitoring_trafficrecord").fetchone()[0]
            embeddings = embedded_count(conn)
        records = sum(accepted)
        ingest_cpu = Sampler.spent(mark_ingest, mark_drain)
        drain_cpu = Sampler.spent(mark_drain, mark_drift)
        drift_cpu = Sampler.spent(mark_drift, mark_end)
        embed_cpu = ingest_cpu["worker"] + ingest_cpu["worker_db"] + drain_cpu["worker"] + drain_cpu["worker_db"]
        web_cpu = ingest_cpu["web"] + ingest_cpu["web_db"]
        drift_cores = drift_cpu["worker"] + drift_cpu["worker_db"]
        succeeded = [run for run in runs if run[0] == "succeeded"]
        report = {
            "benchmark": "sizing",
            "setup": {"seconds": round(setup_seconds, 1), "sample_size": args.sample_size, "windows": args.windows,
                      "baseline_size": args.baseline_size, "baseline_texts": args.baseline_texts,
                      "baseline": baseline,
                      "batch_size": args.batch_size, "clients": args.clients,
                      "processes": "gunicorn -w 2; celery worker -c 2 (ingest, embed, drift, default), "
                                   "1 embedding thread each; PostgreSQL and Redis on the same machine"},
            "machine": {"cpus": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in load_at_start],
                        "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
            "ingest": {"seconds": round(ingest_seconds, 1), "records": records, "errors": errors[:5],
                       "records_per_s": round(records / ingest_seconds, 1), "cpu_seconds": ingest_cpu,
                       "records_per_cpu_second_web_and_db": round(records / web_cpu, 1) if web_cpu else None,
                       "records_per_cpu_second_web_only": round(records / ingest_cpu["web"], 1)
                       if ingest_cpu["web"] else None,
                       "embedded_meanwhile": embedded_during_ingest},
            "embed": {"texts": embedded_total, "drain_seconds_after_ingest": round(drain_seconds, 1),
                      "queue_drained": drained,
                      "cpu_seconds_workers_and_db": round(embed_cpu, 2), "drain_cpu_seconds": drain_cpu,
                      "texts_per_cpu_second": round(embedded_total / embed_cpu, 1) if embed_cpu else None},
            "drift": {"runs": len(runs), "succeeded": len(succeeded), "seconds": round(drift_seconds, 1),
                      "cpu_seconds": drift_cpu, "records_per_run": [run[1] for run in runs],
                      "run_seconds": [round(run[2].total_seconds(), 2) for run in runs if run[2] is not None],
                      "runs_per_cpu_second": round(len(succeeded) / drift_cores, 3) if drift_cores else None},
            "storage": {"records_stored": stored, "embeddings_stored": embeddings, "bytes": sizes,
                        "bytes_per_record": round((sizes["records"] + sizes["keys"]) / stored) if stored else None,
                        "bytes_per_embedding": round(sizes["embeddings"] / embeddings) if embeddings else None},
        }
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        # A Celery worker's pool processes outlive a master that was killed: stop whatever is left of them.
        for process in processes:
            for child in children(process.pid):
                try:
                    os.kill(child, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        from django.db import connections

        connections.close_all()
        drop_database()
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
