"""Writing and verifying the hash-chained audit log.

Every service calls `audit_record` inside its own transaction, so the event commits or rolls back with the
change it describes. The chain is serialised by a transaction-scoped lock: on PostgreSQL an advisory lock,
on SQLite the database write lock taken at BEGIN IMMEDIATE. A unique constraint on `prev_hash` is the
last line of defence: a fork cannot be stored even if the lock were bypassed.
"""
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.canonical import canonical_json
from governance.models import AuditEvent, UseCase

GENESIS_HASH = "0" * 64
# Any stable 64-bit number; every writer of the chain takes the same advisory lock.
_ADVISORY_LOCK_KEY = 0x64726966_74676174 & 0x7FFFFFFFFFFFFFFF


def normalise_json(value: Any) -> Any:
    """Return the value as it will read back from a JSON column (dates and decimals become strings)."""
    if value is None:
        return None
    return json.loads(canonical_json(value))


def event_payload(event: AuditEvent) -> dict:
    """Return the fields an event's hash covers."""
    return {
        "sequence": event.sequence,
        "created_at": event.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor_kind": event.actor_kind,
        "actor_user": event.actor_user_id,
        "actor_token": event.actor_token_id,
        "actor_display": event.actor_display,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "use_case": event.use_case_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "request_id": event.request_id,
    }


def compute_hash(event: AuditEvent) -> str:
    """Return sha256(canonical JSON of the event + prev_hash)."""
    material = canonical_json(event_payload(event)) + event.prev_hash
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK_KEY])


def audit_record(*, actor: Actor, action: str, obj: models.Model | None = None, object_type: str = "",
                 object_id: str | int = "", use_case: UseCase | None = None, before: Any = None, after: Any = None,
                 reason: str = "") -> AuditEvent:
    """Append one event to the chain; must run inside the transaction of the change it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    _lock_chain()
    head = AuditEvent.objects.order_by("-sequence").only("sequence", "hash").first()
    event = AuditEvent(
        sequence=(head.sequence + 1) if head else 1,
        created_at=timezone.now(),
        actor_kind=actor.kind,
        actor_user=actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None,
        actor_token=actor.token if actor.kind == ActorKind.TOKEN else None,
        actor_display=actor.display[:300],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        use_case=use_case,
        before=normalise_json(before),
        after=normalise_json(after),
        reason=reason,
        request_id=actor.request_id[:64],
        prev_hash=head.hash if head else GENESIS_HASH,
    )
    event.hash = compute_hash(event)
    event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking the chain."""

    ok: bool
    count: int
    head_hash: str
    first_bad_sequence: int | None = None
    problem: str = ""

    def as_dict(self) -> dict:
        """Return a JSON-able view for the API and reports."""
        return {"ok": self.ok, "count": self.count, "head_hash": self.head_hash,
                "first_bad_sequence": self.first_bad_sequence, "problem": self.problem}


def audit_verify_chain(*, batch_size: int = 2000) -> ChainVerification:
    """Walk the whole chain in order and report the first event whose link or hash does not hold."""
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    count = 0
    with transaction.atomic():
        # One server-side cursor is one query and so one snapshot: events appended during the walk are not in it.
        for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=batch_size):
            problem = ""
            if event.sequence != expected_sequence:
                problem = f"sequence gap: expected {expected_sequence}, found {event.sequence}"
            elif event.prev_hash != expected_prev:
                problem = "prev_hash does not match the previous event's hash"
            elif compute_hash(event) != event.hash:
                problem = "hash does not match the event's content"
            if problem:
                return ChainVerification(ok=False, count=count, head_hash=expected_prev,
                                         first_bad_sequence=event.sequence, problem=problem)
            expected_prev = event.hash
            expected_sequence += 1
            count += 1
    return ChainVerification(ok=True, count=count, head_hash=expected_prev)


def audit_chain_head() -> str:
    """Return the hash of the newest event (the genesis hash for an empty log)."""
    head = AuditEvent.objects.order_by("-sequence").only("hash").first()
    return head.hash if head else GENESIS_HASH
