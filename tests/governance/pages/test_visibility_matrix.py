"""Who sees what, one rule for pages, API and tokens: role x page or endpoint x own or other use case.

A member (any role) reads their own use case and nothing of another; an organisation-wide reader reads both;
staff and outsiders read neither. A token reads exactly what its owner reads. Invisible and missing look alike:
pages answer 404, the API 404 with its stable code.
"""
import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.models import TokenScope
from governance.audit import audit_record
from governance.models import Decision, Gate, Obligation, OrganisationRole
from governance.services.tokens import api_token_create
from tests.factories import MembershipFactory, UseCaseFactory, UserFactory

ROLES = ["product_owner", "platform_owner", "governance_owner", "reviewer", "viewer"]
PEOPLE = [*ROLES, "organisation_reader", "staff_without_role", "outsider"]
SEES_OWN = set(ROLES) | {"organisation_reader"}
SEES_OTHER = {"organisation_reader"}

PAGES = {
    "use case page": lambda w: f"/use-cases/{w['use_case'].slug}/",
    "gate page": lambda w: f"/gates/{w['gate'].pk}/",
    "decide page": lambda w: f"/gates/{w['gate'].pk}/decide/",
    "decision page": lambda w: f"/decisions/{w['decision'].pk}/",
    "obligations page": lambda w: f"/use-cases/{w['use_case'].slug}/obligations/",
}
ENDPOINTS = {
    "use case": (lambda w: f"/api/v1/use-cases/{w['use_case'].slug}", "use_case_not_found"),
    "gates": (lambda w: f"/api/v1/use-cases/{w['use_case'].slug}/gates", "use_case_not_found"),
    "gate": (lambda w: f"/api/v1/gates/{w['gate'].pk}", "gate_not_found"),
    "obligations": (lambda w: f"/api/v1/use-cases/{w['use_case'].slug}/obligations", "use_case_not_found"),
    "members": (lambda w: f"/api/v1/use-cases/{w['use_case'].slug}/members", "use_case_not_found"),
}


def _world(people: dict, *, mine: bool) -> dict:
    """A use case with a gate in review, a pending decision and an obligation; members only when `mine`."""
    use_case = UseCaseFactory()
    owner = UserFactory()
    MembershipFactory(use_case=use_case, user=owner, role="governance_owner")
    if mine:
        for role in ROLES:
            MembershipFactory(use_case=use_case, user=people[role], role=role)
    gate = Gate.objects.create(use_case=use_case, number=1, status="in_review", required_roles=["governance_owner"],
                               requested_by=owner, requested_at=timezone.now())
    decision = Decision.objects.create(gate=gate, outcome="no_go", rationale="r", content_hash="0" * 64,
                                       proposed_by=owner)
    Obligation.objects.create(use_case=use_case, title="t", owner=owner, due_date=timezone.localdate())
    return {"use_case": use_case, "gate": gate, "decision": decision}


@pytest.fixture
def people(db) -> dict:
    people = {name: UserFactory(username=name.replace("_", "-")) for name in PEOPLE}
    people["staff_without_role"].is_staff = True
    people["staff_without_role"].save()
    OrganisationRole.objects.create(user=people["organisation_reader"], reason="compliance officer")
    return people


@pytest.fixture
def worlds(people) -> dict:
    return {"own": _world(people, mine=True), "other": _world(people, mine=False)}


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("person", PEOPLE)
def test_pages_show_a_use_case_only_to_who_may_read_it(people, worlds, person, whose):
    client = Client()
    client.force_login(people[person])
    may_read = person in (SEES_OWN if whose == "own" else SEES_OTHER)

    for name, url in PAGES.items():
        response = client.get(url(worlds[whose]))
        assert response.status_code == (200 if may_read else 404), (name, person, whose)


@pytest.mark.parametrize("whose", ["own", "other"])
@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("by_token", [False, True], ids=["session", "token"])
def test_the_api_and_tokens_read_through_the_same_rule(people, worlds, person, whose, by_token):
    client = APIClient()
    if by_token:
        _, raw = api_token_create(actor=Actor.for_user(people[person]), owner_username=people[person].username,
                                  name="matrix", scopes=[TokenScope.GOVERNANCE_READ])
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    else:
        client.force_authenticate(people[person])
    may_read = person in (SEES_OWN if whose == "own" else SEES_OTHER)

    for name, (url, code) in ENDPOINTS.items():
        response = client.get(url(worlds[whose]))
        if may_read:
            assert response.status_code == 200, (name, person, whose, response.json())
        else:
            assert (response.status_code, response.json()["code"]) == (404, code), (name, person, whose)
    listed = {row["slug"] for row in client.get("/api/v1/use-cases").json()["results"]}
    assert (worlds[whose]["use_case"].slug in listed) == may_read


@pytest.mark.parametrize("person", PEOPLE)
def test_the_navigation_and_home_list_only_readable_use_cases(people, worlds, person):
    client = Client()
    client.force_login(people[person])

    page = client.get("/use-cases/").content.decode()

    assert (worlds["own"]["use_case"].name in page) == (person in SEES_OWN)
    assert (worlds["other"]["use_case"].name in page) == (person in SEES_OTHER)


@pytest.mark.parametrize("person", PEOPLE)
def test_the_audit_log_shows_each_person_the_events_of_what_they_may_read(people, worlds, person):
    with transaction.atomic():
        for world in worlds.values():
            audit_record(actor=Actor.system("tests"), action="use_case.updated", obj=world["use_case"],
                         use_case=world["use_case"], after={"name": world["use_case"].name})
        audit_record(actor=Actor.system("tests"), action="token.created", object_type="driftgate.apitoken",
                     object_id="1")
    client = APIClient()
    client.force_authenticate(people[person])

    response = client.get("/api/v1/audit-events?page_size=200")

    assert response.status_code == 200
    seen = {row["use_case"] for row in response.json()["results"]}
    expected = ({worlds["own"]["use_case"].slug} if person in SEES_OWN else set()) | (
        {worlds["other"]["use_case"].slug, None} if person in SEES_OTHER else set())
    assert seen == expected
