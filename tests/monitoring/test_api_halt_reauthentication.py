"""Confirming a stop and resuming over the API ask for the password again, with the e-signature lockout."""
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.errors import PermissionRefused
from governance.models import AuditEvent, UseCase
from governance.services.inventory import use_case_resume
from governance.services.tokens import api_token_create
from monitoring.models import Alert
from monitoring.services.alerts import alert_confirm_stop
from tests.factories import PASSWORD, AlertFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner(make_user, grant, use_case):
    person = make_user("gov-gina")
    grant(person, use_case, "governance_owner")
    return person


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _stop_alert(use_case) -> Alert:
    return AlertFactory(run__use_case=use_case, use_case=use_case, severity="stop")


def _halt(use_case) -> None:
    UseCase.objects.filter(pk=use_case.pk).update(halted=True, halted_reason="stop", halted_at=timezone.now())


def _confirm(client, alert, **body):
    return client.post(f"/api/v1/alerts/{alert.pk}/confirm-stop", {"reason": "toxic answers", **body}, format="json")


def _resume(client, use_case, **body):
    return client.post(f"/api/v1/use-cases/{use_case.slug}/resume", {"reason": "rolled back", **body},
                       format="json")


def test_confirming_a_stop_without_the_password_is_refused_and_halts_nothing(owner, use_case):
    response = _confirm(_client(owner), _stop_alert(use_case))

    assert response.status_code == 400
    assert response.json()["code"] == "password_required"
    assert UseCase.objects.get(pk=use_case.pk).halted is False


def test_resuming_without_the_password_is_refused_and_the_halt_stays(owner, use_case):
    _halt(use_case)

    response = _resume(_client(owner), use_case)

    assert response.status_code == 400
    assert response.json()["code"] == "password_required"
    assert UseCase.objects.get(pk=use_case.pk).halted is True


def test_a_wrong_password_is_refused_and_the_third_locks_like_a_signature(owner, use_case):
    alert = _stop_alert(use_case)
    client = _client(owner)

    wrong = [_confirm(client, alert, password="not it") for _ in range(3)]
    locked = _confirm(client, alert, password=PASSWORD)

    assert [(r.status_code, r.json()["code"]) for r in wrong] == [(403, "invalid_password")] * 3
    assert locked.status_code == 429 and locked.json()["code"] == "signing_locked"
    assert int(locked["Retry-After"]) > 0
    assert UseCase.objects.get(pk=use_case.pk).halted is False
    assert AuditEvent.objects.filter(action="signature.failed", actor_user=owner).count() == 3
    lock = AuditEvent.objects.get(action="signature.locked", actor_user=owner)
    assert lock.after["use_cases"] == [use_case.pk]


def test_failures_at_stop_resume_and_signing_count_towards_one_lock(owner, use_case):
    client = _client(owner)
    first = _confirm(client, _stop_alert(use_case), password="not it")
    _halt(use_case)
    second = _resume(client, use_case, password="not it")
    third = _resume(client, use_case, password="still not")

    assert [r.json()["code"] for r in (first, second, third)] == ["invalid_password"] * 3
    assert AuditEvent.objects.filter(action="signature.locked", actor_user=owner).count() == 1
    resumed = _resume(client, use_case, password=PASSWORD)
    assert resumed.status_code == 429 and resumed.json()["code"] == "signing_locked"
    assert UseCase.objects.get(pk=use_case.pk).halted is True


def test_the_right_password_confirms_the_stop_with_its_audit_event(owner, use_case):
    alert = _stop_alert(use_case)

    response = _confirm(_client(owner), alert, password=PASSWORD)

    assert response.status_code == 200, response.json()
    assert response.json()["halt_applied"] is True
    event = AuditEvent.objects.get(action="alert.stop_confirmed")
    assert event.actor_user == owner and event.reason == "toxic answers"
    assert not AuditEvent.objects.filter(action="signature.failed").exists()


def test_the_right_password_resumes_with_its_audit_event(owner, use_case):
    _halt(use_case)

    response = _resume(_client(owner), use_case, password=PASSWORD)

    assert response.status_code == 200, response.json()
    assert response.json()["halted"] is False
    event = AuditEvent.objects.get(action="use_case.resumed")
    assert event.actor_user == owner and event.reason == "rolled back"


def test_a_token_cannot_confirm_a_stop_or_resume(owner, use_case):
    _, raw = api_token_create(actor=Actor.for_user(owner), owner_username=owner.username, name="ci",
                              scopes=["monitoring:read", "governance:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    alert = _stop_alert(use_case)

    confirmed = _confirm(client, alert, password=PASSWORD)
    _halt(use_case)
    resumed = _resume(client, use_case, password=PASSWORD)

    assert [(r.status_code, r.json()["code"]) for r in (confirmed, resumed)] == [(403, "permission_denied")] * 2
    assert Alert.objects.get(pk=alert.pk).stop_confirmed_at is None
    assert UseCase.objects.get(pk=use_case.pk).halted is True


def test_the_services_refuse_a_token_actor_whatever_the_caller(owner, use_case):
    token, _ = api_token_create(actor=Actor.for_user(owner), owner_username=owner.username, name="ci",
                                scopes=["monitoring:read"])
    machine = Actor.for_token(token)
    alert = _stop_alert(use_case)

    with pytest.raises(PermissionRefused) as stop:
        alert_confirm_stop(actor=machine, alert=alert, password=PASSWORD)
    _halt(use_case)
    with pytest.raises(PermissionRefused) as resume:
        use_case_resume(actor=machine, use_case=use_case, reason="fine", password=PASSWORD)

    assert stop.value.code == resume.value.code == "person_required"
    assert UseCase.objects.get(pk=use_case.pk).halted is True
