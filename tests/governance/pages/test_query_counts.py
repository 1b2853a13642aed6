"""Every page answers in a fixed number of queries: more use cases, gates, items or events add none (no N+1)."""
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from governance.models import Decision, Gate, Obligation
from governance.services.decisions import gate_decide
from tests.factories import PASSWORD, MembershipFactory, UseCaseFactory
from tests.governance.gates_setup import add_goals, gate_in_review, make_team, monitoring_ready

pytestmark = pytest.mark.django_db

# The most queries a page may take; generous enough for its fixed work, far below one query per row.
BUDGET = 40


def _grow(team, *, use_cases: int) -> None:
    """Give the product owner more use cases, each with a gate, goals and obligations."""
    for _ in range(use_cases):
        use_case = UseCaseFactory()
        MembershipFactory(use_case=use_case, user=team.product_owner, role="product_owner")
        Gate.objects.create(use_case=use_case, number=1, status="open", required_roles=["governance_owner"])
        add_goals(use_case, count=3)
        Obligation.objects.create(use_case=use_case, title="t", owner=team.product_owner,
                                  due_date=timezone.localdate())


def _pages(team, gate, decision) -> dict[str, str]:
    slug = team.use_case.slug
    return {"home": "/", "use cases": "/use-cases/", "use case": f"/use-cases/{slug}/", "gate": f"/gates/{gate.pk}/",
            "decide": f"/gates/{gate.pk}/decide/", "decision": f"/decisions/{decision.pk}/",
            "my obligations": "/obligations/", "use case obligations": f"/use-cases/{slug}/obligations/"}


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.fixture
def world(monkeypatch):
    monitoring_ready(monkeypatch)
    team = make_team()
    gate = gate_in_review(team, 1)
    decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="ok",
                           role="governance_owner", password=PASSWORD)
    return team, gate, decision


def test_every_page_keeps_its_query_count_as_the_data_grows(world):
    team, gate, decision = world
    client = Client()
    client.force_login(team.product_owner)
    pages = _pages(team, gate, decision)
    client.get("/")  # warm the session and content types, as any later request finds them

    small = {name: _count(client, url) for name, url in pages.items()}
    _grow(team, use_cases=8)
    # More rows on the gate's own use case that are not part of its signed content.
    for _ in range(4):
        MembershipFactory(use_case=team.use_case, role="viewer")
    for _ in range(5):
        Obligation.objects.create(use_case=team.use_case, title="more", owner=team.product_owner,
                                  due_date=timezone.localdate())
    large = {name: _count(client, url) for name, url in pages.items()}

    assert large == small
    assert max(large.values()) <= BUDGET, large
    assert Decision.objects.count() == 1


def test_the_use_case_page_keeps_its_count_as_goals_measurements_and_gates_grow(world):
    team, gate, decision = world
    client = Client()
    client.force_login(team.product_owner)
    url = f"/use-cases/{team.use_case.slug}/"
    client.get(url)

    before = _count(client, url)
    for index in range(4):
        goal = team.use_case.effect_goals.create(metric=f"extra-{index}", target=1.0)
        for value in (0.5, 0.8, 1.2):
            goal.measurements.create(value=value, source="more data")
    Gate.objects.create(use_case=team.use_case, number=2, status="open", required_roles=["governance_owner"])
    after = _count(client, url)

    assert after == before <= BUDGET
