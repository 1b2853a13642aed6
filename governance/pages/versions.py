"""Versions of what a form was rendered against, so a stale or repeated submit is refused instead of applied."""
import hashlib

from driftgate.canonical import canonical_json
from governance.content import gate_content_hash
from governance.models import ChecklistItem, Evidence, Gate


def item_version(item: ChecklistItem, evidence: list[Evidence] | None = None) -> str:
    """Return a short digest of an item's state and its evidence (removed pieces included)."""
    pieces = evidence if evidence is not None else list(item.evidence.all())
    state = {"status": item.status, "reason": item.reason, "automation": item.automation,
             "evidence": sorted([piece.pk, piece.removed_at is not None] for piece in pieces)}
    return hashlib.sha256(canonical_json(state).encode("utf-8")).hexdigest()[:16]


def gate_version(gate: Gate) -> str:
    """Return the gate's content hash as the signatures bind it (without a decision)."""
    return gate_content_hash(gate, decision=None)
