"""The gate workspace's view model: items grouped by checklist and section, criteria linked to their fixes."""
import re
from collections import OrderedDict

from django.db.models import Prefetch
from django.urls import reverse
from django.utils.translation import gettext as _

from governance.content import decision_content_hash
from governance.criteria import failing_criteria, gate_criteria, item_is_complete
from governance.models import (
    Checklist,
    ChecklistItem,
    ChecklistKind,
    Decision,
    DecisionStatus,
    Evidence,
    Gate,
    GateStatus,
    Role,
    Signature,
)
from governance.pages.forms import EvidenceForm, ItemForm
from governance.pages.labels import choices, label
from governance.pages.versions import gate_version, item_version
from governance.selectors.gates import ml_test_score

_ITEM_REASON = re.compile(r"^(?P<checklist>[\w-]+)/(?P<item>[\w-]+): ")
_OBLIGATION_REASON = re.compile(r"^obligation (?P<id>\d+) ")


def _criterion_links(criterion: dict, *, gate: Gate, items_by_key: dict) -> list[dict]:
    """Return each reason with the link to the item or setting that fixes it."""
    use_case_url = reverse("governance:use-case", args=[gate.use_case.slug])
    rows = []
    for reason in criterion["reasons"]:
        href = None
        if criterion["code"] == "checklists_complete":
            match = _ITEM_REASON.match(reason)
            item = items_by_key.get((match["checklist"], match["item"])) if match else None
            href = f"#item-{item.pk}" if item else None
        elif criterion["code"] == "effect_goals_met":
            href = f"{use_case_url}#effect-goals"
        elif criterion["code"] == "owners_named":
            href = f"{use_case_url}#members"
        elif criterion["code"] == "no_overdue_obligations":
            href = reverse("governance:use-case-obligations", args=[gate.use_case.slug])
        elif criterion["code"] == "previous_gate_approved":
            href = f"{use_case_url}#gates"
        elif criterion["code"] == "monitoring_ready":
            href = f"{use_case_url}#monitoring"
        rows.append({"text": reason, "href": href})
    return rows


def _decisions(gate: Gate) -> list[dict]:
    decisions = (Decision.objects.filter(gate=gate).select_related("proposed_by")
                 .prefetch_related(Prefetch("signatures", queryset=Signature.objects.select_related("signer")
                                            .order_by("signed_at", "id")))
                 .order_by("-created_at", "-id"))
    rows = []
    for decision in decisions:
        decision.gate = gate
        current = decision_content_hash(decision)
        signatures = [{"signature": sig, "valid": sig.content_hash == current,
                       "role_label": label("role", sig.role)} for sig in decision.signatures.all()]
        signed_roles = {sig.role for sig in decision.signatures.all()}
        rows.append({"decision": decision, "signatures": signatures, "current_hash": current,
                     "content_changed": current != decision.content_hash,
                     "missing_roles": [label("role", role) for role in gate.required_roles
                                       if role not in signed_roles]})
    return rows


def workspace(gate: Gate, *, roles: set[str], item_forms: dict) -> dict:
    """Return everything the gate page shows, in a fixed number of queries whatever the gate's size."""
    items = (ChecklistItem.objects.select_related("completed_by")
             .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.select_related("uploaded_by")
                                        .order_by("uploaded_at", "id")))
             .order_by("position", "id"))
    checklists = list(Checklist.objects.filter(gate=gate).select_related("template")
                      .prefetch_related(Prefetch("items", queryset=items)).order_by("id"))
    editable = gate.status == GateStatus.OPEN
    items_by_key, lists = {}, []
    for checklist in checklists:
        is_rubric = checklist.kind == ChecklistKind.ML_TEST_SCORE
        sections: OrderedDict[str, list] = OrderedDict()
        all_items = list(checklist.items.all())
        for item in all_items:
            item.checklist = checklist
            items_by_key[(checklist.template.key, item.key)] = item
            evidence = list(item.evidence.all())
            live = [piece for piece in evidence if piece.removed_at is None]
            version = item_version(item, evidence)
            given = item_forms.get(item.pk, {})
            may_edit = editable and bool(roles & {item.owner_role, Role.PRODUCT_OWNER})
            sections.setdefault(item.section or "", []).append({
                "item": item, "evidence": evidence, "live_count": len(live),
                "complete": item_is_complete(item, len(live)), "may_edit": may_edit,
                "owner_label": label("role", item.owner_role),
                "form": given.get("form") or ItemForm(prefix=f"item-{item.pk}", initial={
                    "status": item.status, "reason": item.reason, "automation": item.automation,
                    "version": version}),
                "evidence_form": given.get("evidence_form") or EvidenceForm(prefix=f"evidence-{item.pk}",
                                                                            initial={"version": version}),
                "stale": given.get("stale"), "is_rubric": is_rubric,
            })
        entry = {"checklist": checklist, "is_rubric": is_rubric,
                 "sections": [{"title": title, "items": rows} for title, rows in sections.items()],
                 "required": sum(1 for item in all_items if item.required),
                 "required_complete": sum(1 for title, rows in sections.items() for row in rows
                                          if row["item"].required and row["complete"])}
        if entry["is_rubric"]:
            entry["score"] = ml_test_score(all_items)
        lists.append(entry)
    criteria = gate_criteria(gate)
    for criterion in criteria:
        criterion["links"] = _criterion_links(criterion, gate=gate, items_by_key=items_by_key)
    failing = failing_criteria(criteria)
    decisions = _decisions(gate)
    live_decision = next((row for row in decisions if row["decision"].status in (DecisionStatus.PENDING,
                                                                                DecisionStatus.FINAL)), None)
    return {"checklists": lists, "status_choices": choices("item_status"), "automation_choices": choices("automation"),
            "criteria": criteria, "failing": failing, "go_allowed": not failing,
            "scores": [entry["score"] for entry in lists if entry.get("score")], "decisions": decisions,
            "live_decision": live_decision, "version": gate_version(gate), "editable": editable,
            "may_request": gate.status == GateStatus.OPEN and Role.PRODUCT_OWNER in roles,
            "signing_roles": [label("role", role) for role in gate.required_roles],
            "status_label": label("gate_status", gate.status),
            "title": _("Gate %(number)s") % {"number": gate.number}}
