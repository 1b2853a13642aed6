"""Data of the gate audit trail: inventory, gates with checklists and evidence, signed decisions, obligations,
and every audit event of the use case with the result of verifying the whole chain."""
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.utils import timezone

from governance.audit import audit_verify_chain
from governance.models import (
    AuditEvent,
    Checklist,
    ChecklistItem,
    ChecklistKind,
    Decision,
    EffectGoal,
    Evidence,
    Gate,
    GateNumber,
    ModelVersion,
    Obligation,
    Signature,
    UseCase,
)
from governance.selectors.gates import ml_test_score
from reports.selectors.common import Period, choice_label, inventory_data, obligation_row, person, rule_texts
from reports.selectors.probes import model_probes_data

# Answers "does this signature still hold?" for the gate as it stands now: (valid, explanation).
SignatureCheck = Callable[[Signature], tuple[bool | None, str]]


def audit_trail_data(*, use_case: UseCase, period: Period | None, generated_at: datetime,
                     signature_check: SignatureCheck) -> dict:
    """Return the audit-trail report's data; events are limited to `period` when one is given."""
    # Verify first and list only events the verification covered, so the list and the printed head agree even
    # while other processes keep appending to the chain.
    verification = audit_verify_chain()
    today = timezone.localdate(generated_at)
    data = {
        "report": "audit_trail",
        "generated_at": generated_at,
        "period": period.as_dict() if period else None,
        "use_case": inventory_data(use_case),
        "model_versions": _model_versions(use_case),
        "effect_goals": _effect_goals(use_case),
        "gates": _gates(use_case, signature_check=signature_check),
        "model_probes": model_probes_data(use_case),
        "obligations": [obligation_row(obligation, today=today) for obligation in Obligation.objects.filter(
            use_case=use_case).select_related("owner").order_by("due_date", "id")],
        "audit_events": _events(use_case, period=period, last_sequence=verification.count if verification.ok else None),
        "chain_verification": verification.as_dict(),
        "chain_head": verification.head_hash,
        "rules": rule_texts(["part_11", "eu_ai_act_art_12"], use_case=use_case),
    }
    data["finding"] = audit_trail_finding(data)
    return data


def audit_trail_finding(data: dict) -> str:
    """Return the one-paragraph finding on page 1: what each gate decided, by whom, and whether the record holds."""
    sentences = []
    for gate in data["gates"]:
        final = [decision for decision in gate["decisions"] if decision["status"] == "final"]
        if final:
            decision = final[-1]
            signers = [f"{signature['printed_name']} ({signature['role'].replace('_', ' ')})"
                       for signature in decision["signatures"]]
            broken = sum(1 for signature in decision["signatures"] if signature["valid"] is False)
            when = decision["finalized_at"] or decision["created_at"]
            sentence = (f"{gate['title']}: {decision['outcome'].replace('_', ' ')} on {when:%Y-%m-%d}, signed by "
                        f"{', '.join(signers) or 'nobody'}")
            sentence += f"; {broken} signature{'s' if broken != 1 else ''} BROKEN." if broken else                 "; every signature still matches the gate's content."
        else:
            items = [item for checklist in gate["checklists"] for item in checklist["items"] if item["required"]]
            done = sum(1 for item in items if item["status"] in ("done", "waived", "not_applicable"))
            sentence = f"{gate['title']}: {gate['status'].replace('_', ' ')}, {done} of {len(items)} required items closed."
        scores = [checklist["ml_test_score"] for checklist in gate["checklists"] if "ml_test_score" in checklist]
        if scores:
            sentence = sentence[:-1] + f"; ML Test Score {scores[0]['score']:g} ({scores[0]['meaning']})."
        sentences.append(sentence)
    if not data["gates"]:
        sentences.append("No gate has been opened.")
    overdue = sum(1 for obligation in data["obligations"] if obligation["overdue"])
    open_count = sum(1 for obligation in data["obligations"] if obligation["status"] == "open")
    sentences.append(f"{open_count} open obligation{'s' if open_count != 1 else ''}, {overdue} overdue.")
    verification = data["chain_verification"]
    sentences.append(f"The audit chain is intact over {verification['count']:,} events." if verification["ok"] else
                     f"The audit chain is BROKEN at event #{verification.get('first_bad_sequence')}.")
    return " ".join(sentences)


def _model_versions(use_case: UseCase) -> list[dict]:
    return [
        {"label": version.label, "base_model": version.base_model, "adapter_method": version.adapter_method,
         "training_data_ref": version.training_data_ref, "training_data_sha256": version.training_data_sha256,
         "evaluation": version.evaluation, "status": version.status, "activated_at": version.activated_at,
         "created_at": version.created_at}
        for version in ModelVersion.objects.filter(use_case=use_case).order_by("created_at", "id")
    ]


def _effect_goals(use_case: UseCase) -> list[dict]:
    goals = EffectGoal.objects.filter(use_case=use_case).prefetch_related("measurements").order_by("id")
    rows = []
    for goal in goals:
        newest = goal.measurements.all()[:1]  # measurements are ordered newest first
        latest = newest[0] if newest else None
        rows.append({
            "metric": goal.metric, "unit": goal.unit, "target": goal.target, "direction": goal.direction,
            "latest_value": latest.value if latest else None,
            "measured_at": latest.measured_at if latest else None,
            "met": goal.is_met_by(latest.value) if latest else None,
        })
    return rows


def _gates(use_case: UseCase, *, signature_check: SignatureCheck) -> list[dict]:
    items = ChecklistItem.objects.select_related("completed_by").prefetch_related(
        Prefetch("evidence", queryset=Evidence.objects.select_related("uploaded_by").order_by("uploaded_at", "id")))
    checklists = Checklist.objects.order_by("id").prefetch_related(
        Prefetch("items", queryset=items.order_by("position", "id")))
    decisions = Decision.objects.select_related("proposed_by").order_by("created_at", "id").prefetch_related(
        Prefetch("signatures", queryset=Signature.objects.select_related("signer").order_by("signed_at", "id")))
    gates = (Gate.objects.filter(use_case=use_case).select_related("use_case", "opened_by", "requested_by")
             .prefetch_related(Prefetch("checklists", queryset=checklists), Prefetch("decisions", queryset=decisions))
             .order_by("number", "opened_at", "id"))
    return [_gate(gate, signature_check=signature_check) for gate in gates]


def _gate(gate: Gate, *, signature_check: SignatureCheck) -> dict:
    return {
        "id": gate.pk,
        "number": gate.number,
        "title": choice_label(GateNumber, gate.number),
        "status": gate.status,
        "required_roles": gate.required_roles,
        "opened_by": person(gate.opened_by),
        "opened_at": gate.opened_at,
        "requested_by": person(gate.requested_by) if gate.requested_by_id else None,
        "requested_at": gate.requested_at,
        "decided_at": gate.decided_at,
        "expires_at": gate.expires_at,
        "checklists": [_checklist(checklist) for checklist in gate.checklists.all()],
        "decisions": [_decision(decision, signature_check=signature_check) for decision in gate.decisions.all()],
    }


def _checklist(checklist: Checklist) -> dict:
    items = list(checklist.items.all())
    data = {"title": checklist.title, "kind": checklist.kind, "template_version": checklist.template_version,
            "items": [_item(item) for item in items]}
    if checklist.kind == ChecklistKind.ML_TEST_SCORE:
        # The gate's signed content includes these answers, so this is the score the decision was taken with
        # unless a signature shows as broken.
        data["ml_test_score"] = ml_test_score(items)
    return data


def _conditions(conditions) -> list[dict]:
    """Return a decision's conditions with the owner's name instead of an id, in the order they were set."""
    if not isinstance(conditions, list):
        return []
    owner_ids = {condition.get("owner_id") for condition in conditions if isinstance(condition, dict)}
    owners: dict[object, Any] = {user.pk: user for user in get_user_model().objects.filter(pk__in=[i for i in owner_ids if i])}
    rows = []
    for condition in conditions:
        if not isinstance(condition, dict):
            rows.append({"title": str(condition), "description": "", "owner": "—", "due_date": None})
            continue
        owner = owners.get(condition.get("owner_id"))
        rows.append({"title": str(condition.get("title") or "—"), "description": str(condition.get("description") or ""),
                     "owner": person(owner) if owner else "—", "due_date": condition.get("due_date")})
    return rows


def _item(item: ChecklistItem) -> dict:
    return {
        "key": item.key, "section": item.section, "text": item.text, "owner_role": item.owner_role,
        "required": item.required, "status": item.status, "reason": item.reason, "automation": item.automation,
        "completed_by": person(item.completed_by) if item.completed_by_id else None,
        "completed_at": item.completed_at,
        "evidence": [
            {"name": evidence.name, "sha256": evidence.sha256, "size": evidence.size,
             "kind": "url" if evidence.url else "file",
             "source": evidence.url or evidence.file.name, "uploaded_by": person(evidence.uploaded_by),
             "uploaded_at": evidence.uploaded_at, "removed_at": evidence.removed_at}
            for evidence in item.evidence.all()
        ],
    }


def _decision(decision: Decision, *, signature_check: SignatureCheck) -> dict:
    signatures = []
    for signature in decision.signatures.all():
        valid, explanation = signature_check(signature)
        signatures.append({
            "printed_name": signature.printed_name, "role": signature.role, "meaning": signature.meaning,
            "signed_at": signature.signed_at, "content_hash": signature.content_hash,
            "valid": valid, "validity": explanation,
        })
    return {
        "id": decision.pk,
        "outcome": decision.outcome,
        "status": decision.status,
        "rationale": decision.rationale,
        "conditions": decision.conditions,
        "conditions_readable": _conditions(decision.conditions),
        "criteria": decision.criteria,
        "content_hash": decision.content_hash,
        "proposed_by": person(decision.proposed_by),
        "created_at": decision.created_at,
        "finalized_at": decision.finalized_at,
        "signatures": signatures,
    }


def _events(use_case: UseCase, *, period: Period | None, last_sequence: int | None) -> list[dict]:
    queryset = AuditEvent.objects.filter(use_case=use_case).order_by("sequence")
    if last_sequence is not None:
        queryset = queryset.filter(sequence__lte=last_sequence)
    if period is not None:
        queryset = queryset.filter(created_at__gte=period.start, created_at__lt=period.end)
    fields = ("sequence", "created_at", "actor_kind", "actor_display", "action", "object_type", "object_id",
              "before", "after", "reason", "request_id", "prev_hash", "hash")
    # Plain rows, not model instances: a use case with a long history has tens of thousands of events.
    return list(queryset.values(*fields).iterator(chunk_size=2000))
