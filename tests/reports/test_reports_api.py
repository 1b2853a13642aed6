"""The reports API: list, request (202), read, download, with the error codes clients rely on."""
import hashlib

import pytest
from rest_framework.test import APIClient

from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from reports.models import Report, ReportStatus

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports"


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _token_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def requested(members, people, django_capture_on_commit_callbacks):
    """A gate audit trail requested through the API and rendered in-process."""
    with django_capture_on_commit_callbacks(execute=True):
        response = _client(people.governance).post(URL, {"use_case": members.slug, "kind": "audit_trail"},
                                                   format="json")
    assert response.status_code == 202, response.json()
    return response


def test_a_request_is_accepted_with_202_and_a_location(requested):
    body = requested.json()

    assert body["kind"] == "audit_trail"
    assert body["status"] in {"queued", "rendering", "ready"}
    assert requested["Location"].endswith(f"/api/v1/reports/{body['id']}")
    assert body["requested_by"].startswith("Gwen Governance")


def test_the_report_reads_back_ready_with_its_hash_and_download_url(requested, people):
    report_id = requested.json()["id"]

    response = _client(people.viewer).get(f"{URL}/{report_id}")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert len(body["sha256"]) == 64 and len(body["chain_head"]) == 64
    assert body["download_url"].endswith(f"/api/v1/reports/{report_id}/download")


def test_the_download_is_the_pdf_with_its_sha256_header(requested, people):
    report_id = requested.json()["id"]

    response = _client(people.viewer).get(f"{URL}/{report_id}/download")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith('attachment; filename="driftgate-audit-trail-')
    assert response["X-Content-SHA256"] == hashlib.sha256(response.content).hexdigest()
    assert AuditEvent.objects.filter(action="report.downloaded", object_id=str(report_id)).count() == 1


def test_the_list_shows_reports_of_visible_use_cases_only_and_filters_by_kind(requested, members, people):
    own = _client(people.viewer).get(URL, {"use_case": members.slug, "kind": "audit_trail"})
    other_kind = _client(people.viewer).get(URL, {"kind": "monitoring"})
    outsider = _client(people.outsider).get(URL)

    assert own.status_code == 200 and [row["id"] for row in own.json()["results"]] == [requested.json()["id"]]
    assert other_kind.status_code == 200 and other_kind.json()["results"] == []
    assert outsider.status_code == 200 and outsider.json()["results"] == []


def test_a_report_of_an_invisible_use_case_is_not_found(requested, people):
    response = _client(people.outsider).get(f"{URL}/{requested.json()['id']}")

    assert response.status_code == 404
    assert response.json()["code"] == "report_not_found"


def test_an_unknown_kind_is_a_400_invalid_report_kind(members, people):
    response = _client(people.governance).post(URL, {"use_case": members.slug, "kind": "everything"}, format="json")
    listed = _client(people.governance).get(URL, {"kind": "everything"})

    assert response.status_code == 400 and response.json()["code"] == "invalid_report_kind"
    assert listed.status_code == 400 and listed.json()["code"] == "invalid_report_kind"
    assert not Report.objects.exists()


@pytest.mark.parametrize("start, end", [
    ("2025-03-08T00:00:00Z", "2025-03-01T00:00:00Z"),
    ("2024-01-01", "2025-03-01"),
    ("2025-03-01T00:00:00", "2025-03-02T00:00:00"),
    ("yesterday", "today"),
    ("2025-03-01", ""),
])
def test_a_bad_period_is_a_400_invalid_period(members, people, start, end):
    response = _client(people.governance).post(
        URL, {"use_case": members.slug, "kind": "monitoring", "start": start, "end": end}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_period"
    assert not Report.objects.exists()


def test_dates_are_read_as_midnight_utc(members, people):
    response = _client(people.governance).post(
        URL, {"use_case": members.slug, "kind": "degradation", "start": "2025-03-01", "end": "2025-04-01"},
        format="json")

    assert response.status_code == 202
    assert response.json()["parameters"]["start"] == "2025-03-01T00:00:00+00:00"


def test_a_viewer_cannot_request_a_report(members, people):
    response = _client(people.viewer).post(URL, {"use_case": members.slug, "kind": "audit_trail"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_an_unknown_use_case_is_a_404(people):
    response = _client(people.governance).post(URL, {"use_case": "nope", "kind": "audit_trail"}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "use_case_not_found"


def test_downloading_a_report_that_is_not_ready_is_a_409_report_not_ready(members, people):
    response = _client(people.governance).post(URL, {"use_case": members.slug, "kind": "audit_trail"}, format="json")
    report_id = response.json()["id"]  # on_commit callbacks are not run: the report stays queued

    download = _client(people.governance).get(f"{URL}/{report_id}/download", HTTP_ACCEPT="application/pdf")

    assert Report.objects.get(pk=report_id).status == ReportStatus.QUEUED
    assert download.status_code == 409
    assert download.json()["code"] == "report_not_ready"


def test_a_token_with_reports_read_lists_requests_and_downloads(members, people, system_actor,
                                                                 django_capture_on_commit_callbacks):
    _, raw = api_token_create(actor=system_actor, owner_username=people.governance.username, name="ci",
                              scopes=["reports:read"])
    client = _token_client(raw)

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(URL, {"use_case": members.slug, "kind": "audit_trail"}, format="json")
    download = client.get(f"{URL}/{created.json()['id']}/download")

    assert created.status_code == 202
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
    event = AuditEvent.objects.get(action="report.downloaded")
    assert event.actor_kind == "token"


def test_a_token_without_reports_read_is_refused(members, people, system_actor):
    _, raw = api_token_create(actor=system_actor, owner_username=people.governance.username, name="ci",
                              scopes=["governance:read"])

    response = _token_client(raw).get(URL)

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"
