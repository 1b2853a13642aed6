"""What waits for one person: open items of their roles, signatures, obligations, requests, and their use cases."""
from django.db.models import Count, Exists, OuterRef, Q

from driftgate.actors import Actor
from governance.facts import monitoring_facts_many
from governance.models import (
    ChecklistItem,
    Decision,
    DecisionStatus,
    Evidence,
    Gate,
    GateStatus,
    ItemStatus,
    Membership,
    Obligation,
    ObligationStatus,
    UseCase,
)
from governance.permissions import use_cases_visible_to

PENDING = (GateStatus.OPEN, GateStatus.IN_REVIEW)


def _memberships(actor: Actor) -> dict[int, set[str]]:
    roles: dict[int, set[str]] = {}
    for use_case_id, role in Membership.objects.filter(user=actor.user).values_list("use_case_id", "role"):
        roles.setdefault(use_case_id, set()).add(role)
    return roles


def open_items_for(*, actor: Actor, roles: dict[int, set[str]], limit: int = 50) -> list[ChecklistItem]:
    """Return open items on open gates whose owner role the person holds on that use case."""
    holds_role = Membership.objects.filter(user=actor.user, use_case_id=OuterRef("checklist__gate__use_case_id"),
                                           role=OuterRef("owner_role"))
    return list(ChecklistItem.objects.filter(Exists(holds_role), status=ItemStatus.OPEN,
                                             checklist__gate__status=GateStatus.OPEN)
                .select_related("checklist__gate__use_case").order_by("checklist__gate__use_case__slug",
                                                                      "checklist__id", "position", "id")[:limit])


def decisions_awaiting(*, actor: Actor, roles: dict[int, set[str]]) -> list[dict]:
    """Return pending decisions that still need a role this person holds and has not yet signed."""
    decisions = (Decision.objects.filter(status=DecisionStatus.PENDING, gate__status=GateStatus.IN_REVIEW,
                                         gate__use_case_id__in=list(roles))
                 .select_related("gate__use_case").prefetch_related("signatures").order_by("created_at"))
    waiting = []
    for decision in decisions:
        signatures = list(decision.signatures.all())
        if any(sig.signer_id == actor.person.pk for sig in signatures):
            continue
        signed_roles = {sig.role for sig in signatures}
        open_roles = [role for role in decision.gate.required_roles
                      if role not in signed_roles and role in roles.get(decision.gate.use_case_id, set())]
        if open_roles and decision.gate.requested_by_id != actor.person.pk:
            waiting.append({"decision": decision, "roles": open_roles})
    return waiting


def gates_to_decide(*, actor: Actor, roles: dict[int, set[str]]) -> list[Gate]:
    """Return gates in review with no live decision where this person holds a signing role (and did not ask)."""
    live = Decision.objects.filter(gate=OuterRef("pk"), status__in=[DecisionStatus.PENDING, DecisionStatus.FINAL])
    gates = (Gate.objects.filter(status=GateStatus.IN_REVIEW, use_case_id__in=list(roles))
             .exclude(requested_by=actor.user).annotate(has_decision=Exists(live)).filter(has_decision=False)
             .select_related("use_case", "requested_by").order_by("requested_at"))
    return [gate for gate in gates if set(gate.required_roles) & roles.get(gate.use_case_id, set())]


def obligations_owned(*, actor: Actor) -> list[Obligation]:
    """Return the person's open obligations by due date."""
    return list(Obligation.objects.filter(owner=actor.user, status=ObligationStatus.OPEN,
                                          use_case__in=use_cases_visible_to(actor))
                .select_related("use_case", "owner").order_by("due_date", "id"))


def gates_requested(*, actor: Actor) -> list[Gate]:
    """Return gates this person asked a decision on that are still waiting."""
    return list(Gate.objects.filter(requested_by=actor.user, status=GateStatus.IN_REVIEW)
                .select_related("use_case").order_by("requested_at"))


def gate_readiness(gate_ids: list[int]) -> dict[int, dict]:
    """Return required items complete / total per gate in one query (complete: as the gate criteria count it)."""
    live = Evidence.objects.filter(item=OuterRef("pk"), removed_at__isnull=True)
    rows = (ChecklistItem.objects.filter(checklist__gate_id__in=gate_ids, required=True)
            .annotate(has_evidence=Exists(live))
            .values("checklist__gate_id")
            .annotate(total=Count("id"),
                      complete=Count("id", filter=Q(status=ItemStatus.DONE, has_evidence=True)
                                     | Q(status__in=[ItemStatus.WAIVED, ItemStatus.NOT_APPLICABLE]))))
    return {row["checklist__gate_id"]: {"total": row["total"], "complete": row["complete"]} for row in rows}


def use_case_rows(*, use_cases: list[UseCase], with_monitoring: bool) -> list[dict]:
    """Return each use case with its pending gate, that gate's readiness and (optionally) its monitoring state."""
    pending = {gate.use_case_id: gate for gate in Gate.objects.filter(use_case__in=use_cases, status__in=PENDING)}
    readiness = gate_readiness([gate.pk for gate in pending.values()])
    facts = monitoring_facts_many(use_cases) if with_monitoring else {}
    rows = []
    for use_case in use_cases:
        gate = pending.get(use_case.pk)
        rows.append({"use_case": use_case, "gate": gate,
                     "readiness": readiness.get(gate.pk, {"total": 0, "complete": 0}) if gate else None,
                     "monitoring": facts.get(use_case.pk)})
    return rows


def my_work(*, actor: Actor) -> dict:
    """Return everything the home page shows for this person."""
    roles = _memberships(actor)
    mine = list(UseCase.objects.filter(pk__in=list(roles)).order_by("slug"))
    return {
        "items": open_items_for(actor=actor, roles=roles),
        "awaiting_signature": decisions_awaiting(actor=actor, roles=roles),
        "to_decide": gates_to_decide(actor=actor, roles=roles),
        "obligations": obligations_owned(actor=actor),
        "requested": gates_requested(actor=actor),
        "use_cases": use_case_rows(use_cases=mine, with_monitoring=True),
        "roles": roles,
    }
