"""The README's token commands work as written on a fresh install: the machine user is created with its role."""
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from governance.models import AuditEvent, Membership
from tests.factories import UseCaseFactory

pytestmark = pytest.mark.django_db


def _create(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("token_create", *args, stdout=out, stderr=err)
    return out.getvalue().strip()


def test_the_readme_commands_create_the_machine_users_and_working_tokens():
    use_case = UseCaseFactory(slug="invoice-assistant")

    ci = _create("--user", "ci-bot", "--create-user", "--use-case", "invoice-assistant", "--role", "viewer",
                 "--name", "ci", "--scope", "status:read")
    serving = _create("--user", "serving", "--create-user", "--use-case", "invoice-assistant", "--role",
                      "platform_owner", "--name", "prod", "--scope", "traffic:write")

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {ci}")
    assert client.get(f"/api/v1/use-cases/{use_case.slug}/status").status_code == 200
    assert serving.startswith("dg_")
    roles = set(Membership.objects.filter(use_case=use_case).values_list("user__username", "role"))
    assert roles == {("ci-bot", "viewer"), ("serving", "platform_owner")}
    assert AuditEvent.objects.filter(action="user.created").count() == 2


def test_a_machine_user_cannot_sign_in_with_a_password():
    UseCaseFactory(slug="invoice-assistant")
    _create("--user", "ci-bot", "--create-user", "--use-case", "invoice-assistant", "--role", "viewer",
            "--name", "ci", "--scope", "status:read")

    assert get_user_model().objects.get(username="ci-bot").has_usable_password() is False


def test_an_unknown_user_without_create_user_says_how_to_fix_it():
    with pytest.raises(CommandError, match="unknown_user"):
        _create("--user", "nobody", "--name", "ci", "--scope", "status:read")
    with pytest.raises(CommandError, match="--create-user"):
        _create("--user", "nobody", "--use-case", "x", "--role", "viewer", "--name", "ci", "--scope", "status:read")


def test_running_it_twice_adds_no_second_role():
    UseCaseFactory(slug="invoice-assistant")
    for name in ("ci", "ci-2"):
        _create("--user", "ci-bot", "--create-user", "--use-case", "invoice-assistant", "--role", "viewer",
                "--name", name, "--scope", "status:read")

    assert Membership.objects.filter(user__username="ci-bot").count() == 1
