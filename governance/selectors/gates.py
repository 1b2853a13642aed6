"""Reading gates with their checklists, evidence, live criteria, ML Test Score, decisions and signature validity."""
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.content import decision_content_hash
from governance.criteria import failing_criteria, gate_criteria, item_is_complete
from governance.models import (
    Automation,
    Checklist,
    ChecklistItem,
    ChecklistKind,
    Decision,
    Evidence,
    Gate,
    GateNumber,
    ItemStatus,
    Obligation,
    Signature,
)
from governance.permissions import get_visible_use_case, use_cases_visible_to

ML_TEST_POINTS: dict[str, float] = {Automation.NONE: 0.0, Automation.MANUAL: 0.5, Automation.AUTOMATED: 1.0}
# Breck et al. (2017), table of final scores: upper bound of each band and what it says.
ML_TEST_BANDS = ((0.0, "research project"), (1.0, "serious holes in reliability"),
                 (2.0, "first pass at production readiness"), (3.0, "reasonably tested"),
                 (5.0, "mission-critical ready"))


def _username(user) -> str | None:
    return user.get_username() if user is not None else None


def _visible(queryset: QuerySet, *, actor: Actor, path: str, pk: int, code: str, label: str):
    found = queryset.filter(**{f"{path}__in": use_cases_visible_to(actor)}, pk=pk).first()
    if found is None:
        raise NotFound(f"{label} {pk} does not exist or is not visible to you.", code=code, extra={"id": pk})
    return found


def gates_of_use_case(*, actor: Actor, slug: str) -> QuerySet[Gate]:
    """Return a visible use case's gates, by number and newest first."""
    use_case = get_visible_use_case(actor=actor, slug=slug)
    return (Gate.objects.filter(use_case=use_case).select_related("use_case", "opened_by", "requested_by")
            .order_by("number", "-opened_at", "-id"))


def gate_get(*, actor: Actor, gate_id: int) -> Gate:
    """Return a gate the actor may see, or NotFound."""
    queryset = Gate.objects.select_related("use_case", "opened_by", "requested_by")
    return _visible(queryset, actor=actor, path="use_case", pk=gate_id, code="gate_not_found", label="Gate")


def checklist_item_get(*, actor: Actor, item_id: int) -> ChecklistItem:
    """Return a checklist item the actor may see, or NotFound."""
    queryset = ChecklistItem.objects.select_related("checklist__template", "checklist__gate__use_case")
    return _visible(queryset, actor=actor, path="checklist__gate__use_case", pk=item_id,
                    code="checklist_item_not_found", label="Checklist item")


def evidence_get(*, actor: Actor, evidence_id: int) -> Evidence:
    """Return evidence the actor may see (removed evidence included: the trail keeps it), or NotFound."""
    queryset = Evidence.objects.select_related("item__checklist__gate__use_case")
    return _visible(queryset, actor=actor, path="item__checklist__gate__use_case", pk=evidence_id,
                    code="evidence_not_found", label="Evidence")


def decision_get(*, actor: Actor, decision_id: int) -> Decision:
    """Return a decision the actor may see, or NotFound."""
    queryset = Decision.objects.select_related("gate__use_case", "gate__requested_by")
    return _visible(queryset, actor=actor, path="gate__use_case", pk=decision_id, code="decision_not_found",
                    label="Decision")


def obligation_get(*, actor: Actor, obligation_id: int) -> Obligation:
    """Return an obligation the actor may see, or NotFound."""
    queryset = Obligation.objects.select_related("use_case", "owner")
    return _visible(queryset, actor=actor, path="use_case", pk=obligation_id, code="obligation_not_found",
                    label="Obligation")


def obligations_of_use_case(*, actor: Actor, slug: str, status: str | None = None) -> QuerySet[Obligation]:
    """Return a visible use case's obligations by due date, optionally of one status."""
    use_case = get_visible_use_case(actor=actor, slug=slug)
    queryset = Obligation.objects.filter(use_case=use_case).select_related("use_case", "owner")
    return queryset.filter(status=status) if status else queryset


def obligation_data(obligation: Obligation) -> dict:
    """Return an obligation as the API shows it."""
    return {"id": obligation.pk, "use_case": obligation.use_case.slug, "decision": obligation.decision_id,
            "title": obligation.title, "description": obligation.description,
            "owner": _username(obligation.owner), "due_date": obligation.due_date, "status": obligation.status,
            "overdue": obligation.is_overdue(), "resolution": obligation.resolution,
            "evidence_url": obligation.evidence_url,
            "created_at": obligation.created_at, "closed_at": obligation.closed_at}


def ml_test_score(items: list[ChecklistItem]) -> dict:
    """Score ML Test Score items: 0 / 0.5 / 1 point per done test by automation; the score is the weakest section."""
    sections: dict[str, float] = {}
    for item in items:
        points = ML_TEST_POINTS[item.automation] if item.status == ItemStatus.DONE else 0.0
        sections[item.section] = sections.get(item.section, 0.0) + points
    score = min(sections.values()) if sections else 0.0
    meaning = next((label for bound, label in ML_TEST_BANDS if score <= bound), "exceptional")
    return {"sections": sections, "total": sum(sections.values()), "score": score, "meaning": meaning}


def signature_status(signature: Signature, *, current_hash: str | None = None) -> dict:
    """Return whether the signature still matches the gate's content: valid iff the hashes agree."""
    current = current_hash or decision_content_hash(signature.decision)
    return {"valid": current == signature.content_hash, "current_hash": current,
            "signed_hash": signature.content_hash}


def _evidence_data(evidence: Evidence) -> dict:
    return {"id": evidence.pk, "name": evidence.name, "kind": "file" if evidence.file else "url",
            "url": evidence.url, "sha256": evidence.sha256, "size": evidence.size,
            "content_type": evidence.content_type, "uploaded_by": _username(evidence.uploaded_by),
            "uploaded_at": evidence.uploaded_at, "removed_at": evidence.removed_at}


def _item_data(item: ChecklistItem) -> dict:
    live = [ev for ev in item.evidence.all() if ev.removed_at is None]
    return {"id": item.pk, "key": item.key, "section": item.section, "text": item.text, "guidance": item.guidance,
            "owner_role": item.owner_role, "required": item.required, "status": item.status,
            "reason": item.reason, "automation": item.automation, "complete": item_is_complete(item, len(live)),
            "completed_by": _username(item.completed_by), "completed_at": item.completed_at,
            "evidence": [_evidence_data(ev) for ev in item.evidence.all()]}


def _checklist_data(checklist: Checklist) -> dict:
    items = list(checklist.items.all())
    data = {"id": checklist.pk, "key": checklist.template.key, "title": checklist.title, "kind": checklist.kind,
            "template_version": checklist.template_version,
            "required_items": sum(1 for item in items if item.required),
            "required_complete": sum(1 for item in items if item.required and item_is_complete(
                item, sum(1 for ev in item.evidence.all() if ev.removed_at is None))),
            "items": [_item_data(item) for item in items]}
    if checklist.kind == ChecklistKind.ML_TEST_SCORE:
        data["ml_test_score"] = ml_test_score(items)
    return data


def _conditions_data(decision: Decision) -> list[dict]:
    # Conditions store the owner's id (what the signatures bound); people read the username beside it.
    ids = {condition.get("owner_id") for condition in decision.conditions}
    names = dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username")) if ids else {}
    return [{**condition, "owner": names.get(condition.get("owner_id"))} for condition in decision.conditions]


def _decision_data(decision: Decision) -> dict:
    current = decision_content_hash(decision)
    return {"id": decision.pk, "outcome": decision.outcome, "status": decision.status,
            "rationale": decision.rationale, "conditions": _conditions_data(decision), "criteria": decision.criteria,
            "content_hash": decision.content_hash, "proposed_by": _username(decision.proposed_by),
            "created_at": decision.created_at, "finalized_at": decision.finalized_at,
            "signatures": [{"id": sig.pk, "signer": _username(sig.signer), "printed_name": sig.printed_name,
                            "role": sig.role, "meaning": sig.meaning, "signed_at": sig.signed_at,
                            "auth_method": sig.auth_method, "auth_time": sig.auth_time,
                            **signature_status(sig, current_hash=current)}
                           for sig in decision.signatures.all()]}


def gate_summary(gate: Gate) -> dict:
    """Return a gate's headline fields."""
    return {"id": gate.pk, "use_case": gate.use_case.slug, "number": gate.number,
            "title": GateNumber(gate.number).label, "status": gate.status, "required_roles": gate.required_roles,
            "opened_by": _username(gate.opened_by), "opened_at": gate.opened_at,
            "requested_by": _username(gate.requested_by), "requested_at": gate.requested_at,
            "decided_at": gate.decided_at, "expires_at": gate.expires_at}


def gate_detail(gate: Gate) -> dict:
    """Return the gate with checklists, items, evidence, live criteria, ML Test Score and signed decisions."""
    items = ChecklistItem.objects.select_related("completed_by").prefetch_related(
        Prefetch("evidence", queryset=Evidence.objects.select_related("uploaded_by").order_by("uploaded_at", "id")))
    checklists = (Checklist.objects.filter(gate=gate).select_related("template")
                  .prefetch_related(Prefetch("items", queryset=items.order_by("position", "id"))).order_by("id"))
    decisions = (Decision.objects.filter(gate=gate).select_related("proposed_by")
                 .prefetch_related(Prefetch("signatures", queryset=Signature.objects.select_related("signer")))
                 .order_by("created_at", "id"))
    criteria = gate_criteria(gate)
    checklist_data = [_checklist_data(checklist) for checklist in checklists]
    scores = [data["ml_test_score"] for data in checklist_data if "ml_test_score" in data]
    for decision in decisions:
        decision.gate = gate
    return {**gate_summary(gate), "criteria": criteria, "go_allowed": not failing_criteria(criteria),
            "ml_test_score": scores[0] if scores else None, "checklists": checklist_data,
            "decisions": [_decision_data(decision) for decision in decisions]}
