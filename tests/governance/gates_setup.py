"""Arrange helpers for the gate, checklist, decision and obligation tests: a staffed use case and a prepared gate."""
import functools
import itertools
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from driftgate.actors import Actor
from governance.facts import MonitoringFacts
from governance.models import (
    ChecklistItem,
    ChecklistTemplate,
    ChecklistTemplateItem,
    EffectGoal,
    EffectMeasurement,
    Gate,
    Role,
)
from governance.services.checklists import checklist_item_update, evidence_add
from governance.services.gates import gate_open, gate_request_decision
from governance.templates_data import install_builtin_templates
from tests.factories import PASSWORD, MembershipFactory, UseCaseFactory

_people = itertools.count(1)


@functools.cache
def _password_hash() -> str:
    # Hashing once per run keeps each test from paying the password hasher's deliberate cost five times.
    return make_password(PASSWORD)


def make_person(first_name: str = "Sam", last_name: str = "Signer"):
    """Create a person who signs with tests.factories.PASSWORD."""
    n = next(_people)
    return get_user_model().objects.create(username=f"person{n}", first_name=first_name, last_name=f"{last_name} {n}",
                                           email=f"person{n}@example.com", password=_password_hash())


def load_templates() -> None:
    """Make sure the built-in templates exist (a transactional test elsewhere may have flushed them)."""
    install_builtin_templates(ChecklistTemplate, ChecklistTemplateItem)


@dataclass
class Team:
    """A use case and one person per role, plus a second reviewer."""

    use_case: object
    product_owner: object
    platform_owner: object
    governance_owner: object
    reviewer: object
    second_reviewer: object

    def actor(self, who: str) -> Actor:
        """Return the actor of the named team member."""
        return Actor.for_user(getattr(self, who))


def make_team(*, stage: str = "pilot") -> Team:
    """Create a use case in the stage with product, platform and governance owners and two reviewers."""
    load_templates()
    use_case = UseCaseFactory(stage=stage)
    people = {}
    for who, role in [("product_owner", Role.PRODUCT_OWNER), ("platform_owner", Role.PLATFORM_OWNER),
                      ("governance_owner", Role.GOVERNANCE_OWNER), ("reviewer", Role.REVIEWER),
                      ("second_reviewer", Role.REVIEWER)]:
        people[who] = make_person(first_name=role.label.split()[0])
        MembershipFactory(use_case=use_case, user=people[who], role=role)
    return Team(use_case=use_case, **people)


def add_goals(use_case, *, count: int = 3, met: bool = True) -> list[EffectGoal]:
    """Add effect goals with one measurement each that meets (or misses) its target."""
    goals = []
    for index in range(count):
        goal = EffectGoal.objects.create(use_case=use_case, metric=f"metric-{index}", target=0.7, unit="share")
        EffectMeasurement.objects.create(goal=goal, value=0.8 if met else 0.5, source="pilot report")
        goals.append(goal)
    return goals


def owner_actor(team: Team, item: ChecklistItem) -> Actor:
    """Return the actor holding the item's owner role."""
    return team.actor(item.owner_role if item.owner_role != Role.REVIEWER else "product_owner")


def complete_required_items(team: Team, gate: Gate) -> None:
    """Attach URL evidence to every required item and mark it done, through the services."""
    for item in ChecklistItem.objects.filter(checklist__gate=gate, required=True):
        actor = owner_actor(team, item)
        evidence_add(actor=actor, item=item, name=f"{item.key} evidence", url=f"https://wiki.example.com/{item.key}")
        checklist_item_update(actor=actor, item=item, status="done")


def gate_in_review(team: Team, number: int = 1, *, goals: bool = True) -> Gate:
    """Open the gate, complete its required items and ask for a decision."""
    if goals and number in (1, 3) and not team.use_case.effect_goals.exists():
        add_goals(team.use_case)
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=number)
    complete_required_items(team, gate)
    return gate_request_decision(actor=team.actor("product_owner"), gate=gate)


def probes_ready(**overrides) -> dict:
    """Model-probe facts of a version whose golden sets ran yesterday, met the target and match the base model."""
    return {"configured": True, "pass_target": 0.9, "max_age_days": 7, "gate_alpha": 0.05,
            "model_version": {"id": 1, "label": "v1"}, "endpoint_registered": True, "base_endpoint_registered": True,
            "sets": [{"key": "general-capability", "current_version": 1, "ran_version": 1, "pass_rate": 0.95,
                      "graded": 86, "errors": 0}],
            "last_run": {"id": 1, "finished_at": timezone.now().isoformat()},
            "base_comparison": {"base_run": 2, "set": "general-capability", "compared": True, "paired": 86, "lost": 2,
                                "gained": 1, "drop": 1 / 86, "p_value": 0.5},
            **overrides}


def monitoring_ready(monkeypatch, **overrides) -> None:
    """Answer every monitoring question as ready (the criteria logic is under test, not monitoring's facts)."""
    facts = MonitoringFacts(**{"policy_configured": True, "baseline_frozen": True,
                               "baseline_frozen_at": timezone.now(), "probes": probes_ready(), **overrides})
    monkeypatch.setattr("governance.facts._provider", lambda use_case: facts)
