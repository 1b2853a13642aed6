"""Alert endpoints: lists and details for members and `monitoring:read` tokens; triage and stops by people only."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.models import AlertStatus
from tests.factories import PASSWORD, AlertFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(make_user, grant, use_case):
    """Return a function giving a signed-in client for a new person with the role on the use case."""
    def client_for(role: str) -> APIClient:
        user = make_user()
        grant(user, use_case, role)
        client = APIClient()
        client.force_login(user)
        return client
    return client_for


def _token_client(user, scopes) -> APIClient:
    _, raw = api_token_create(actor=Actor.for_user(user), owner_username=user.username, name="ci", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_member_lists_the_review_queue(member, use_case):
    open_review = AlertFactory(run__use_case=use_case)
    AlertFactory(run__use_case=use_case, severity="stop")
    AlertFactory(run__use_case=use_case, status="triaged", verdict="false_alarm", resolution="none")
    AlertFactory()  # another use case

    response = member("viewer").get(f"/api/v1/use-cases/{use_case.slug}/alerts?status=open&severity=review")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [open_review.pk]


@pytest.mark.parametrize(("query", "code"), [("status=closed", "invalid_status"), ("severity=ok", "invalid_severity")])
def test_listing_alerts_refuses_unknown_filters(member, use_case, query, code):
    response = member("viewer").get(f"/api/v1/use-cases/{use_case.slug}/alerts?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_alerts_of_an_invisible_use_case_are_not_found(make_user, use_case):
    client = APIClient()
    client.force_login(make_user())

    response = client.get(f"/api/v1/use-cases/{use_case.slug}/alerts")

    assert response.status_code == 404
    assert response.json()["code"] == "use_case_not_found"


def test_an_alert_of_another_use_case_is_not_found(member):
    other = AlertFactory()

    response = member("governance_owner").get(f"/api/v1/alerts/{other.pk}")

    assert response.status_code == 404
    assert response.json()["code"] == "alert_not_found"


def test_a_token_with_monitoring_read_reads_an_alert(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "viewer")
    alert = AlertFactory(run__use_case=use_case)

    response = _token_client(user, ["monitoring:read"]).get(f"/api/v1/alerts/{alert.pk}")

    assert response.status_code == 200
    assert response.json()["severity"] == "review" and response.json()["window_start"]


def test_a_token_without_monitoring_read_is_refused(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "viewer")
    alert = AlertFactory(run__use_case=use_case)

    response = _token_client(user, ["status:read"]).get(f"/api/v1/alerts/{alert.pk}")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_a_token_cannot_triage_even_with_monitoring_read(make_user, grant, use_case):
    user = make_user()
    grant(user, use_case, "platform_owner")
    alert = AlertFactory(run__use_case=use_case)

    response = _token_client(user, ["monitoring:read"]).post(
        f"/api/v1/alerts/{alert.pk}/triage", {"verdict": "false_alarm", "resolution": "none"})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


def test_a_reviewer_triages_an_alert(member, use_case):
    alert = AlertFactory(run__use_case=use_case)

    response = member("reviewer").post(f"/api/v1/alerts/{alert.pk}/triage",
                                       {"verdict": "legitimate_change", "resolution": "rebaseline",
                                        "note": "New product line."})

    assert response.status_code == 200
    assert response.json()["status"] == "triaged" and response.json()["resolution"] == "rebaseline"
    assert AuditEvent.objects.filter(action="alert.triaged", object_id=str(alert.pk)).count() == 1


@pytest.mark.parametrize(("body", "code"), [
    ({"verdict": "meh", "resolution": "none"}, "invalid_verdict"),
    ({"verdict": "false_alarm"}, "resolution_required"),
    ({"verdict": "false_alarm", "resolution": "shrug"}, "invalid_resolution"),
    ({"verdict": "harmful_degradation", "resolution": "none"}, "resolution_not_allowed"),
    ({"verdict": ["false_alarm"], "resolution": "none"}, "validation_error"),
])
def test_triage_refuses_bad_input_with_a_stable_code(member, use_case, body, code):
    alert = AlertFactory(run__use_case=use_case)

    response = member("platform_owner").post(f"/api/v1/alerts/{alert.pk}/triage", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert not AuditEvent.objects.filter(action="alert.triaged").exists()


def test_triage_by_a_viewer_is_refused(member, use_case):
    alert = AlertFactory(run__use_case=use_case)

    response = member("viewer").post(f"/api/v1/alerts/{alert.pk}/triage",
                                     {"verdict": "false_alarm", "resolution": "none"})

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_a_second_triage_conflicts(member, use_case):
    alert = AlertFactory(run__use_case=use_case, status="triaged", verdict="false_alarm", resolution="none")

    response = member("reviewer").post(f"/api/v1/alerts/{alert.pk}/triage",
                                       {"verdict": "false_alarm", "resolution": "none"})

    assert response.status_code == 409
    assert response.json()["code"] == "alert_not_open"


def test_a_platform_owner_confirms_a_stop_and_the_use_case_halts(member, use_case):
    alert = AlertFactory(run__use_case=use_case, severity="stop")

    response = member("platform_owner").post(f"/api/v1/alerts/{alert.pk}/confirm-stop",
                                             {"reason": "Wrong tariffs quoted.", "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["stop_confirmed_at"] is not None
    use_case.refresh_from_db()
    assert use_case.halted and use_case.halted_reason == "Wrong tariffs quoted."


@pytest.mark.parametrize(("kwargs", "status", "code"), [
    ({"severity": "review"}, 409, "not_a_stop_alert"),
    ({"severity": "stop", "halt_applied": True}, 409, "stop_already_applied"),
    ({"severity": "stop", "status": "resolved"}, 409, "alert_resolved"),
])
def test_confirming_a_stop_refuses_what_cannot_be_stopped(member, use_case, kwargs, status, code):
    alert = AlertFactory(run__use_case=use_case, **kwargs)

    response = member("governance_owner").post(f"/api/v1/alerts/{alert.pk}/confirm-stop", {"password": PASSWORD})

    assert response.status_code == status
    assert response.json()["code"] == code


def test_confirming_a_stop_needs_an_owner_role(member, use_case):
    alert = AlertFactory(run__use_case=use_case, severity="stop")

    response = member("reviewer").post(f"/api/v1/alerts/{alert.pk}/confirm-stop", {})

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"


def test_resolving_an_untriaged_alert_conflicts_and_a_triaged_one_resolves(member, use_case):
    client = member("governance_owner")
    alert = AlertFactory(run__use_case=use_case)

    response = client.post(f"/api/v1/alerts/{alert.pk}/resolve", {})
    assert response.status_code == 409
    assert response.json()["code"] == "alert_not_triaged"

    client.post(f"/api/v1/alerts/{alert.pk}/triage", {"verdict": "false_alarm", "resolution": "none"})
    response = client.post(f"/api/v1/alerts/{alert.pk}/resolve", {"note": "Checked."})
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"

    response = client.post(f"/api/v1/alerts/{alert.pk}/resolve", {})
    assert response.status_code == 409
    assert response.json()["code"] == "alert_already_resolved"


def test_a_governance_owner_marks_a_serious_incident_and_sees_the_deadline(member, use_case):
    alert = AlertFactory(run__use_case=use_case, severity="stop")
    aware = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)

    response = member("governance_owner").post(f"/api/v1/alerts/{alert.pk}/incident",
                                               {"incident_class": "death", "aware_at": aware.isoformat()})

    assert response.status_code == 200
    body = response.json()
    assert body["incident_class"] == "death"
    assert body["incident_report_deadline"] == (aware + timedelta(days=10)).isoformat()


@pytest.mark.parametrize(("body", "code"), [
    ({"incident_class": "death", "aware_at": "yesterday"}, "invalid_aware_at"),
    ({"incident_class": "death", "aware_at": "2026-02-30T10:00:00Z"}, "invalid_aware_at"),
    ({"incident_class": "death", "aware_at": "2026-01-10T10:00:00"}, "invalid_aware_at"),
    ({"incident_class": "flood", "aware_at": "2026-01-10T10:00:00Z"}, "invalid_incident_class"),
])
def test_marking_an_incident_refuses_bad_input(member, use_case, body, code):
    alert = AlertFactory(run__use_case=use_case)

    response = member("governance_owner").post(f"/api/v1/alerts/{alert.pk}/incident", body)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_marking_an_incident_by_a_platform_owner_is_refused(member, use_case):
    alert = AlertFactory(run__use_case=use_case)

    response = member("platform_owner").post(f"/api/v1/alerts/{alert.pk}/incident",
                                             {"incident_class": "death", "aware_at": "2026-01-10T10:00:00Z"})

    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"
