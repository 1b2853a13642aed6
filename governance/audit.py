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

import psycopg
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


def _read_head_locked() -> tuple[int, str]:
    """Return the (sequence, hash) of the newest event, (0, genesis) for none; SQLite took its write lock at BEGIN."""
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
    if connection.vendor != "postgresql":
        head_sequence, head_hash = _read_head_locked()
        event = build_event(
            sequence=head_sequence + 1, prev_hash=head_hash, created_at=timezone.now(), actor=actor, action=action,
            object_type=object_type, object_id=str(object_id), use_case=use_case, before=values["before"],
            after=values["after"], reason=reason, keyring=keyring)
        event.save(force_insert=True)
        return event
    draft = _Draft(actor=actor, action=action, object_type=object_type, object_id=str(object_id), use_case=use_case,
                   before=values["before"], after=values["after"], reason=reason, key_id=keyring.current_id)
    return _insert(draft, keyring)


class _Draft:
    """An event up to its place in the chain: everything but sequence, time and link, serialised once.

    The canonical bytes are a JSON object with sorted keys, so they are the text of the keys before
    `created_at`, the time, the keys from `key_id` to `request_id`, the sequence, then `use_case` and `v`:
    only the time and the sequence are spliced in once the chain's lock is held.
    """

    __slots__ = ("actor", "actor_token", "actor_user", "after", "after_json", "before", "before_json", "action",
                 "display", "head", "key_id", "middle", "object_id", "object_type", "reason", "request_id", "tail",
                 "use_case")

    def __init__(self, *, actor: Actor, action: str, object_type: str, object_id: str, use_case: UseCase | None,
                 before: Any, after: Any, reason: str, key_id: str) -> None:
        self.actor = actor
        self.actor_user = actor.user if actor.kind in (ActorKind.USER, ActorKind.TOKEN) else None
        self.actor_token = actor.token if actor.kind == ActorKind.TOKEN else None
        self.display = actor.display[:300]
        self.request_id = actor.request_id[:64]
        self.action, self.object_type, self.object_id, self.reason = action, object_type, object_id, reason
        self.use_case, self.before, self.after, self.key_id = use_case, before, after, key_id
        head = canonical_event_bytes({
            "action": action, "actor_display": self.display, "actor_kind": actor.kind,
            "actor_token": self.actor_token.pk if self.actor_token else None,
            "actor_user": self.actor_user.pk if self.actor_user else None, "after": after, "before": before})
        middle = canonical_event_bytes({"key_id": key_id, "object_id": object_id, "object_type": object_type,
                                        "reason": reason, "request_id": self.request_id})
        tail = canonical_event_bytes({"use_case": use_case.pk if use_case else None, "v": FORMAT_VERSION})
        self.head = head[:-1] + ',"created_at":'
        self.middle = "," + middle[1:-1] + ',"sequence":'
        self.tail = "," + tail[1:]
        # The jsonb columns take the hashed text itself unless it holds a NUL, which PostgreSQL cannot store.
        self.before_json = self._column_json(before)
        self.after_json = self._column_json(after)

    @staticmethod
    def _column_json(value: Any) -> str | None:
        if value is None:
            return None
        text = canonical_event_bytes(value)
        return json.dumps(storable(value)) if "\\u0000" in text else text

    def canonical(self, *, sequence: int, created_at: str) -> str:
        """Return the bytes `canonical_event_bytes` gives for the whole payload at this place in the chain."""
        return f'{self.head}"{created_at}"{self.middle}{sequence}{self.tail}'


_LOCK = "SELECT pg_advisory_xact_lock(%s)"
# Sent after _LOCK in the same round trip, so its snapshot is taken once the lock is held: insert the event linked to
# the head the writer expects, only if that is the head; either way return the head as it was.
_INSERT_IF_HEAD = (
    f"WITH head AS (SELECT sequence, hash FROM {_TABLE} ORDER BY sequence DESC LIMIT 1), "
    "expected AS (SELECT coalesce((SELECT sequence FROM head), 0) AS sequence, "
    "coalesce((SELECT hash FROM head), %s::varchar) AS hash), "
    f"inserted AS (INSERT INTO {_TABLE} (sequence, created_at, actor_kind, actor_user_id, actor_token_id, "
    "actor_display, action, object_type, object_id, use_case_id, before, after, reason, request_id, prev_hash, hash, "
    "canonical, mac, key_id) SELECT %s::bigint, %s::timestamptz, %s, %s::integer, %s::bigint, %s, %s, %s, %s, "
    "%s::bigint, %s::jsonb, %s::jsonb, %s, %s, %s, %s, %s, %s, %s FROM expected "
    "WHERE expected.sequence = %s::bigint AND expected.hash = %s::varchar RETURNING id) "
    "SELECT (SELECT id FROM inserted), sequence, hash FROM expected")
# The head each database's chain had when this process last wrote or read it: under a single writer it is the head
# the next event links to, so the event is built before the lock and inserted in the lock's round trip.
_expected_heads: dict[str, tuple[int, str]] = {}


class _PreparedCursor(psycopg.Cursor):
    """Binds parameters on the server and prepares each statement once per connection.

    Planning the insert costs the server more than running it, and it happens with the chain's lock held."""

    def execute(self, query, params=None, *, prepare: bool | None = True, binary: bool | None = None):
        return super().execute(query, params, prepare=prepare, binary=binary)


# psycopg prepares a statement asked to with prepare=True, and others once they ran this often: never.
_PREPARE_ONLY_WHEN_ASKED = 2**31


def allow_prepared_statements(sender, connection, **kwargs) -> None:
    """On each new PostgreSQL connection (`connection_created`), let the audit statements be prepared.

    Django connects with psycopg's preparing switched off (`prepare_threshold` None, for PgBouncer's transaction
    pooling before 1.21), which turns prepare=True into a no-op. An explicit `prepare_threshold` in the database's
    OPTIONS, None included, is left as it is."""
    if connection.vendor != "postgresql" or "prepare_threshold" in connection.settings_dict["OPTIONS"]:
        return
    if connection.connection.prepare_threshold is None:
        connection.connection.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED


def _begin_in_pipeline(conn: psycopg.Connection, pipeline: psycopg.Pipeline) -> None:
    """Send BEGIN as the pipeline's first statement when the transaction has not started yet.

    psycopg would send it itself before the first statement, followed by a sync it waits for: a round trip of its
    own. Sent here, it travels with the lock and the insert; its result is the pipeline's first (the result queue is
    psycopg's own, which is why psycopg is pinned below 3.4)."""
    if conn.autocommit or conn.pgconn.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        return
    conn.pgconn.send_query_params(b"BEGIN", None)
    pipeline.result_queue.append(None)


def _insert(draft: _Draft, keyring: HmacKeyring) -> AuditEvent:
    """Take the chain's lock and insert the draft linked to the head, once more with the real head if it moved."""
    key = f"{connection.alias}:{connection.settings_dict['NAME']}"
    head_sequence, head_hash = _expected_heads.get(key, (0, GENESIS_HASH))
    display, action, object_type, object_id, reason, request_id = (
        storable(draft.display), storable(draft.action), storable(draft.object_type), storable(draft.object_id),
        storable(draft.reason), storable(draft.request_id))
    actor_user_id = draft.actor_user.pk if draft.actor_user else None
    actor_token_id = draft.actor_token.pk if draft.actor_token else None
    use_case_id = draft.use_case.pk if draft.use_case else None
    connection.ensure_connection()
    raw: Any = _PreparedCursor(connection.connection)
    # Django's wrapper keeps the statements in connection.queries and under its execute wrappers.
    with (connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)) as cursor:
        # The first try may have guessed an old head; the second knows it under the lock, so only a writer that
        # bypasses the lock could make it fail.
        for attempt in range(2):
            sequence, prev_hash = head_sequence + 1, head_hash
            created_at = timezone.now()
            canonical = draft.canonical(sequence=sequence, created_at=isoformat_utc(created_at))
            digest = event_hash(canonical, prev_hash)
            mac = keyring.mac(draft.key_id, digest)
            params = [GENESIS_HASH, sequence, created_at, draft.actor.kind, actor_user_id, actor_token_id, display,
                      action, object_type, object_id, use_case_id, draft.before_json, draft.after_json, reason,
                      request_id, prev_hash, digest, canonical, mac, draft.key_id, sequence - 1, prev_hash]
            with connection.wrap_database_errors:
                if attempt == 0:
                    # A pipeline: BEGIN (when the transaction has not started yet), the lock and the insert in one
                    # round trip.
                    with connection.connection.pipeline() as pipeline:
                        _begin_in_pipeline(connection.connection, pipeline)
                        cursor.execute(_LOCK, [_ADVISORY_LOCK_KEY])
                        cursor.execute(_INSERT_IF_HEAD, params)
                else:
                    # The lock is held now, and one statement needs no pipeline.
                    cursor.execute(_INSERT_IF_HEAD, params)
            pk, head_sequence, head_hash = cursor.fetchone()
            if pk is not None:
                break
        else:
            raise RuntimeError("the audit chain's head moved while its lock was held: a writer bypasses the lock")
    _expected_heads[key] = (sequence, digest)
    event = AuditEvent(
        id=pk, sequence=sequence, created_at=created_at, actor_kind=draft.actor.kind, actor_user=draft.actor_user,
        actor_token=draft.actor_token, actor_display=display, action=action, object_type=object_type,
        object_id=object_id, use_case=draft.use_case, before=storable(draft.before), after=storable(draft.after),
        reason=reason, request_id=request_id, prev_hash=prev_hash, hash=digest, canonical=canonical, mac=mac,
        key_id=draft.key_id)
    event._state.adding = False
    event._state.db = connection.alias
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
