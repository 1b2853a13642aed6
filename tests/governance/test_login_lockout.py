"""Sign-in lockout per account and per address (django-axes), in the audit log, lifted by staff."""
import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import Client, RequestFactory

from driftgate.actors import Actor
from driftgate.errors import PermissionRefused
from governance.models import AuditEvent
from governance.services.login_lockout import login_unlock
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.AXES_FAILURE_LIMIT = 5


@pytest.fixture
def staff():
    return UserFactory(username="staff-sam", is_staff=True)


def _login(client: Client, username: str, password: str, ip: str = "203.0.113.7"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(staff):
    client = Client()

    failures = [_login(client, staff.username, "wrong").status_code for _ in range(4)]
    fifth = _login(client, staff.username, "wrong")
    right = _login(client, staff.username, PASSWORD)

    assert failures == [200] * 4  # the admin shows its form again
    assert fifth.status_code == 429 and right.status_code == 429
    assert 0 < int(right["Retry-After"]) <= 900
    assert b"Sign-in locked" in right.content
    assert "_auth_user_id" not in client.session
    lock = AuditEvent.objects.get(action="auth.login_locked")
    assert lock.after["username"] == staff.username and lock.after["failures"] == 5
    assert lock.after["ip_address"] == "203.0.113.7"


def test_one_address_trying_many_accounts_is_locked_for_all_of_them(staff):
    client = Client()
    for n in range(5):
        _login(client, f"guess{n}", "wrong", ip="198.51.100.9")

    from_that_address = _login(client, staff.username, PASSWORD, ip="198.51.100.9")
    from_elsewhere = _login(Client(), staff.username, PASSWORD, ip="192.0.2.44")

    assert from_that_address.status_code == 429
    assert from_elsewhere.status_code == 302  # the account itself was never attacked


def test_an_api_client_gets_the_error_shape_with_a_stable_code(staff):
    rf = RequestFactory()
    for _ in range(5):
        request = rf.post("/api/v1/login", REMOTE_ADDR="203.0.113.8")
        assert authenticate(request=request, username=staff.username, password="wrong") is None
    client = Client()
    response = client.post(LOGIN, {"username": staff.username, "password": PASSWORD}, REMOTE_ADDR="203.0.113.8",
                           HTTP_ACCEPT="application/json")

    assert response.status_code == 429
    assert response.json()["code"] == "login_locked" and response.json()["extra"]["retry_after"] == 900


def test_staff_unlock_by_command_is_audited_and_lets_the_person_in(staff, capsys):
    client = Client()
    for _ in range(5):
        _login(client, staff.username, "wrong")

    call_command("login_unlock", "--username", staff.username)

    assert not AccessAttempt.objects.filter(username=staff.username).exists()
    unlock = AuditEvent.objects.get(action="auth.login_unlocked")
    assert unlock.after["username"] == staff.username and unlock.after["failures_cleared"] == 5
    assert _login(client, staff.username, PASSWORD).status_code == 302


def test_the_admin_unlock_action_calls_the_audited_service(staff):
    victim = UserFactory(username="victim-vic")
    for _ in range(5):
        _login(Client(), victim.username, "wrong")
    admin = UserFactory(username="root-ruth", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    ids = list(AccessAttempt.objects.values_list("pk", flat=True))

    response = client.post("/admin/axes/accessattempt/", {"action": "unlock", "_selected_action": ids})

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    unlock = AuditEvent.objects.get(action="auth.login_unlocked")
    assert unlock.actor_user == admin and unlock.after["username"] == victim.username


def test_only_staff_may_unlock(staff):
    person = UserFactory(username="plain-pat")

    with pytest.raises(PermissionRefused) as excinfo:
        login_unlock(actor=Actor.for_user(person), username=staff.username)

    assert excinfo.value.code == "staff_required"
