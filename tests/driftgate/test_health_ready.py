"""/healthz/ready answers 200 only when the database and the broker answer, and names what does not."""
import os
import socket

import pytest

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ready_with_the_database_and_a_live_broker(client, settings):
    settings.CELERY_BROKER_URL = REDIS_URL

    response = client.get("/healthz/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_not_ready_when_the_broker_is_away(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"

    response = client.get("/healthz/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready" and "broker" in body["message"]
    assert body["extra"]["checks"]["database"] == "ok"
    assert body["extra"]["checks"]["broker"].startswith("error")


def test_without_a_broker_tasks_run_in_process_and_that_is_ready(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/healthz/ready")

    assert response.status_code == 200 and response.json()["checks"]["broker"] == "in-process"
