"""Reports in a shared bucket: a Celery worker in a process of its own (another machine, with its own empty disk)
renders into S3 (moto in server mode), the web reads the file back from the bucket, and a rewritten object is
refused on download and flagged by the file check."""
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.auditlog.keys import hmac_keyring, signing_keys
from reports.models import Report, ReportStatus
from reports.selectors.stored import report_file_check
from reports.services import report_render, report_request
from tests.conftest import APP_ROLE
from tests.monitoring.worker_support import emptied_broker, production_like_app
from tests.s3 import files_environment, files_storages, moto_server, new_bucket

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
URL = "/api/v1/reports"


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch):
    """A fresh bucket that this process's `evidence` and `reports` storages point at."""
    client, name = new_bucket(s3_endpoint)
    settings.STORAGES = {**settings.STORAGES, **files_storages(monkeypatch, s3_endpoint, name)}
    return client, name


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _local_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _worker_environment(tmp_path, s3_endpoint: str, bucket: str, broker: str) -> dict[str, str]:
    """What the second machine is given: the same database, broker and bucket, a disk of its own."""
    database = connection.settings_dict
    # The worker connects as the application role, as production's workers do (README, "Two database roles").
    database_url = (f"postgres://{quote(database['USER'])}@{database['HOST'] or '127.0.0.1'}:"
                    f"{database['PORT'] or 5432}/{database['NAME']}?options={quote(f'-c role={APP_ROLE}')}")
    keep = {name: value for name, value in os.environ.items()
            if name in {"PATH", "HOME", "LANG", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "PYTHONPATH"}}
    return {**keep, **files_environment(s3_endpoint, bucket), "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker, "DJANGO_SETTINGS_MODULE": "driftgate.settings",
            "PYTHONPATH": str(django_settings.BASE_DIR),
            "DRIFTGATE_VAR_DIR": str(tmp_path / "worker-var"),
            "DRIFTGATE_REPORTS_ROOT": str(tmp_path / "worker-reports"),
            "DRIFTGATE_MEDIA_ROOT": str(tmp_path / "worker-media"),
            "DRIFTGATE_AUDIT_CHECKPOINT_DIR": str(tmp_path / "worker-checkpoints")}


def _audit_key_environment(settings) -> dict[str, str]:
    """The web's audit keys as files for the worker: both machines key and sign the one chain (production mounts
    the same files on both)."""
    hmac_keyring(), signing_keys()  # in development these create the key files on first use
    dev_dir = Path(settings.VAR_DIR) / "audit-keys"
    env = {"DRIFTGATE_AUDIT_HMAC_KEYS_FILE": settings.DRIFTGATE_AUDIT_HMAC_KEYS_FILE or str(dev_dir / "hmac.keys"),
           "DRIFTGATE_AUDIT_SIGNING_KEY_FILE": settings.DRIFTGATE_AUDIT_SIGNING_KEY_FILE
           or str(dev_dir / "checkpoint-ed25519.pem"),
           "DRIFTGATE_AUDIT_DEV_KEYS": "0"}
    if settings.DRIFTGATE_AUDIT_HMAC_KEYS:
        env["DRIFTGATE_AUDIT_HMAC_KEYS"] = settings.DRIFTGATE_AUDIT_HMAC_KEYS
    return env


def _wait_until_ready(report_id: int, worker: subprocess.Popen, timeout: float = 180) -> Report:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = Report.objects.get(pk=report_id)
        if report.status in {ReportStatus.READY, ReportStatus.FAILED}:
            return report
        assert worker.poll() is None, "the worker process exited"
        time.sleep(0.5)
    raise AssertionError(f"report {report_id} still {report.status} after {timeout} s")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres_only")
def test_a_worker_on_another_machine_renders_into_the_bucket_and_the_web_downloads_it(
        scenario, people, bucket, s3_endpoint, tmp_path, reports_root, settings):
    client, name = bucket
    worker_disk = tmp_path / "worker-reports"
    report = report_request(actor=Actor.for_user(people.governance), use_case=scenario.use_case, kind="audit_trail",
                            enqueue=False)
    with emptied_broker(REDIS_URL) as broker:
        env = {**_worker_environment(tmp_path, s3_endpoint, name, broker), **_audit_key_environment(settings)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "driftgate", "worker", "-Q", "reports", "-P", "solo",
             "-n", f"reports-{os.getpid()}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING"],
            cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            with production_like_app("driftgate-web", broker) as web:
                web.send_task("reports.tasks.render_report", args=[report.pk], queue="reports")
            report = _wait_until_ready(report.pk, worker)
        finally:
            worker.terminate()
            output = worker.communicate(timeout=60)[0].decode(errors="replace")
    assert report.status == ReportStatus.READY, output + report.error

    key = f"reports/{report.file.name}"
    stored = client.get_object(Bucket=name, Key=key)["Body"].read()
    assert stored.startswith(b"%PDF-")
    assert _local_files(worker_disk) == [] and _local_files(reports_root) == []  # neither machine kept a copy
    response = _client(people.viewer).get(f"{URL}/{report.pk}/download")
    assert response.status_code == 200 and response.content == stored
    assert response["X-Content-SHA256"] == report.sha256
    assert report_file_check(report) == {"checked": True, "intact": True, "sha256": report.sha256,
                                         "missing": False}


@pytest.mark.django_db
def test_a_report_object_rewritten_in_the_bucket_is_refused_and_flagged(scenario, people, bucket, reports_root):
    client, name = bucket
    report = report_request(actor=Actor.for_user(people.governance), use_case=scenario.use_case, kind="audit_trail",
                            enqueue=False)
    report = report_render(report_id=report.pk)
    key = f"reports/{report.file.name}"
    original = client.get_object(Bucket=name, Key=key)["Body"].read()
    assert _local_files(reports_root) == []
    # An incremental update appended to a PDF is how a signed PDF is altered without breaking it as a file.
    client.put_object(Bucket=name, Key=key, Body=original + b"\n% appended object\n%%EOF\n")

    response = _client(people.viewer).get(f"{URL}/{report.pk}/download")

    assert response.status_code == 500 and response.json()["code"] == "report_integrity_failed"
    check = report_file_check(report)
    assert check["checked"] and check["intact"] is False and check["sha256"] != report.sha256


@pytest.mark.django_db
def test_a_report_object_removed_from_the_bucket_is_reported_missing(scenario, people, bucket):
    client, name = bucket
    report = report_request(actor=Actor.for_user(people.governance), use_case=scenario.use_case, kind="audit_trail",
                            enqueue=False)
    report = report_render(report_id=report.pk)
    client.delete_object(Bucket=name, Key=f"reports/{report.file.name}")

    response = _client(people.viewer).get(f"{URL}/{report.pk}/download")

    assert response.status_code == 500 and response.json()["code"] == "report_file_missing"
    assert report_file_check(report)["missing"] is True
