"""Writing validated traffic rows: COPY on PostgreSQL, bulk_create elsewhere; existing external ids are skipped.

Both paths must run inside the caller's transaction so a failure leaves nothing of the batch behind.
"""
import json
from datetime import datetime

import psycopg
from django.db import connection, transaction
from psycopg.types.json import Jsonb

from monitoring.ingest.validation import CleanRecord
from monitoring.models import TrafficRecord

_TABLE = TrafficRecord._meta.db_table
_COLUMNS = ("use_case_id", "external_id", "timestamp", "hour", "received_at", "prompt", "response", "prompt_digest",
            "response_digest", "model_version_id", "score", "feedback", "segment", "metadata", "sample_key")
_COLUMN_LIST = ", ".join(f'"{name}"' for name in _COLUMNS)
# Binary COPY spares formatting every value as text and the server parsing it back; it needs the exact types.
_COLUMN_TYPES = ("bigint", "varchar", "timestamptz", "timestamptz", "timestamptz", "text", "text", "varchar",
                 "varchar", "bigint", "float8", "int2", "varchar", "jsonb", "bigint")
_STAGING = "traffic_incoming"
# SQLite allows 999 bound variables per statement in older builds; stay well below.
_FALLBACK_CHUNK = 500


def _row(use_case_id: int, record: CleanRecord, received_at: datetime) -> tuple:
    return (use_case_id, record.external_id, record.timestamp, record.hour, received_at, record.prompt,
            record.response, record.prompt_digest, record.response_digest, record.model_version_id, record.score,
            record.feedback, record.segment, Jsonb(record.metadata_json, dumps=_already_serialised), record.sample_key)


def _already_serialised(text: str) -> str:
    return text


def _copy(cursor, table: str, use_case_id: int, records: list[CleanRecord], received_at: datetime) -> None:
    with cursor.cursor.copy(f"COPY {table} ({_COLUMN_LIST}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_COLUMN_TYPES)
        for record in records:
            copy.write_row(_row(use_case_id, record, received_at))


def _existing_ids(cursor, use_case_id: int, external_ids: list[str]) -> set[str]:
    cursor.execute(f"SELECT external_id FROM {_TABLE} WHERE use_case_id = %s AND external_id = ANY(%s)",
                   [use_case_id, external_ids])
    return {row[0] for row in cursor.fetchall()}


def _write_through_staging(cursor, use_case_id: int, records: list[CleanRecord], received_at: datetime) -> int:
    # The staging table copies the target's column types, so COPY's text input is parsed exactly as the
    # target would parse it. ON COMMIT DROP cleans up after a failure; the explicit DROP below lets a
    # second batch in the same outer transaction (a savepoint) create it again.
    cursor.execute(f"CREATE TEMP TABLE {_STAGING} ON COMMIT DROP AS SELECT {_COLUMN_LIST} FROM {_TABLE} WITH NO DATA")
    _copy(cursor, _STAGING, use_case_id, records, received_at)
    # ORDER BY: concurrent batches that share external ids take the unique-index entries in the same order,
    # so they wait for each other instead of deadlocking. DO NOTHING skips ids another batch stored meanwhile.
    cursor.execute(
        f"INSERT INTO {_TABLE} ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM {_STAGING} ORDER BY external_id "
        f"ON CONFLICT (use_case_id, external_id) DO NOTHING"
    )
    inserted = cursor.rowcount
    cursor.execute(f"DROP TABLE {_STAGING}")
    return inserted


def _write_postgresql(use_case_id: int, records: list[CleanRecord], received_at: datetime) -> int:
    with connection.cursor() as cursor:
        existing = _existing_ids(cursor, use_case_id, [record.external_id for record in records])
        # Sorted for the same reason as the staging INSERT: concurrent writers meet ids in one order.
        new = sorted((record for record in records if record.external_id not in existing),
                     key=lambda record: record.external_id)
        if not new:
            return 0
        try:
            # The fast path: COPY straight into the table, about half the work of staging and INSERT … SELECT.
            with transaction.atomic():
                _copy(cursor, _TABLE, use_case_id, new, received_at)
            return len(new)
        except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
            # A concurrent batch stored some of these ids after the look-up; the savepoint is rolled back and
            # the staging path skips exactly the ids that now exist.
            return _write_through_staging(cursor, use_case_id, new, received_at)


def _write_portable(use_case_id: int, records: list[CleanRecord], received_at: datetime) -> int:
    ids = [record.external_id for record in records]
    existing: set[str] = set()
    for start in range(0, len(ids), _FALLBACK_CHUNK):
        chunk = ids[start:start + _FALLBACK_CHUNK]
        existing.update(TrafficRecord.objects.filter(use_case_id=use_case_id, external_id__in=chunk)
                        .values_list("external_id", flat=True))
    new = [
        TrafficRecord(use_case_id=use_case_id, external_id=r.external_id, timestamp=r.timestamp, hour=r.hour,
                      received_at=received_at, prompt=r.prompt, response=r.response, prompt_digest=r.prompt_digest,
                      response_digest=r.response_digest, model_version_id=r.model_version_id, score=r.score,
                      feedback=r.feedback, segment=r.segment, metadata=json.loads(r.metadata_json),
                      sample_key=r.sample_key)
        for r in records if r.external_id not in existing
    ]
    # ignore_conflicts covers a writer that slipped in after the pre-query; the count is exact where writes are
    # serialised (SQLite's single writer).
    TrafficRecord.objects.bulk_create(new, ignore_conflicts=True, batch_size=_FALLBACK_CHUNK)
    return len(new)


def write_records(*, use_case_id: int, records: list[CleanRecord], received_at: datetime) -> int:
    """Insert the rows whose external id the use case does not have yet; return how many were inserted."""
    if not records:
        return 0
    if connection.vendor == "postgresql":
        return _write_postgresql(use_case_id, records, received_at)
    return _write_portable(use_case_id, records, received_at)
