"""A report download carries the strict Content-Security-Policy and is never rendered in a frame."""
import pytest
from rest_framework.test import APIClient

from tests.driftgate.csp import assert_strict

pytestmark = pytest.mark.django_db


def test_a_report_download_has_the_policy(members, people, django_capture_on_commit_callbacks):
    client = APIClient()
    client.force_authenticate(people.governance)
    with django_capture_on_commit_callbacks(execute=True):
        report_id = client.post("/api/v1/reports", {"use_case": members.slug, "kind": "audit_trail"},
                                format="json").json()["id"]

    response = client.get(f"/api/v1/reports/{report_id}/download")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert_strict(response)
    assert response["X-Frame-Options"] == "DENY" and response["X-Content-Type-Options"] == "nosniff"
