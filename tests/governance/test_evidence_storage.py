"""Evidence files through the `evidence` storage: an S3 bucket (moto in server mode) or local disk, each file
checked against the SHA-256 recorded at upload whenever it is downloaded."""
import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from governance.models import ChecklistItem, Evidence
from governance.services.gates import gate_open
from tests.governance.gates_setup import make_team
from tests.s3 import files_storages, moto_server, new_bucket

pytestmark = pytest.mark.django_db
CONTENT = b"%PDF-1.7 pilot report, the signed version"


@pytest.fixture(scope="module")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch, media):
    """A fresh bucket that the `evidence` and `reports` storages point at, built by the settings' own helper."""
    client, name = new_bucket(s3_endpoint)
    settings.STORAGES = {**settings.STORAGES, **files_storages(monkeypatch, s3_endpoint, name, prefix="tenant-a")}
    return client, name


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def item(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    return ChecklistItem.objects.get(checklist__gate=gate, key="value-evidence")


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _upload(team, item):
    response = _client(team.product_owner).post(
        f"/api/v1/checklist-items/{item.pk}/evidence",
        {"file": SimpleUploadedFile("report.pdf", CONTENT), "name": "Pilot report"}, format="multipart")
    assert response.status_code == 201, response.json()
    return Evidence.objects.get(pk=response.json()["id"])


def _download(team, evidence):
    return _client(team.reviewer).get(f"/api/v1/evidence/{evidence.pk}/download")


def test_an_upload_lands_in_the_bucket_and_not_on_the_web_machines_disk(team, item, bucket, media):
    client, name = bucket

    evidence = _upload(team, item)

    digest = hashlib.sha256(CONTENT).hexdigest()
    key = f"tenant-a/evidence/{digest[:2]}/{digest}/report.pdf"
    assert evidence.file.name == f"evidence/{digest[:2]}/{digest}/report.pdf" and evidence.sha256 == digest
    assert client.get_object(Bucket=name, Key=key)["Body"].read() == CONTENT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_the_download_reads_the_object_back_and_checks_its_sha256(team, item, bucket):
    evidence = _upload(team, item)

    response = _download(team, evidence)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == CONTENT
    assert response["X-Evidence-SHA256"] == evidence.sha256
    assert response["Content-Disposition"].startswith('attachment; filename="report.pdf"')


def test_an_object_rewritten_in_the_bucket_is_refused_on_download(team, item, bucket, caplog):
    client, name = bucket
    evidence = _upload(team, item)
    client.put_object(Bucket=name, Key=f"tenant-a/{evidence.file.name}", Body=b"%PDF-1.7 a quietly edited report")

    response = _download(team, evidence)

    assert response.status_code == 500
    assert response.json()["code"] == "evidence_integrity_failed"
    assert response.json()["extra"] == {"id": evidence.pk, "sha256": evidence.sha256}
    assert b"edited" not in response.content
    assert "does not match its SHA-256" in caplog.text


def test_an_object_removed_from_the_bucket_is_a_404_evidence_file_missing(team, item, bucket):
    client, name = bucket
    evidence = _upload(team, item)
    client.delete_object(Bucket=name, Key=f"tenant-a/{evidence.file.name}")

    response = _download(team, evidence)

    assert response.status_code == 404 and response.json()["code"] == "evidence_file_missing"


def test_local_disk_stays_the_default_and_is_checked_the_same_way(team, item, media, settings):
    assert settings.STORAGES["evidence"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    evidence = _upload(team, item)
    stored = media / evidence.file.name
    assert stored.read_bytes() == CONTENT
    assert b"".join(_download(team, evidence).streaming_content) == CONTENT

    stored.chmod(0o644)
    stored.write_bytes(CONTENT.replace(b"signed", b"edited"))
    response = _download(team, evidence)

    assert response.status_code == 500 and response.json()["code"] == "evidence_integrity_failed"


def test_a_url_evidence_has_no_file_to_download(team, item):
    link = _client(team.product_owner).post(f"/api/v1/checklist-items/{item.pk}/evidence",
                                            {"name": "Dashboard", "url": "https://bi.example.com/pilot"},
                                            format="json")
    response = _client(team.reviewer).get(f"/api/v1/evidence/{link.json()['id']}/download")
    assert response.status_code == 409 and response.json()["code"] == "evidence_is_url"
