"""schemathesis against the live test server: generated requests on every operation, by token and by session.

Fixed seed, a fixed number of cases per operation (≥ 500 a run), no shrinking: every failure is collected and
reported together. The oracle is the published schema itself: no 5xx, and every response matches its schema.
"""
import hypothesis
import pytest
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, Phase, given, settings

from driftgate.actors import Actor
from governance.services.tokens import api_token_create
from tests.factories import (
    AlertFactory,
    DriftRunFactory,
    MembershipFactory,
    ModelVersionFactory,
    UseCaseFactory,
    UserFactory,
)

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

SEED = 20261201
CASES_PER_OPERATION = 9
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def world(transactional_db):
    """A use case with people, a token, runs and alerts in each state, so generated requests meet real rows."""
    use_case = UseCaseFactory(slug="invoice-assistant")
    person = UserFactory(username="gwen")
    for role in ("governance_owner", "platform_owner", "reviewer"):
        MembershipFactory(use_case=use_case, user=person, role=role)
    ModelVersionFactory(use_case=use_case, label="v1")
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    run = DriftRunFactory(use_case=use_case, window_start=hour - timezone.timedelta(hours=2))
    open_alert = AlertFactory(run=run, use_case=use_case)
    triaged = AlertFactory(run=DriftRunFactory(use_case=use_case, window_start=hour - timezone.timedelta(hours=3)),
                           use_case=use_case, status="triaged", verdict="false_alarm", resolution="none",
                           triaged_by=person)
    _, raw = api_token_create(actor=Actor.system("tests"), owner_username=person.username, name="fuzz",
                              scopes=["status:read", "governance:read", "monitoring:read", "reports:read",
                                      "traffic:write"])
    client = Client()
    client.force_login(person)
    secret = get_random_string(32)
    return {
        "auth": [{"headers": {"Authorization": f"Bearer {raw}"}, "cookies": {}},
                 {"headers": {"X-CSRFToken": secret},
                  "cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": secret}}],
        # Generated slugs and ids almost never exist; every other case is pointed at a real row instead.
        "known": {"slug": [use_case.slug], "/alerts/": [open_alert.pk, triaged.pk], "/runs/": [run.pk]},
    }


def _point_at_real_rows(case, known: dict, n: int) -> None:
    if n % 2:
        return
    params = case.path_parameters or {}
    if "slug" in params:
        params["slug"] = known["slug"][0]
    for prefix in ("/alerts/", "/runs/"):
        if prefix in case.operation.path and "id" in params:
            params["id"] = known[prefix][n // 2 % len(known[prefix])]


def _run(schema, base_url: str, world: dict) -> tuple[int, list[str]]:
    count, failures = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.seed(SEED)
        @settings(max_examples=CASES_PER_OPERATION, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def exercise(case):
            nonlocal count
            count += 1
            # Token and session alternate, so every operation is exercised both ways.
            auth = world["auth"][count % 2]
            _point_at_real_rows(case, world["known"], count // 2)
            response = case.call(base_url=base_url, headers=auth["headers"], cookies=auth["cookies"], timeout=30)
            try:
                case.validate_response(response, checks=CHECKS)
            except (AssertionError, FailureGroup) as exc:  # each names the failure and the request (curl)
                # exercise() runs within this iteration, so the loop variable is the current one.
                failures.append(f"{operation.label}: {str(exc)[:1500]}")  # noqa: B023

        exercise()
    return count, failures


def test_no_input_gives_a_server_error_or_breaks_the_schema(live_server, world, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/?format=json")

    count, failures = _run(schema, live_server.url, world)

    assert count >= 500, count
    assert failures == [], "\n\n".join(failures)
