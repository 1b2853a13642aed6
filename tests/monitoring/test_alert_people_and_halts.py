"""Alerts say whether their stop halted the use case, and who acted on them by username."""
import pytest
from rest_framework.test import APIClient

from governance.models import UseCase
from tests.factories import PASSWORD, AlertFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_a_confirmed_stop_that_halted_the_use_case_reports_halt_applied(make_user, grant, use_case):
    owner = make_user("gov-gina")
    grant(owner, use_case, "governance_owner")
    alert = AlertFactory(run__use_case=use_case, use_case=use_case, severity="stop")

    response = _client(owner).post(f"/api/v1/alerts/{alert.pk}/confirm-stop", {"reason": "toxic answers", "password": PASSWORD}, format="json")

    assert response.status_code == 200, response.json()
    assert UseCase.objects.get(pk=use_case.pk).halted is True
    body = response.json()
    assert body["halt_applied"] is True
    assert body["stop_confirmed_by_username"] == "gov-gina"


def test_a_stop_confirmed_while_already_halted_did_not_halt_anything(make_user, grant, use_case):
    UseCase.objects.filter(pk=use_case.pk).update(halted=True, halted_reason="earlier stop")
    owner = make_user("gov-gina")
    grant(owner, use_case, "governance_owner")
    alert = AlertFactory(run__use_case=use_case, use_case=use_case, severity="stop")

    response = _client(owner).post(f"/api/v1/alerts/{alert.pk}/confirm-stop", {"password": PASSWORD},
                                   format="json")

    assert response.status_code == 200 and response.json()["halt_applied"] is False


def test_the_triager_is_shown_by_username(make_user, grant, use_case):
    reviewer = make_user("rev-rolf")
    grant(reviewer, use_case, "reviewer")
    alert = AlertFactory(run__use_case=use_case, use_case=use_case)

    triaged = _client(reviewer).post(f"/api/v1/alerts/{alert.pk}/triage",
                                     {"verdict": "false_alarm", "resolution": "none"}, format="json")
    listed = _client(reviewer).get(f"/api/v1/use-cases/{use_case.slug}/alerts")

    assert triaged.status_code == 200, triaged.json()
    assert triaged.json()["triaged_by"] == reviewer.pk and triaged.json()["triaged_by_username"] == "rev-rolf"
    assert listed.json()["results"][0]["triaged_by_username"] == "rev-rolf"
    assert listed.json()["results"][0]["stop_confirmed_by_username"] is None
