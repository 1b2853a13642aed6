"""Traffic ingestion throughput: HTTP through gunicorn into PostgreSQL beside a raw COPY of the same rows.

Run from the repository root (PostgreSQL from DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres):

    .venv/bin/python benchmarks/ingest.py [--batches 5] [--batch-size 10000] [--baseline REV] > var/bench-ingest.json

It creates (and at the end drops) its own database `driftgate_bench_ingest` (or `DRIFTGATE_BENCH_INGEST_DB`), migrates it, starts gunicorn on
127.0.0.1 against it and posts batches of realistic records (prompts and responses built from the prose of
the Python reference shipped with the standard library, a fifth of prompts repeated FAQ-style, scores,
feedback, segments, metadata) with a real `traffic:write` token. Beside each HTTP batch it COPYs the same
rows, already prepared (digests, hour, sample key computed outside the timing), straight into
monitoring_trafficrecord for another use case: the floor no ingestion path can beat on this machine. HTTP
batches alternate with COPY batches so both write into a table of the same size.

With --baseline REV (a git revision, e.g. main or HEAD~3) the revision's code is exported to a temporary
directory and served by a second gunicorn against the same database, and every HTTP batch is posted to both in
turn: the old and the new path side by side in one run, under the same load.

Reported: records/s of HTTP (JSON array and NDJSON), of a retried batch (all duplicates), of the same service
called in this process (no HTTP) and of raw COPY, and the ratios HTTP / COPY (target >= 0.5) and service /
COPY; and CPU seconds per batch, read from /proc: the web workers' and the database backends' for HTTP, this
process's and its backend's for COPY. Unlike the rates, the CPU figures hardly depend on what else runs on the
machine. Prints one JSON document.
"""
import argparse
import json
import os
import platform
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.processes import free_port, wait_http  # noqa: E402

# Its own name so that other benchmarks on the same server do not drop it mid-run.
BENCH_DB = os.environ.get("DRIFTGATE_BENCH_INGEST_DB", "driftgate_bench_ingest")
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BENCH_URL = urlunparse(urlparse(SERVER_URL)._replace(path=f"/{BENCH_DB}"))
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "driftgate.settings")
os.environ.pop("DRIFTGATE_TEST_DB_SUFFIX", None)


def recreate_database() -> None:
    """Drop and create the benchmark database on the server of DATABASE_URL."""
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def drop_database() -> None:
    """Remove the benchmark database."""
    with psycopg.connect(SERVER_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def migrate() -> None:
    """Bring the benchmark database to the current schema."""
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True,
                   cwd=ROOT, env=os.environ.copy())


def sentences() -> list[str]:
    """Return distinct English prose sentences from the standard library's Python reference."""
    from pydoc_data import topics

    found = set()
    for text in topics.topics.values():
        for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
            if 30 <= len(sentence) <= 240 and sentence[0].isupper() and ">>>" not in sentence:
                found.add(sentence)
    return sorted(found)


def make_records(rng: random.Random, pool: list[str], *, prefix: str, n: int, start: datetime) -> list[dict]:
    """Return n records shaped like a customer-service assistant's traffic over the past day."""
    faq = pool[:200]
    records = []
    for i in range(n):
        if rng.random() < 0.2:
            prompt = rng.choice(faq)
        else:
            prompt = " ".join(rng.sample(pool, rng.randint(1, 3)))
        response = " ".join(rng.sample(pool, rng.randint(3, 9)))
        records.append({
            "external_id": f"{prefix}-{i:07d}",
            "timestamp": (start + timedelta(seconds=i * 86_400 / n)).isoformat(),
            "prompt": prompt,
            "response": response,
            "model_version": "ft-2025-06",
            "score": round(rng.betavariate(8, 2), 4),
            "feedback": rng.choice([1, 1, 1, -1, None, None, None, None]),
            "segment": rng.choice(["web", "mobile", "email", "partner"]),
            "metadata": {"lang": "en", "latency_ms": rng.randint(200, 4000), "tokens_in": len(prompt) // 4,
                         "tokens_out": len(response) // 4, "session": secrets.token_hex(8)},
        })
    return records


def start_gunicorn(port: int, *, code: Path = ROOT, name: str = "bench-http") -> subprocess.Popen:
    """Start gunicorn with production settings on 127.0.0.1 serving the code in `code`; wait until it answers.

    Its database connections carry `name` as application_name, so their backends can be told apart.
    """
    env = os.environ.copy()
    env.update({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0", "DRIFTGATE_LOG_LEVEL": "WARNING",
                "DATABASE_URL": f"{BENCH_URL}?application_name={name}",
                # Ahead of an editable install of the project in the environment: the code served is `code`'s.
                "PYTHONPATH": str(code)})
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "driftgate.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "300", "--log-level", "warning", "--chdir", str(code)],
        cwd=code, env=env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", request_timeout=60)
        return process
    except BaseException:
        process.terminate()
        process.wait(timeout=30)
        raise


def export_revision(revision: str, into: Path) -> str:
    """Write the tree of a git revision into `into`; return its commit id."""
    commit = subprocess.run(["git", "rev-parse", "--verify", f"{revision}^{{commit}}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return commit


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def worker_pids(server: subprocess.Popen) -> list[int]:
    """The gunicorn master's worker processes."""
    try:
        return [int(pid) for pid in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


class CpuMeter:
    """CPU seconds of a set of processes between two readings: web workers and their database backends."""

    def __init__(self, monitor: psycopg.Connection, server: subprocess.Popen | None, name: str | None,
                 backend_pid: int | None = None) -> None:
        self.monitor, self.server, self.name, self.backend_pid = monitor, server, name, backend_pid

    def _backends(self) -> list[int]:
        if self.backend_pid is not None:
            return [self.backend_pid]
        rows = self.monitor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
                                    [BENCH_DB, self.name]).fetchall()
        return [row[0] for row in rows]

    def read(self) -> dict[int, float]:
        web = worker_pids(self.server) if self.server is not None else [os.getpid()]
        readings = {pid: cpu_seconds(pid) for pid in self._backends()}
        readings |= {-pid: cpu_seconds(pid) for pid in web}
        return readings

    @staticmethod
    def spent(before: dict[int, float], after: dict[int, float]) -> tuple[float, float]:
        """(web or client CPU, database CPU) between two readings; negative keys are web processes."""
        delta = {key: after[key] - before.get(key, 0.0) for key in after}
        return (sum(value for key, value in delta.items() if key < 0),
                sum(value for key, value in delta.items() if key > 0))


def setup_fixtures() -> tuple[object, object, str]:
    """Create the two use cases, the model version, the owner and a traffic token; return (http, copy, raw)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from driftgate.actors import Actor
    from governance.models import Membership, ModelVersion, UseCase
    from governance.services.tokens import api_token_create

    owner = get_user_model().objects.create_user("bench-owner", password=secrets.token_urlsafe(16))
    cases = []
    for slug in ("bench-http", "bench-copy"):
        case = UseCase.objects.create(slug=slug, name=slug, purpose="Benchmark", approach="fine_tuning",
                                      base_model="mistral-7b-instruct")
        ModelVersion.objects.create(use_case=case, label="ft-2025-06", base_model="mistral-7b-instruct",
                                    status="active")
        Membership.objects.create(use_case=case, user=owner, role="platform_owner")
        cases.append(case)
    _, raw = api_token_create(actor=Actor.system("benchmark"), owner_username=owner.username, name="bench",
                              scopes=["traffic:write"])
    # The months the records fall in exist before anything is timed, for both paths, as the daily task
    # would have made them.
    from monitoring.ingest.partitions import ensure_partitions
    now = datetime.now(UTC)
    ensure_partitions([now - timedelta(days=3), now - timedelta(days=2), now])
    return cases[0], cases[1], raw


def prepared_rows(use_case, records: list[dict]) -> list[tuple]:
    """Return the table rows of the records, computed outside any timing, as a raw loader would have them."""
    from governance.models import ModelVersion
    from monitoring.ingest.digest import text_digest

    version_id = ModelVersion.objects.get(use_case=use_case).pk
    now = datetime.now(UTC)
    rows = []
    for r in records:
        stamp = datetime.fromisoformat(r["timestamp"])
        rows.append((use_case.pk, r["external_id"], stamp, stamp.replace(minute=0, second=0, microsecond=0), now,
                     r["prompt"], r["response"], text_digest(r["prompt"]), text_digest(r["response"]), version_id,
                     r["score"], r["feedback"], r["segment"], json.dumps(r["metadata"]), "{}", secrets.randbits(63)))
    return rows


COPY_COLUMNS = ("use_case_id, external_id, timestamp, hour, received_at, prompt, response, prompt_digest, "
                "response_digest, model_version_id, score, feedback, segment, metadata, redactions, sample_key")


def raw_copy(rows: list[tuple], monitor: psycopg.Connection, cpu: list) -> float:
    """COPY the rows straight into the table in one transaction; return the seconds it took."""
    with psycopg.connect(BENCH_URL) as conn:
        meter = CpuMeter(monitor, None, None, backend_pid=conn.info.backend_pid)
        before = meter.read()
        cpu_before = time.process_time()
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY monitoring_trafficrecord ({COPY_COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        elapsed = time.perf_counter() - started
        cpu.append((time.process_time() - cpu_before, CpuMeter.spent(before, meter.read())[1]))
        return elapsed


def in_process(use_case, body: bytes) -> float:
    """Ingest one batch through the service in this process; return the seconds it took."""
    from driftgate.actors import Actor
    from monitoring.services.traffic import traffic_ingest

    started = time.perf_counter()
    result = traffic_ingest(actor=Actor.system("benchmark"), use_case=use_case, body=body,
                            content_type="application/json")
    elapsed = time.perf_counter() - started
    assert result.rejected == 0 and result.duplicate == 0, result
    return elapsed


def post(session: requests.Session, url: str, body: bytes, content_type: str,
         meter: CpuMeter | None = None, cpu: list | None = None) -> tuple[float, dict]:
    """POST one batch; return the seconds it took and the response body (and note the CPU it took in `cpu`)."""
    before = meter.read() if meter is not None else {}
    started = time.perf_counter()
    response = session.post(url, data=body, headers={"Content-Type": content_type})
    elapsed = time.perf_counter() - started
    if meter is not None and cpu is not None:
        cpu.append(CpuMeter.spent(before, meter.read()))
    response.raise_for_status()
    return elapsed, response.json()


def machine() -> dict:
    """Describe the machine the numbers come from."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines() if line.startswith("Model name")), "")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    with psycopg.connect(SERVER_URL) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gib": round(mem_kb / 2**20, 1),
            "postgresql": server, "python": platform.python_version(), "psycopg": psycopg.__version__,
            # Other work on the machine slows the Python side more than COPY; the load puts a run in context.
            "load_average_1m": round(os.getloadavg()[0], 2)}


def rate(n: int, seconds: list[float]) -> float:
    """Records per second over the batches."""
    return round(n * len(seconds) / sum(seconds), 1) if seconds else 0.0


def cpu_summary(readings: list[tuple[float, float]]) -> dict:
    """Median CPU seconds per batch, on the web (or client) side and in the database."""
    if not readings:
        return {}
    return {"web_or_client": round(statistics.median(web for web, _ in readings), 3),
            "database": round(statistics.median(db for _, db in readings), 3),
            "total": round(statistics.median(web + db for web, db in readings), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=5, help="HTTP batches per format (and COPY batches).")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--baseline", metavar="REV", help="Also serve this git revision and post every batch to it.")
    parser.add_argument("--keep-db", action="store_true", help="Leave the benchmark database in place.")
    args = parser.parse_args()

    load_at_start = round(os.getloadavg()[0], 2)
    recreate_database()
    migrate()
    http_case, copy_case, raw_token = setup_fixtures()
    monitor = psycopg.connect(SERVER_URL, autocommit=True)
    ports = {"http": free_port()}
    servers = {"http": start_gunicorn(ports["http"], name="bench-http")}
    baseline_dir = None
    baseline_commit = None
    if args.baseline:
        baseline_dir = tempfile.TemporaryDirectory(prefix="driftgate-baseline-")
        baseline_commit = export_revision(args.baseline, Path(baseline_dir.name))
        ports["baseline"] = free_port()
        servers["baseline"] = start_gunicorn(ports["baseline"], code=Path(baseline_dir.name), name="bench-baseline")
    rng = random.Random(20250601)
    pool = sentences()
    start = datetime.now(UTC) - timedelta(days=2)
    arms = ["json", "ndjson", "retry"] + (["baseline_json", "baseline_ndjson"] if args.baseline else [])
    results: dict[str, list[float]] = {arm: [] for arm in arms + ["copy", "service"]}
    cpu: dict[str, list] = {arm: [] for arm in arms + ["copy"]}
    body_bytes: list[int] = []
    try:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {raw_token}"
        urls = {name: f"http://127.0.0.1:{port}/api/v1/use-cases/{http_case.slug}/traffic"
                for name, port in ports.items()}
        meters = {name: CpuMeter(monitor, server, f"bench-{name}") for name, server in servers.items()}
        # Small untimed batches load the application in every gunicorn worker and open the connections.
        for name, url in urls.items():
            for warm in range(4):
                records = make_records(rng, pool, prefix=f"warm-{name}{warm}", n=200, start=start)
                post(session, url, json.dumps(records).encode(), "application/json")
        for batch in range(args.batches):
            for fmt in ("json", "ndjson"):
                # The new path and the baseline each get a fresh batch of the same shape, in turn, with a COPY of
                # the same rows beside each.
                for name in urls:
                    arm = fmt if name == "http" else f"baseline_{fmt}"
                    records = make_records(rng, pool, prefix=f"{arm}{batch}", n=args.batch_size, start=start)
                    if fmt == "json":
                        body = json.dumps(records).encode()
                        content_type = "application/json"
                    else:
                        body = "\n".join(json.dumps(record) for record in records).encode()
                        content_type = "application/x-ndjson"
                    body_bytes.append(len(body))
                    seconds, answer = post(session, urls[name], body, content_type, meters[name], cpu[arm])
                    assert answer["accepted"] == args.batch_size, answer
                    results[arm].append(seconds)
                    if arm == "json":
                        seconds, answer = post(session, urls[name], body, content_type, meters[name], cpu["retry"])
                        assert answer["duplicate"] == args.batch_size, answer
                        results["retry"].append(seconds)
                    results["copy"].append(raw_copy(prepared_rows(copy_case, records), monitor, cpu["copy"]))
            # The same service in this process, without HTTP: what the request layer adds, beside the same COPY.
            records = make_records(rng, pool, prefix=f"svc{batch}", n=args.batch_size, start=start)
            results["service"].append(in_process(http_case, json.dumps(records).encode()))
            results["copy"].append(raw_copy(prepared_rows(copy_case, records), monitor, cpu["copy"]))
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(timeout=30)
        if baseline_dir is not None:
            baseline_dir.cleanup()
    http_rate = rate(args.batch_size, results["json"] + results["ndjson"])
    copy_rate = rate(args.batch_size, results["copy"])
    records_per_s = {
        "http_json": rate(args.batch_size, results["json"]),
        "http_ndjson": rate(args.batch_size, results["ndjson"]),
        "http_all": http_rate,
        "http_retry_all_duplicates": rate(args.batch_size, results["retry"]),
        "raw_copy": copy_rate,
        "service_in_process": rate(args.batch_size, results["service"]),
    }
    report = {
        "benchmark": "ingest",
        "machine": machine() | {"load_average_1m_at_start": load_at_start},
        "batch_size": args.batch_size,
        "batches": {key: len(value) for key, value in results.items()},
        "body_bytes_mean": int(statistics.mean(body_bytes)),
        "records_per_s": records_per_s,
        "batch_seconds_median": {key: round(statistics.median(value), 3) for key, value in results.items() if value},
        # Every batch, in the order posted: one slow batch (a checkpoint, a burst of other work) moves the rate of
        # its arm, not its median, and shows here.
        "batch_seconds": {key: [round(seconds, 3) for seconds in value] for key, value in results.items()},
        "cpu_seconds_per_batch_median": {key: cpu_summary(value) for key, value in cpu.items()},
        "http_to_copy_ratio": round(http_rate / copy_rate, 3),
        "service_to_copy_ratio": round(rate(args.batch_size, results["service"]) / copy_rate, 3),
        "target_ratio": 0.5,
        "meets_target": http_rate / copy_rate >= 0.5,
    }
    if args.baseline:
        baseline_rate = rate(args.batch_size, results["baseline_json"] + results["baseline_ndjson"])
        records_per_s |= {"baseline_http_json": rate(args.batch_size, results["baseline_json"]),
                          "baseline_http_ndjson": rate(args.batch_size, results["baseline_ndjson"]),
                          "baseline_http_all": baseline_rate}
        report |= {"baseline": {"revision": args.baseline, "commit": baseline_commit},
                   "baseline_http_to_copy_ratio": round(baseline_rate / copy_rate, 3)}
    monitor.close()
    if not args.keep_db:
        from django.db import connections

        connections.close_all()
        drop_database()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
