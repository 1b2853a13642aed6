"""PostgreSQL crashes and comes back while clients post traffic: 503s with a stable code, then nothing lost or doubled.

The test runs its own throw-away cluster (initdb into a temporary directory, a free port, as the `postgres`
OS user), migrates it, serves the application with gunicorn against it and posts batches from two client
threads that retry on 503 as a serving layer would. Midway the cluster is stopped with `-m immediate` (a
crash: no checkpoint, recovery from WAL on start), left down for a while, and started again.
"""
import json
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")
BATCHES = 24
PER_BATCH = 250
DEADLINE_SECONDS = 240

pytestmark = pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="needs PostgreSQL 15's server binaries")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(*command: str) -> list[str]:
    # PostgreSQL refuses to run as root; as root the test becomes the postgres user for the server only.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class Cluster:
    """A PostgreSQL cluster of the test's own, in a temporary directory."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "data"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/driftgate"

    def _run(self, *args: str, timeout: int = 60) -> None:
        subprocess.run(_as_postgres(*args), check=True, timeout=timeout, capture_output=True)

    def init(self) -> None:
        """Create the cluster and its database."""
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")
        self.start()
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE driftgate")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        # fsync off: the operating system does not crash here, only PostgreSQL, so no write is lost by it.
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log"), "-o", options,
                  "-w", "-t", "60", "start", timeout=90)

    def crash(self) -> None:
        """Stop the server at once, as a crash would: open connections are cut, recovery runs on start."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Shut the server down if it runs."""
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"),
                       timeout=60, capture_output=True)

    def query(self, sql: str) -> list[tuple]:
        """Run one query against the application's database."""
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def cluster():
    base = Path(tempfile.mkdtemp(prefix="driftgate-pg-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    server = Cluster(base)
    try:
        server.init()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _environment(cluster: Cluster) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DRIFTGATE_TEST_")}
    env.update({"DATABASE_URL": cluster.url, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DRIFTGATE_LOG_LEVEL": "ERROR", "PYTHONPATH": str(ROOT), "CELERY_BROKER_URL": "",
                # Production settings otherwise; the audit keys are development ones in the git-ignored var/.
                "DRIFTGATE_AUDIT_DEV_KEYS": "1"})
    return env


SETUP = """
import django
django.setup()
from django.contrib.auth import get_user_model
from driftgate.actors import Actor
from governance.models import Membership, ModelVersion, UseCase
from governance.services.tokens import api_token_create
owner = get_user_model().objects.create_user("serving-owner")
case = UseCase.objects.create(slug="restart", name="restart", purpose="Fault test", approach="fine_tuning",
                              base_model="m")
ModelVersion.objects.create(use_case=case, label="v1", base_model="m", status="active")
Membership.objects.create(use_case=case, user=owner, role="platform_owner")
print(api_token_create(actor=Actor.system("tests"), owner_username=owner.username, name="serving",
                       scopes=["traffic:write"])[1])
"""


def _serve(cluster: Cluster) -> tuple[subprocess.Popen, str, str]:
    env = _environment(cluster)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=300)
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, timeout=120, capture_output=True,
                           text=True)
    assert setup.returncode == 0, setup.stderr[-3000:]
    token = setup.stdout.strip().splitlines()[-1]
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "driftgate.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--timeout", "60", "--log-level", "error"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=30).status_code < 500:
                return server, f"{url}/api/v1/use-cases/restart/traffic", token
        except requests.RequestException:
            time.sleep(0.3)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def _batch(number: int) -> bytes:
    stamp = datetime.now(UTC) - timedelta(minutes=30)
    return json.dumps([{"external_id": f"b{number:02d}-{i:04d}",
                        "timestamp": (stamp + timedelta(seconds=i)).isoformat(),
                        "prompt": f"How do I change the delivery address of order {number}-{i}?",
                        "response": "Open the order and choose Change address.", "model_version": "v1",
                        "score": 0.8} for i in range(PER_BATCH)]).encode()


class Client(threading.Thread):
    """Posts its batches one after another, retrying each until it gets a 200, as a serving layer would."""

    def __init__(self, url: str, token: str, batches: list[int], accepted: threading.Semaphore) -> None:
        super().__init__(daemon=True)
        self.url, self.batches, self.accepted = url, batches, accepted
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        self.statuses: list[int] = []
        self.refusals: list[dict] = []
        self.results: list[dict] = []
        self.transport_errors = 0

    def run(self) -> None:
        for number in self.batches:
            body = _batch(number)
            while True:
                try:
                    response = self.session.post(self.url, data=body, timeout=60)
                except requests.RequestException:
                    self.transport_errors += 1
                    time.sleep(0.2)
                    continue
                self.statuses.append(response.status_code)
                if response.status_code == 200:
                    self.results.append(response.json())
                    self.accepted.release()
                    break
                self.refusals.append({"status": response.status_code,
                                      "retry_after": response.headers.get("Retry-After"), **response.json()})
                if response.status_code != 503:
                    return
                # Honour Retry-After, shortened so the test stays quick.
                time.sleep(min(float(response.headers.get("Retry-After", "1")), 0.5))


def test_a_postgresql_crash_mid_ingestion_gives_503s_and_loses_or_doubles_nothing(cluster):
    started = time.monotonic()
    server, url, token = _serve(cluster)
    try:
        accepted = threading.Semaphore(0)
        clients = [Client(url, token, list(range(first, BATCHES, 2)), accepted) for first in (0, 1)]
        for client in clients:
            client.start()
        for _ in range(4):
            assert accepted.acquire(timeout=120)
        cluster.crash()
        # Long enough that both clients post into the outage.
        time.sleep(3)
        cluster.start()
        for client in clients:
            client.join(timeout=DEADLINE_SECONDS)
            assert not client.is_alive()
    finally:
        server.terminate()
        server.wait(timeout=30)

    statuses = [status for client in clients for status in client.statuses]
    refusals = [refusal for client in clients for refusal in client.refusals]
    assert set(statuses) <= {200, 503}, refusals
    assert refusals, "no request met the outage"
    assert {(r["status"], r["code"], r["retry_after"]) for r in refusals} == {(503, "database_unavailable", "2")}
    assert sum(client.transport_errors for client in clients) == 0
    assert sum(len(client.results) for client in clients) == BATCHES
    stored = cluster.query("SELECT count(*), count(DISTINCT external_id) FROM monitoring_trafficrecord")[0]
    keys = cluster.query("SELECT count(*) FROM monitoring_traffickey")[0][0]
    assert stored == (BATCHES * PER_BATCH, BATCHES * PER_BATCH)
    assert keys == BATCHES * PER_BATCH
    results = [result for client in clients for result in client.results]
    # Each record is counted once over the final answers: accepted, or a duplicate when the first attempt had
    # committed but its answer was lost with the connection.
    assert sum(result["accepted"] + result["duplicate"] for result in results) == BATCHES * PER_BATCH
    assert all(result["rejected"] == 0 for result in results)
    assert time.monotonic() - started < DEADLINE_SECONDS
