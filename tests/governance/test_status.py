"""CI status: the selector's rules and the endpoint's scopes and errors."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.errors import ValidationFailed
from governance import facts
from governance.models import Decision, Gate, UseCase
from governance.selectors.status import use_case_status
from governance.services.tokens import api_token_create
from tests.factories import AlertFactory, MonitoringPolicyFactory, UseCaseFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Nothing here checks a password; a fast hasher keeps the users these tests create cheap."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def proposer(make_user):
    return make_user("proposer")


def decide(use_case, number, *, status="approved", outcome="go", proposer, decided_at=None, expires_at=None):
    """Store a decided gate with its final decision, as the gate services leave it."""
    decided_at = decided_at or timezone.now() - timedelta(days=1)
    gate = Gate.objects.create(use_case=use_case, number=number, status=status, decided_at=decided_at,
                               expires_at=expires_at, opened_at=decided_at - timedelta(days=7))
    Decision.objects.create(gate=gate, outcome=outcome, status="final", rationale="evidence reviewed",
                            content_hash="c" * 64, proposed_by=proposer, finalized_at=decided_at)
    return gate


def production_use_case(proposer, **kwargs):
    use_case = UseCaseFactory(stage="production", **kwargs)
    decide(use_case, 1, proposer=proposer)
    decide(use_case, 2, proposer=proposer)
    return use_case


def test_a_running_pilot_without_requirements_is_ok(use_case):
    status = use_case_status(use_case=use_case, require=None)

    assert status["ok"] is True and status["reasons"] == []
    assert set(status) == {"ok", "stage", "required", "checked", "halted", "gates", "drift", "reasons"}
    assert status["stage"] == "pilot" and status["halted"] is False and status["gates"] == []


def test_a_halted_use_case_is_not_ok_and_says_why(use_case):
    UseCase.objects.filter(pk=use_case.pk).update(halted=True, halted_reason="toxic answers")
    use_case.refresh_from_db()

    status = use_case_status(use_case=use_case, require=None)

    assert status["ok"] is False and status["halted"] is True
    assert status["reasons"] == ["The use case is halted: toxic answers."]


def test_an_open_stop_alert_is_not_ok(use_case):
    MonitoringPolicyFactory(use_case=use_case)
    AlertFactory(use_case=use_case, run__use_case=use_case, severity="stop")

    status = use_case_status(use_case=use_case, require=None)

    assert status["ok"] is False
    assert status["drift"]["configured"] is True and status["drift"]["open_stop_alerts"] == 1
    assert status["reasons"] == ["Monitoring has 1 open stop alert."]


def test_an_open_review_alert_alone_is_ok(use_case):
    AlertFactory(use_case=use_case, run__use_case=use_case, severity="review")

    status = use_case_status(use_case=use_case, require=None)

    assert status["ok"] is True and status["drift"]["open_review_alerts"] == 1


def test_without_monitoring_the_drift_block_says_not_configured(use_case, monkeypatch):
    monkeypatch.setattr(facts, "_provider", None)

    status = use_case_status(use_case=use_case, require=None)

    assert status["drift"] == {"configured": False} and status["ok"] is True


def test_a_pilot_cannot_ship_to_pre_production(use_case):
    status = use_case_status(use_case=use_case, require="pre_production")

    assert status["ok"] is False
    assert status["reasons"] == ["The use case is in stage pilot, not yet pre_production.",
                                 "Gate 1, which leads to pre_production, is not approved: it has no decision yet."]


def test_pre_production_with_an_approved_gate_1_may_ship_there(proposer):
    use_case = UseCaseFactory(stage="pre_production")
    decide(use_case, 1, proposer=proposer)

    status = use_case_status(use_case=use_case, require="pre_production")

    assert status["ok"] is True
    assert status["gates"] == [{"number": 1, "status": "approved", "decided_at": status["gates"][0]["decided_at"],
                                "expires_at": None, "outcome": "go"}]
    assert use_case_status(use_case=use_case, require="production")["ok"] is False


def test_production_is_not_ok_while_gate_2_was_rejected(proposer):
    use_case = UseCaseFactory(stage="production")
    decide(use_case, 1, proposer=proposer)
    decide(use_case, 2, status="rejected", outcome="no_go", proposer=proposer)

    status = use_case_status(use_case=use_case, require="production")

    assert status["ok"] is False
    assert status["reasons"] == ["Gate 2, which leads to production, is not approved: it is rejected."]


def test_production_without_a_gate_3_decision_yet_is_ok(proposer):
    status = use_case_status(use_case=production_use_case(proposer), require="production")

    assert status["ok"] is True and status["reasons"] == []


def test_a_valid_gate_3_certification_is_ok(proposer):
    use_case = production_use_case(proposer)
    now = timezone.now()
    decide(use_case, 3, proposer=proposer, expires_at=now + timedelta(days=200))

    assert use_case_status(use_case=use_case, require="production", now=now)["ok"] is True


def test_an_expired_gate_3_certification_is_not_ok(proposer):
    use_case = production_use_case(proposer)
    now = timezone.now()
    decide(use_case, 3, proposer=proposer, decided_at=now - timedelta(days=400), expires_at=now - timedelta(days=35))

    status = use_case_status(use_case=use_case, require="production", now=now)

    assert status["ok"] is False
    assert len(status["reasons"]) == 1 and status["reasons"][0].startswith("Gate 3 certification expired")
    assert use_case_status(use_case=use_case, require="production", now=now - timedelta(days=40))["ok"] is True


def test_a_gate_3_marked_expired_is_not_ok(proposer):
    use_case = production_use_case(proposer)
    decide(use_case, 3, status="expired", proposer=proposer, expires_at=timezone.now() - timedelta(days=1))

    status = use_case_status(use_case=use_case, require="production")

    assert status["ok"] is False and "expired" in status["reasons"][0]


def test_every_failing_rule_has_its_own_reason(proposer):
    use_case = UseCaseFactory(stage="pilot", halted=True, halted_reason="incident 7")
    AlertFactory(use_case=use_case, run__use_case=use_case, severity="stop")
    AlertFactory(use_case=use_case, run__use_case=use_case, severity="stop")

    status = use_case_status(use_case=use_case, require="production")

    assert status["ok"] is False
    assert status["reasons"][:2] == ["The use case is halted: incident 7.", "Monitoring has 2 open stop alerts."]
    assert len(status["reasons"]) == 4


def test_a_retired_use_case_is_not_ok(proposer):
    use_case = production_use_case(proposer)
    UseCase.objects.filter(pk=use_case.pk).update(stage="retired")
    use_case.refresh_from_db()

    assert use_case_status(use_case=use_case, require="production")["reasons"] == ["The use case is retired."]


def test_the_gates_list_shows_the_newest_pass_of_each_gate(proposer):
    use_case = production_use_case(proposer)
    Gate.objects.create(use_case=use_case, number=3, status="open")

    gates = use_case_status(use_case=use_case, require=None)["gates"]

    assert [(gate["number"], gate["status"], gate["outcome"]) for gate in gates] == [
        (1, "approved", "go"), (2, "approved", "go"), (3, "open", None)]


def test_an_unknown_requirement_is_refused(use_case):
    with pytest.raises(ValidationFailed) as excinfo:
        use_case_status(use_case=use_case, require="moon")

    assert excinfo.value.code == "invalid_require"


# --- the endpoint ---------------------------------------------------------------------------------------------

def _token(user, scopes):
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=user.username, name="ci", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_status_read_token_of_a_member_gets_the_status(use_case, make_user, grant):
    ci = make_user("ci-bot")
    grant(ci, use_case, "viewer")

    response = _token(ci, ["status:read"]).get(f"/api/v1/use-cases/{use_case.slug}/status?require=pre_production")

    assert response.status_code == 200
    assert response.json()["ok"] is False and len(response.json()["reasons"]) == 2


def test_a_member_session_gets_the_status(use_case, make_user, grant):
    person = make_user("member")
    grant(person, use_case, "reviewer")
    client = APIClient()
    client.force_login(person)

    response = client.get(f"/api/v1/use-cases/{use_case.slug}/status")

    assert response.status_code == 200 and response.json()["ok"] is True


def test_a_token_without_status_read_is_refused(use_case, make_user, grant):
    ci = make_user("ci-wrong-scope")
    grant(ci, use_case, "viewer")

    response = _token(ci, ["governance:read"]).get(f"/api/v1/use-cases/{use_case.slug}/status")

    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


def test_a_token_of_a_non_member_does_not_see_the_use_case(use_case, make_user):
    response = _token(make_user("stranger"), ["status:read"]).get(f"/api/v1/use-cases/{use_case.slug}/status")

    assert response.status_code == 404
    assert response.json()["code"] == "use_case_not_found"


def test_an_unknown_requirement_is_a_400(use_case, make_user, grant):
    person = make_user("member-r")
    grant(person, use_case, "viewer")
    client = APIClient()
    client.force_login(person)

    response = client.get(f"/api/v1/use-cases/{use_case.slug}/status?require=staging")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_require"


def test_anonymous_requests_are_refused(use_case):
    response = APIClient().get(f"/api/v1/use-cases/{use_case.slug}/status")

    assert response.status_code in (401, 403)
    assert response.json()["code"] == "not_authenticated"


def test_without_require_a_use_case_is_checked_against_its_own_stage(proposer):
    use_case = UseCaseFactory(stage="pre_production")  # gate 1 was never approved

    status = use_case_status(use_case=use_case, require=None)

    assert status["ok"] is False and status["required"] == "pre_production"
    assert status["reasons"] == ["Gate 1, which leads to pre_production, is not approved: it has no decision yet."]
    assert "stage pre_production reached with gate 1 approved" in status["checked"]


def test_the_status_says_what_it_checked(proposer):
    pilot = use_case_status(use_case=UseCaseFactory(), require=None)
    production = use_case_status(use_case=production_use_case(proposer), require=None)

    assert pilot["required"] is None
    assert pilot["checked"] == ["not halted", "not retired", "no open stop alert"]
    assert production["ok"] is True and production["required"] == "production"
    assert production["checked"][-2:] == ["stage production reached with gate 2 approved",
                                          "gate 3 certification not expired or rejected"]
