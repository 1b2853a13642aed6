"""Writing validated traffic rows: streamed COPY on PostgreSQL, bulk_create elsewhere; existing external ids skipped.

Deduplication lives in TrafficKey (unique on use case and external_id): the record table is partitioned by
month on PostgreSQL, and a partitioned table cannot have a unique index without its partition key. Every path
writes a record and its key in the caller's transaction, so a failure leaves nothing of the batch behind.
"""
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connection, transaction
from psycopg.copy import QueuedLibpqWriter
from psycopg.types.string import BytesBinaryDumper

from monitoring.ingest import partitions
from monitoring.ingest.validation import CleanRecord
from monitoring.models import TrafficKey, TrafficRecord

_TABLE = TrafficRecord._meta.db_table
_KEYS = TrafficKey._meta.db_table
_COLUMNS = ("use_case_id", "external_id", "timestamp", "hour", "received_at", "prompt", "response", "prompt_digest",
            "response_digest", "model_version_id", "score", "feedback", "segment", "metadata", "redactions",
            "sample_key")
_COLUMN_LIST = ", ".join(f'"{name}"' for name in _COLUMNS)
# Binary COPY spares formatting every value as text and the server parsing it back; it needs the exact types.
# The two jsonb columns are sent as their binary form already built (a version byte, then the JSON text) through
# the C bytea dumper: binary COPY carries no type on the wire, and psycopg's jsonb dumper is a Python call per
# value doing the same concatenation. (The bytea dumper registered last, DB-API's, is a Python one too: each
# COPY cursor takes psycopg's own, which runs in C where psycopg's C extension is installed.)
_COLUMN_TYPES = ("bigint", "varchar", "timestamptz", "timestamptz", "timestamptz", "text", "text", "varchar",
                 "varchar", "bigint", "float8", "int2", "varchar", "bytea", "bytea", "bigint")
_JSONB_VERSION = b"\x01"
_EMPTY_JSONB = _JSONB_VERSION + b"{}"
_KEY_COPY = f'COPY {_KEYS} ("use_case_id", "external_id", "timestamp") FROM STDIN (FORMAT BINARY)'
_KEY_TYPES = ("bigint", "varchar", "timestamptz")
_PROBE_IDS = 32
# SQLite allows 999 bound variables per statement in older builds; stay well below.
_FALLBACK_CHUNK = 500


@dataclass(frozen=True)
class WriteResult:
    """How many valid rows were stored and how many carried an external id the use case already had."""

    inserted: int
    duplicate: int


def _jsonb(text: str) -> bytes:
    """Return jsonb's binary input form of a JSON text."""
    return _EMPTY_JSONB if text == "{}" else _JSONB_VERSION + text.encode("utf-8")


def _row(use_case_id: int, record: CleanRecord, received_at: datetime) -> tuple:
    return (use_case_id, record.external_id, record.timestamp, record.hour, received_at, record.prompt,
            record.response, record.prompt_digest, record.response_digest, record.model_version_id, record.score,
            record.feedback, record.segment, _jsonb(record.metadata_json), _jsonb(record.redactions_json),
            record.sample_key)


def _existing_ids(cursor, use_case_id: int, external_ids: list[str]) -> set[str]:
    cursor.execute(f"SELECT external_id FROM {_KEYS} WHERE use_case_id = %s AND external_id = ANY(%s)",
                   [use_case_id, external_ids])
    return {row[0] for row in cursor.fetchall()}


def _copy_cursor(cursor):
    raw_cursor = cursor.cursor
    raw_cursor.adapters.register_dumper(bytes, BytesBinaryDumper)
    return raw_cursor


def _copy_keys(cursor, use_case_id: int, records: list[CleanRecord]) -> None:
    # Sorted: concurrent batches that share external ids take the unique-index entries in one order, so they wait
    # for each other instead of deadlocking.
    with cursor.cursor.copy(_KEY_COPY) as copy:
        copy.set_types(_KEY_TYPES)
        for record in sorted(records, key=lambda record: record.external_id):
            copy.write_row((use_case_id, record.external_id, record.timestamp))


def _stream(cursor, use_case_id: int, records: Iterator[CleanRecord], existing: set[str], received_at: datetime,
            taken: list[CleanRecord], duplicates: list[CleanRecord]) -> None:
    # Rows go to the server while the next ones are still being validated, so Python's work and PostgreSQL's
    # overlap on two cores instead of adding up. The queued writer sends from a thread: a plain writer blocks
    # validation whenever the socket is full, and the two would take turns.
    raw_cursor = _copy_cursor(cursor)
    with raw_cursor.copy(f"COPY {_TABLE} ({_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)",
                         writer=QueuedLibpqWriter(raw_cursor)) as copy:
        copy.set_types(_COLUMN_TYPES)
        for record in records:
            if record.external_id in existing:
                duplicates.append(record)
                continue
            taken.append(record)
            copy.write_row(_row(use_case_id, record, received_at))
    if taken:
        _copy_keys(cursor, use_case_id, taken)


def _write_exact(cursor, use_case_id: int, records: list[CleanRecord], received_at: datetime) -> int:
    """The path for races: claim keys with ON CONFLICT DO NOTHING, then store only the records whose key was new."""
    records = sorted(records, key=lambda record: record.external_id)
    cursor.execute(
        f'INSERT INTO {_KEYS} ("use_case_id", "external_id", "timestamp") '
        f"SELECT %s, external_id, ts FROM unnest(%s::varchar[], %s::timestamptz[]) AS batch (external_id, ts) "
        f"ORDER BY external_id ON CONFLICT (use_case_id, external_id) DO NOTHING RETURNING external_id",
        [use_case_id, [record.external_id for record in records], [record.timestamp for record in records]],
    )
    claimed = {row[0] for row in cursor.fetchall()}
    new = [record for record in records if record.external_id in claimed]
    if new:
        with _copy_cursor(cursor).copy(f"COPY {_TABLE} ({_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_COLUMN_TYPES)
            for record in new:
                copy.write_row(_row(use_case_id, record, received_at))
    return len(new)


def _write_postgresql(use_case_id: int, records: Iterable[CleanRecord], candidate_ids: list[str],
                      received_at: datetime) -> WriteResult:
    taken: list[CleanRecord] = []
    duplicates: list[CleanRecord] = []
    iterator = iter(records)
    with connection.cursor() as cursor:
        # Looking every id up costs a third of the COPY itself, and a new batch has none stored: probe the first
        # few, and look up all only when one exists (a retried batch). A batch that overlaps past the probe makes
        # the key COPY collide, and the exact path below sorts it out.
        existing = _existing_ids(cursor, use_case_id, candidate_ids[:_PROBE_IDS]) if candidate_ids else set()
        if existing:
            existing = _existing_ids(cursor, use_case_id, candidate_ids)
        missing_partition = False
        try:
            with transaction.atomic():
                _stream(cursor, use_case_id, iterator, existing, received_at, taken, duplicates)
            return WriteResult(inserted=len(taken), duplicate=len(duplicates))
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
            # Some ids exist after all (past the probe, or stored by a concurrent batch after it): the savepoint is
            # rolled back and the exact path skips precisely the ids that now exist.
            pass
        except psycopg.errors.CheckViolation:
            # The only check a validated row can fail is the partition bound: its month has no partition yet (a
            # backfill, or a month another process dropped).
            missing_partition = True
        rest = taken + duplicates + list(iterator)
        if missing_partition:
            partitions.forget_partitions()
            partitions.ensure_partitions(record.timestamp for record in rest)
        inserted = _write_exact(cursor, use_case_id, rest, received_at)
        return WriteResult(inserted=inserted, duplicate=len(rest) - inserted)


def _write_portable(use_case_id: int, records: Iterable[CleanRecord], received_at: datetime) -> WriteResult:
    records = list(records)
    ids = [record.external_id for record in records]
    existing: set[str] = set()
    for start in range(0, len(ids), _FALLBACK_CHUNK):
        chunk = ids[start:start + _FALLBACK_CHUNK]
        existing.update(TrafficKey.objects.filter(use_case_id=use_case_id, external_id__in=chunk)
                        .values_list("external_id", flat=True))
    new = [record for record in records if record.external_id not in existing]
    # A no-op on SQLite; on PostgreSQL (where this path serves tests and tools) the months must exist.
    partitions.ensure_partitions(record.timestamp for record in new)
    # The pre-query is exact where writes are serialised (SQLite's single writer); a key that slipped in anyway
    # fails the unique constraint and rolls the batch back rather than storing a record twice.
    TrafficKey.objects.bulk_create(
        [TrafficKey(use_case_id=use_case_id, external_id=r.external_id, timestamp=r.timestamp) for r in new],
        batch_size=_FALLBACK_CHUNK)
    TrafficRecord.objects.bulk_create(
        [TrafficRecord(use_case_id=use_case_id, external_id=r.external_id, timestamp=r.timestamp, hour=r.hour,
                       received_at=received_at, prompt=r.prompt, response=r.response, prompt_digest=r.prompt_digest,
                       response_digest=r.response_digest, model_version_id=r.model_version_id, score=r.score,
                       feedback=r.feedback, segment=r.segment, metadata=json.loads(r.metadata_json),
                       redactions=json.loads(r.redactions_json), sample_key=r.sample_key) for r in new],
        batch_size=_FALLBACK_CHUNK)
    return WriteResult(inserted=len(new), duplicate=len(records) - len(new))


def write_records(*, use_case_id: int, records: Iterable[CleanRecord], received_at: datetime,
                  candidate_ids: list[str] | None = None) -> WriteResult:
    """Insert the rows whose external id the use case does not have yet, reading `records` once, as they come.

    `candidate_ids` are the external ids the rows may carry (a superset is fine), looked up before the stream
    starts; without them the records are materialised first to collect the ids.
    """
    if connection.vendor != "postgresql":
        return _write_portable(use_case_id, records, received_at)
    if candidate_ids is None:
        records = list(records)
        candidate_ids = [record.external_id for record in records]
    return _write_postgresql(use_case_id, records, candidate_ids, received_at)
