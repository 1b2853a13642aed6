"""Writing and verifying the keyed, hash-chained audit log.

Every service calls `audit_record` inside its own transaction, so the event commits or rolls back with the
change it describes. The chain is serialised by a transaction-scoped lock: on PostgreSQL an advisory lock,
on SQLite the database write lock taken at BEGIN IMMEDIATE. A unique constraint on `prev_hash` is the
last line of defence: a fork cannot be stored even if the lock were bypassed.

Each event keeps the exact canonical bytes that were hashed (`canonical`), so verification never re-serialises
what the database reads back (jsonb turns the float 1e16 into an integer); `hash = sha256(canonical + prev_hash)`
and `mac = HMAC-SHA256(key, hash)` under a key the database never holds. Signed checkpoints over the Merkle tree of
the hashes live in `governance.auditlog.checkpoints`; the walk that reports every break in
`governance.auditlog.verification`.
"""
import json
from typing import Any

from django.db import connection, models
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.canonical import canonical_json
from governance.auditlog.format import (
    FORMAT_VERSION,
    GENESIS_HASH,
    canonical_event_bytes,
    event_hash,
    isoformat_utc,
    legacy_hash,
    storable,
)
from governance.auditlog.keys import HmacKeyring, hmac_keyring
from governance.auditlog.verification import ChainVerification, audit_verify_chain, legacy_fields
from governance.models import AuditEvent, UseCase

__all__ = ["GENESIS_HASH", "AuditAction", "ChainVerification", "audit_chain_head", "audit_record",
           "audit_verify_chain", "build_event", "canonical_event_bytes", "compute_hash", "event_hash", "normalise_json"]



class AuditAction:
    """Catalogue of audit action codes: named constants, so a code is written and queried under one spelling."""

    # Single sign-on (OpenID Connect).
    USER_OIDC_SIGNED_IN = "user.oidc_signed_in"
    USER_OIDC_CREATED = "user.oidc_created"
    # E-signatures.
    SIGNATURE_SIGNED = "signature.signed"
    SIGNATURE_FAILED = "signature.failed"


# Any stable 64-bit number; every writer of the chain takes the same advisory lock.
_ADVISORY_LOCK_KEY = 0x64726966_74676174 & 0x7FFFFFFFFFFFFFFF
_TABLE = AuditEvent._meta.db_table


def normalise_json(value: Any) -> Any:
    """Return the value as it will read back from a JSON column (dates and decimals become strings)."""
    if value is None:
        return None
    return json.loads(canonical_json(value))


def compute_hash(event: AuditEvent) -> str:
    """Return the hash an event should carry: over its stored bytes, or the first format's fields for old events."""
    if event.canonical:
        return event_hash(event.canonical, event.prev_hash)
    return legacy_hash(legacy_fields(event.sequence, event.created_at, event.actor_kind, event.actor_user_id,
                                     event.actor_token_id, event.actor_display, event.action, event.object_type,
                                     event.object_id, event.use_case_id, event.before, event.after, event.reason,
                                     event.request_id), event.prev_hash)


def _lock_chain_and_read_head() -> tuple[int, str]:
    """Take the chain's lock and return the (sequence, hash) of the newest event, (0, genesis) for none."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Two statements in one round trip; under READ COMMITTED the second takes its snapshot after the lock
            # is held, so it sees the event the previous holder committed.
            cursor.execute(f"SELECT pg_advisory_xact_lock(%s); SELECT sequence, hash FROM {_TABLE} "
                           "ORDER BY sequence DESC LIMIT 1", [_ADVISORY_LOCK_KEY])
            cursor.nextset()
            head = cursor.fetchone()
    else:
        # SQLite took its write lock at BEGIN IMMEDIATE.
        head = AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()
    return head if head else (0, GENESIS_HASH)


def audit_record(*, actor: Actor, action: str, obj: models.Model | None = None, object_type: str = "",
                 object_id: str | int = "", use_case: UseCase | None = None, before: Any = None, after: Any = None,
                 reason: str = "") -> AuditEvent:
    """Append one keyed event to the chain; must run inside the transaction of the change it records."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    keyring = hmac_keyring()
    # Serialise before taking the lock: a value that is not JSON fails here without holding up other writers.
    values = json.loads(canonical_event_bytes({"before": before, "after": after}))
    head_sequence, head_hash = _lock_chain_and_read_head()
    event = build_event(
        sequence=head_sequence + 1, prev_hash=head_hash,
        created_at=timezone.now(), actor=actor, action=action, object_type=object_type, object_id=str(object_id),
        use_case=use_case, before=values["before"], after=values["after"], reason=reason, keyring=keyring)
    event.save(force_insert=True)
    return event


def build_event(*, sequence: int, prev_hash: str, created_at, actor: Actor, action: str, object_type: str,
                object_id: str, use_case: UseCase | None, before: Any, after: Any, reason: str,
                keyring: HmacKeyring) -> AuditEvent:
    """Return the unsaved event: its canonical bytes, hash and MAC, and the columns that copy the bytes."""
    actor_user = actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None
    actor_token = actor.token if actor.kind == ActorKind.TOKEN else None
    payload = {
        "v": FORMAT_VERSION,
        "sequence": sequence,
        "created_at": isoformat_utc(created_at),
        "actor_kind": actor.kind,
        "actor_user": actor_user.pk if actor_user else None,
        "actor_token": actor_token.pk if actor_token else None,
        "actor_display": actor.display[:300],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "use_case": use_case.pk if use_case else None,
        "before": before,
        "after": after,
        "reason": reason,
        "request_id": actor.request_id[:64],
        "key_id": keyring.current_id,
    }
    canonical = canonical_event_bytes(payload)
    digest = event_hash(canonical, prev_hash)
    # The columns hold what the database can store (PostgreSQL refuses NUL in text and jsonb); verification
    # compares them with the same mapping of the canonical bytes.
    return AuditEvent(
        sequence=sequence, created_at=created_at, actor_kind=actor.kind, actor_user=actor_user,
        actor_token=actor_token, actor_display=storable(payload["actor_display"]), action=storable(action),
        object_type=storable(object_type), object_id=storable(object_id), use_case=use_case,
        before=storable(before), after=storable(after), reason=storable(reason),
        request_id=storable(payload["request_id"]), prev_hash=prev_hash, hash=digest, canonical=canonical,
        mac=keyring.mac(keyring.current_id, digest), key_id=keyring.current_id,
    )


def audit_chain_head() -> str:
    """Return the hash of the newest event (the genesis hash for an empty log)."""
    head = AuditEvent.objects.order_by("-sequence").only("hash").first()
    return head.hash if head else GENESIS_HASH
