"""Redis stopped: the web keeps answering, queued work resumes when Redis is back, nothing lost or done twice.

A throw-away redis-server of this test's own (free loopback port, append-only file in a temporary directory) is
the broker and the cache. A report is queued, Redis is stopped, the web is asked for status, pages, ingestion
and another report, Redis comes back from its append-only file, and a real worker renders both: the first from
the message Redis kept, the second from the sweep that re-sends what the outage swallowed.
"""
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.test import Client
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.celery import app as celery_app
from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.models import TrafficRecord
from reports.models import Report, ReportStatus
from reports.services import reports_requeue_waiting
from tests.factories import ModelVersionFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]
# The drill runs in a pytest process of its own: in the full suite, Celery state that earlier worker tests leave in
# this process (connection pools, the current app) made its worker miss the re-sent reports.
ISOLATED = "DRIFTGATE_FAULT_DRILL_ISOLATED"
REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowAwayRedis:
    """A redis-server on its own port and directory, stopped and started by the test."""

    def __init__(self, directory) -> None:
        self.port, self.directory, self.process = _free_port(), directory, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", ""], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.exceptions.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def throwaway_redis(tmp_path):
    if REDIS_SERVER is None:
        pytest.skip("needs redis-server")
    server = ThrowAwayRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


_CHANGED = ("broker_url", "task_always_eager", "result_backend", "broker_connection_retry_on_startup",
            "task_publish_retry", "broker_transport_options")


@pytest.fixture
def on_that_redis(throwaway_redis, settings):
    """Point the platform's Celery app and cache at the throw-away Redis, as production points them at its own."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": throwaway_redis.url,
                                   "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3}}}
    settings.CELERY_BROKER_URL = throwaway_redis.url
    saved = {key: celery_app.conf.get(key) for key in _CHANGED}
    celery_app.conf.update(broker_url=throwaway_redis.url, task_always_eager=False, result_backend=None,
                           broker_connection_retry_on_startup=False, task_publish_retry=False,
                           broker_transport_options={"socket_connect_timeout": 0.5, "socket_timeout": 1,
                                                     "visibility_timeout": 3600})
    celery_app.__dict__.pop("_pool", None)
    yield throwaway_redis
    celery_app.conf.update(saved)
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app.__dict__.pop("_pool", None)


def _wait(predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.skipif(bool(os.environ.get(ISOLATED)), reason="this is the drill's own process")
def test_the_redis_drill_passes_in_a_process_of_its_own():
    env = {**os.environ, ISOLATED: "1",
           "DRIFTGATE_TEST_DB_SUFFIX": f"{os.environ.get('DRIFTGATE_TEST_DB_SUFFIX', 'suite')}_redis_drill"}
    target = f"{__file__}::test_the_web_answers_while_redis_is_away_and_no_report_is_lost_or_doubled"
    drill = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target], env=env,
                           capture_output=True, text=True, timeout=600)
    assert drill.returncode == 0, drill.stdout[-4000:] + drill.stderr[-2000:]
    assert "1 passed" in drill.stdout


@pytest.mark.skipif(not os.environ.get(ISOLATED), reason="runs in a process of its own, started by the test above")
def test_the_web_answers_while_redis_is_away_and_no_report_is_lost_or_doubled(on_that_redis, members, people):
    ModelVersionFactory(use_case=members, label="v1")
    session = Client()
    session.force_login(people.governance)
    secret = get_random_string(32)
    session.cookies["csrftoken"] = secret
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=people.platform.username, name="ci",
                              scopes=["status:read", "traffic:write"])
    machine = APIClient()
    machine.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def request_report():
        return session.post("/api/v1/reports", {"use_case": members.slug, "kind": "audit_trail"},
                            content_type="application/json", HTTP_X_CSRFTOKEN=secret)

    before = request_report()
    on_that_redis.stop()
    record = {"external_id": "r-1", "timestamp": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
              "prompt": "Where is my invoice?", "response": "In the portal.", "model_version": "v1"}
    during = {
        "liveness": Client().get("/healthz").status_code,
        "readiness": Client().get("/healthz/ready").status_code,
        "status": machine.get(f"/api/v1/use-cases/{members.slug}/status").status_code,
        "page": session.get(f"/api/v1/use-cases/{members.slug}/", HTTP_ACCEPT="text/html").status_code,
        "traffic": machine.post(f"/api/v1/use-cases/{members.slug}/traffic", [record], format="json").status_code,
        "report": request_report().status_code,
    }
    on_that_redis.start()  # from its append-only file: the first report's message is still there

    with start_worker(celery_app, pool="solo", perform_ping_check=False, queues=["reports"], shutdown_timeout=30):
        # The sweep the schedule runs, with its cut-off at now instead of five minutes ago.
        reports_requeue_waiting(older_than=timedelta(0))
        _wait(lambda: Report.objects.filter(status=ReportStatus.READY).count() == 2)

    assert before.status_code == 202
    assert during == {"liveness": 200, "readiness": 503, "status": 200, "page": 200, "traffic": 200, "report": 202}
    assert TrafficRecord.objects.filter(use_case=members, external_id="r-1").count() == 1
    reports = list(Report.objects.order_by("pk"))
    assert [report.status for report in reports] == [ReportStatus.READY, ReportStatus.READY]
    rendered = AuditEvent.objects.filter(action="report.rendered").values_list("object_id", flat=True)
    assert sorted(rendered) == sorted(str(report.pk) for report in reports)  # each exactly once
