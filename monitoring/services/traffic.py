"""Ingesting LLM traffic: validated, deduplicated on (use case, external_id), written in one transaction.

Traffic is data, not a governance decision: batches are not written to the audit log (every audit event
takes the chain lock, which would serialise ingestion). Who posted what is visible from the token's use.
"""
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.models import TokenScope
from governance.models import ModelVersion, Role, UseCase
from governance.permissions import require_role, require_scope
from monitoring.ingest.parsing import RawRecord, check_body_size, ingest_media_type, parse_records
from monitoring.ingest.validation import CleanRecord, RowError, candidate_external_ids, iter_valid_records
from monitoring.ingest.writer import WriteResult, write_records
from monitoring.models import MonitoringPolicy, TrafficIngestCount
from monitoring.services.data_protection import data_protection_of, redactor_for, retention_of
from monitoring.tasks.embedding import enqueue_arrivals

INGEST_ROLES = (Role.PLATFORM_OWNER, Role.PRODUCT_OWNER)
MAX_REPORTED_ERRORS = 1000


@dataclass(frozen=True)
class IngestResult:
    """Counts of one batch and the errors of its rejected rows (at most MAX_REPORTED_ERRORS)."""

    accepted: int
    duplicate: int
    rejected: int
    errors: list[dict] = field(default_factory=list)
    errors_truncated: bool = False

    def as_dict(self) -> dict:
        """Return the response body of the traffic endpoint."""
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected,
                "errors": self.errors, "errors_truncated": self.errors_truncated}


@contextmanager
def without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch is parsed and validated."""
    # A 10,000-record batch allocates a few hundred thousand acyclic dicts and strings; the generational
    # collector would walk them again and again (a third of the parse time). Reference counting still frees them.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def traffic_ingest_authorize(*, actor: Actor, use_case: UseCase) -> None:
    """Refuse unless a `traffic:write` token or a person holds platform_owner or product_owner on the use case."""
    if actor.kind == ActorKind.SYSTEM:
        # Scheduled work and `manage.py import_traffic` run with the operator's full trust.
        return
    require_scope(actor=actor, scope=TokenScope.TRAFFIC_WRITE)
    require_role(actor=actor, use_case=use_case, roles=INGEST_ROLES, action="post traffic")


def _noting_hours(records: Iterator[CleanRecord], hours: set) -> Iterator[CleanRecord]:
    """Pass the records through unchanged, noting the hour buckets they fall in (windows start on the hour)."""
    for record in records:
        hours.add(record.hour)
        yield record


def traffic_rows_store(*, use_case: UseCase, raw: list[RawRecord], now: datetime, errors: list[RowError],
                       default_model_version: str | None = None) -> WriteResult:
    """Validate one use case's raw rows and store the valid ones, appending each rejected row's error to `errors`.

    Shared by the JSON endpoint and OTLP ingestion, so both validate, redact, deduplicate and queue embedding
    alike. Runs in its own transaction, or as a savepoint of the caller's.
    """
    model_versions = dict(ModelVersion.objects.filter(use_case=use_case).values_list("label", "id"))
    protection = data_protection_of(use_case=use_case)
    # Validated lazily, while the writer streams the valid rows into COPY: parsing and validation overlap
    # the database's work instead of preceding it.
    records = iter_valid_records(
        raw, model_versions=model_versions, now=now, errors=errors,
        future_tolerance=timedelta(seconds=settings.DRIFTGATE_FUTURE_TOLERANCE_SECONDS),
        retention=retention_of(protection), default_model_version=default_model_version,
        redactor=redactor_for(protection),
    )
    hours: set = set()
    with transaction.atomic():
        written = write_records(use_case_id=use_case.pk, records=_noting_hours(records, hours),
                                received_at=now, candidate_ids=candidate_external_ids(raw))
        if written.inserted and settings.DRIFTGATE_EMBED_ON_ARRIVAL:
            # Embed as traffic arrives, on the embed queue, so the hourly run finds its window embedded.
            window_hours = (MonitoringPolicy.objects.filter(use_case=use_case)
                            .values_list("window_hours", flat=True).first() or 1)
            enqueue_arrivals(use_case_id=use_case.pk, timestamps=hours, window_hours=window_hours)
    return written


def traffic_ingest(*, actor: Actor, use_case: UseCase, body: bytes, content_type: str,
                   default_model_version: str | None = None) -> IngestResult:
    """Validate a JSON array or NDJSON batch and store its valid rows; a retried batch adds nothing."""
    traffic_ingest_authorize(actor=actor, use_case=use_case)
    media_type = ingest_media_type(content_type)
    check_body_size(body, max_bytes=settings.DRIFTGATE_TRAFFIC_MAX_BYTES)
    now = timezone.now()
    errors: list[RowError] = []
    with without_cyclic_gc():
        raw = parse_records(body, media_type=media_type, max_records=settings.DRIFTGATE_TRAFFIC_MAX_RECORDS)
        written = traffic_rows_store(use_case=use_case, raw=raw, now=now, errors=errors,
                                     default_model_version=default_model_version)
    inserted = written.inserted
    traffic_counts_add(use_case_id=use_case.pk, accepted=inserted, duplicate=written.duplicate, rejected=len(errors))
    errors.sort(key=lambda error: error.index)
    return IngestResult(
        accepted=inserted,
        duplicate=written.duplicate,
        rejected=len(errors),
        errors=[error.as_dict() for error in errors[:MAX_REPORTED_ERRORS]],
        errors_truncated=len(errors) > MAX_REPORTED_ERRORS,
    )


def traffic_counts_add(*, use_case_id: int, accepted: int, duplicate: int, rejected: int) -> None:
    """Add a batch's counts to the use case's ever-growing totals, in one upsert of its own."""
    if not (accepted or duplicate or rejected):
        return
    table = TrafficIngestCount._meta.db_table
    # After the batch's transaction, not inside it: the counter row would otherwise stay locked for the whole
    # COPY and serialise concurrent batches of a use case. ON CONFLICT works on PostgreSQL and SQLite alike.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (use_case_id, accepted, duplicate, rejected, updated_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (use_case_id) DO UPDATE SET "
            f"accepted = {table}.accepted + excluded.accepted, duplicate = {table}.duplicate + excluded.duplicate, "
            f"rejected = {table}.rejected + excluded.rejected, updated_at = excluded.updated_at",
            [use_case_id, accepted, duplicate, rejected, timezone.now()],
        )
