"""Three wrong passwords within 15 minutes lock signing for 15 minutes, and the governance owners are told."""
import time

import pytest
from django.core import mail
from rest_framework.test import APIClient

from governance.models import AuditEvent, Decision, NotificationDelivery, Role
from tests.factories import PASSWORD, MembershipFactory
from tests.governance.gates_setup import gate_in_review, make_person, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


@pytest.fixture
def other_owner(team):
    person = make_person(first_name="Olga", last_name="Owner")
    MembershipFactory(use_case=team.use_case, user=person, role=Role.GOVERNANCE_OWNER)
    return person


def _decide(client, gate, password):
    return client.post(f"/api/v1/gates/{gate.pk}/decide", {"outcome": "go", "rationale": "Goals met.",
                                                           "role": "governance_owner", "password": password},
                       format="json")


def _client(user):
    client = APIClient()
    client.force_login(user)
    return client


def test_the_third_wrong_password_locks_signing_and_a_right_one_is_then_refused(
        team, other_owner, django_capture_on_commit_callbacks):
    gate = gate_in_review(team)
    client = _client(team.governance_owner)

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [_decide(client, gate, "wrong password").status_code for _ in range(3)]
    locked = _decide(client, gate, PASSWORD)

    assert statuses == [403, 403, 403]
    assert locked.status_code == 429
    assert locked.json()["code"] == "signing_locked"
    assert 890 <= int(locked["Retry-After"]) <= 900
    assert not Decision.objects.exists()
    # The attempt while locked never reached the password check, so it is not another failure.
    assert AuditEvent.objects.filter(action="signature.failed").count() == 3
    lock = AuditEvent.objects.get(action="signature.locked")
    assert lock.actor_user == team.governance_owner and lock.after["failures"] == 3
    assert lock.after["notify"] == [other_owner.username]


def test_the_governance_owners_are_emailed_after_commit_through_the_outbox(
        team, other_owner, django_capture_on_commit_callbacks):
    gate = gate_in_review(team)
    client = _client(team.governance_owner)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        for _ in range(3):
            _decide(client, gate, "wrong password")
    # Nothing is sent inside the transaction: the e-mail waits for the commit.
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [other_owner.email]
    assert team.governance_owner.username in message.subject
    assert team.use_case.slug in message.body and "3 times within 15 minutes" in message.body
    assert "11.300(d)" in message.body
    email = NotificationDelivery.objects.get(notification__event="signing_locked", channel="email")
    assert email.recipient == other_owner and email.status == "sent"
    assert NotificationDelivery.objects.filter(notification__event="signing_locked", channel="inbox",
                                               recipient=other_owner).exists()


def test_two_wrong_passwords_do_not_lock(team, other_owner, django_capture_on_commit_callbacks):
    gate = gate_in_review(team)
    client = _client(team.governance_owner)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            _decide(client, gate, "wrong password")
    response = _decide(client, gate, PASSWORD)

    assert response.status_code == 201, response.json()
    assert mail.outbox == [] and not AuditEvent.objects.filter(action="signature.locked").exists()


def test_signing_works_again_when_the_lock_lapses_and_old_failures_do_not_relock(
        team, other_owner, settings, django_capture_on_commit_callbacks):
    settings.DRIFTGATE_SIGNING_LOCKOUT_SECONDS = 1
    gate = gate_in_review(team)
    client = _client(team.governance_owner)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            _decide(client, gate, "wrong password")
    assert _decide(client, gate, PASSWORD).status_code == 429

    time.sleep(1.2)
    with django_capture_on_commit_callbacks(execute=True):
        again = _decide(client, gate, "wrong password")

    # Three failures still lie within the window, but they caused the last lock: one more is not a new lock.
    assert again.status_code == 403 and again.json()["code"] == "invalid_password"
    assert AuditEvent.objects.filter(action="signature.locked").count() == 1
    assert _decide(client, gate, PASSWORD).status_code == 201


def test_a_failed_delivery_is_recorded_and_the_lock_stands(team, other_owner, settings,
                                                           django_capture_on_commit_callbacks):
    settings.DRIFTGATE_NOTIFY_MAX_ATTEMPTS = 1
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens on 9
    gate = gate_in_review(team)
    client = _client(team.governance_owner)

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            _decide(client, gate, "wrong password")

    email = NotificationDelivery.objects.get(notification__event="signing_locked", channel="email")
    assert email.status == "failed" and email.last_error
    assert _decide(client, gate, PASSWORD).status_code == 429
