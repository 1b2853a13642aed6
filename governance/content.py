"""The canonical content of a gate and its SHA-256: what a signature is bound to.

The content covers the use case (slug, id), the gate (number, id), every checklist item (checklist key, item key,
status, reason, automation) with its non-removed evidence (name, SHA-256, URL), the effect goals with their latest
measurement (gates 1 and 3, where the effect is what is decided), and the decision being signed (outcome, rationale,
conditions). Any later change to one of these (new evidence, a removed file, a new measurement, a reopened item)
changes the hash, so a signature made before it visibly no longer matches. URL evidence is hashed as the UTF-8 bytes
of the URL string: the page behind it can change without the hash noticing, which is why files are preferred.
"""
import hashlib

from django.db.models import Prefetch

from governance.audit import canonical_json, normalise_json
from governance.models import ChecklistItem, Decision, EffectGoal, Evidence, Gate

EFFECT_GATES = (1, 3)


def _items(gate: Gate) -> list[dict]:
    live_evidence = Prefetch("evidence", queryset=Evidence.objects.filter(removed_at__isnull=True).order_by("id"),
                             to_attr="live_evidence")
    items = (ChecklistItem.objects.filter(checklist__gate=gate).select_related("checklist__template")
             .prefetch_related(live_evidence))
    rows = [{
        "checklist": item.checklist.template.key,
        "item": item.key,
        "status": item.status,
        "reason": item.reason,
        "automation": item.automation,
        "evidence": [{"name": ev.name, "sha256": ev.sha256, "url": ev.url} for ev in item.live_evidence],
    } for item in items]
    return sorted(rows, key=lambda row: (row["checklist"], row["item"]))


def _effect_goals(gate: Gate) -> list[dict]:
    rows = []
    for goal in EffectGoal.objects.filter(use_case_id=gate.use_case_id).prefetch_related("measurements"):
        latest = max(goal.measurements.all(), key=lambda m: (m.measured_at, m.pk), default=None)
        rows.append({
            "metric": goal.metric, "unit": goal.unit, "target": goal.target, "direction": goal.direction,
            "latest": None if latest is None else {"value": latest.value, "measured_at": latest.measured_at,
                                                   "source": latest.source},
        })
    return sorted(rows, key=lambda row: row["metric"])


def decision_content(*, outcome: str, rationale: str, conditions: list) -> dict:
    """Return the part of the content that describes the decision being signed."""
    return {"outcome": outcome, "rationale": rationale, "conditions": normalise_json(conditions or [])}


def gate_content(gate: Gate, *, decision: dict | None) -> dict:
    """Return the gate's canonical content as a JSON-able dict."""
    content = {
        "use_case": {"id": gate.use_case_id, "slug": gate.use_case.slug},
        "gate": {"id": gate.pk, "number": gate.number},
        "items": _items(gate),
        "decision": decision,
    }
    if gate.number in EFFECT_GATES:
        content["effect_goals"] = _effect_goals(gate)
    return normalise_json(content)


def gate_content_hash(gate: Gate, *, decision: dict | None) -> str:
    """Return the SHA-256 of the canonical JSON of the gate's content with the given decision."""
    return hashlib.sha256(canonical_json(gate_content(gate, decision=decision)).encode("utf-8")).hexdigest()


def decision_content_hash(decision: Decision) -> str:
    """Return the current content hash of a decision's gate, as a signature on the decision would bind it."""
    return gate_content_hash(decision.gate, decision=decision_content(
        outcome=decision.outcome, rationale=decision.rationale, conditions=decision.conditions))
