"""The reports page refuses a bad period beside the field and requests nothing; a good one is requested."""
import pytest
from django.test import Client

from reports.models import Report

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(use_case, make_user, grant, settings, tmp_path):
    settings.REPORTS_ROOT = tmp_path / "reports"
    grace = make_user("grace")
    grant(grace, use_case, "governance_owner")
    client = Client()
    client.force_login(grace)
    return client, use_case


@pytest.mark.parametrize(("start", "end", "field", "text"), [
    ("2026-03-10", "2026-03-01", "end", "end must come after its start"),
    ("2024-01-01", "2026-01-01", "end", "at most 400 days"),
    ("2026-03-01", "", "end", "Give both start and end, or neither"),
    ("2026-02-30", "2026-03-01", "start", "Enter a valid date"),
])
def test_a_bad_period_is_refused_beside_its_field_and_nothing_is_requested(officer, start, end, field, text):
    client, use_case = officer

    response = client.post("/reports/", {"use_case": use_case.slug, "kind": "monitoring", "start": start,
                                         "end": end})

    assert response.status_code == 400
    errors = response.content.decode().split(f'id="id_{field}-errors"', 1)
    assert len(errors) == 2 and text in errors[1].split("</ul>", 1)[0]
    assert Report.objects.count() == 0


def test_a_good_period_is_requested_rendered_and_listed_with_its_hash(officer, django_capture_on_commit_callbacks):
    client, use_case = officer

    # Without a broker the render task runs in-process once the request's transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/reports/", {"use_case": use_case.slug, "kind": "degradation", "start": "2026-03-01",
                                  "end": "2026-03-31"})
    response = client.get("/reports/")

    report = Report.objects.get()
    assert report.parameters["start"] == "2026-03-01T00:00:00+00:00"
    assert report.parameters["end"] == "2026-04-01T00:00:00+00:00"  # the end day is included
    assert report.status == "ready" and report.sha256 in response.content.decode()


def test_a_person_without_a_role_cannot_request_for_a_use_case_they_cannot_see(use_case, make_user):
    client = Client()
    client.force_login(make_user("otto"))

    response = client.post("/reports/", {"use_case": use_case.slug, "kind": "audit_trail"})

    assert response.status_code == 400  # the use case is not among the choices offered
    assert Report.objects.count() == 0
