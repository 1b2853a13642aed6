"""Retention of raw traffic: expired prompts and responses are purged; baselines, runs, alerts and audit stay.

On PostgreSQL the traffic table is partitioned by month. A month whose records have expired for every use
case is dropped as a whole; what remains expired (the boundary month, and use cases that keep less than
others) is deleted by range on the (use case, timestamp) index, so a record never outlives its use case's
retention by more than the schedule's interval. Baselines hold their own sample embeddings and summaries, and
runs, alerts and audit events refer to no traffic row, so none of them changes when traffic goes.
"""
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from django.conf import settings
from django.db import OperationalError, connection, transaction

from driftgate.actors import Actor
from governance.audit import audit_record
from governance.models import UseCase
from monitoring.ingest import partitions
from monitoring.models import DataProtectionPolicy, TrafficKey, TrafficRecord

_DROP_LOCK_TIMEOUT_MS = 5000


@dataclass
class PurgeResult:
    """What one purge removed: records per use case slug and the partitions dropped."""

    records: dict[str, int] = field(default_factory=dict)
    partitions_dropped: list[str] = field(default_factory=list)
    # Expired months whose drop could not get its lock in time; the next run drops them.
    partitions_deferred: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return the JSON shape the task reports."""
        return {"records": self.records, "partitions_dropped": self.partitions_dropped,
                "partitions_deferred": self.partitions_deferred, "total": sum(self.records.values())}


def _cutoffs(now: datetime) -> dict[int, tuple[UseCase, datetime]]:
    days = dict(DataProtectionPolicy.objects.values_list("use_case_id", "retention_days"))
    default = settings.DRIFTGATE_TRAFFIC_RETENTION_DAYS
    return {use_case.pk: (use_case, now - timedelta(days=days.get(use_case.pk, default)))
            for use_case in UseCase.objects.order_by("pk")}


def _counts_in(partition: partitions.Partition) -> dict[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT use_case_id, count(*) FROM "{partition.name}" GROUP BY use_case_id')
        return dict(cursor.fetchall())


def _audit(actor: Actor, use_case: UseCase, *, cutoff: datetime, records: int, how: str, partition: str = "") -> None:
    audit_record(actor=actor, action="traffic.purged", object_type="monitoring.trafficrecord",
                 object_id=use_case.pk, use_case=use_case,
                 after={"cutoff": cutoff.isoformat(), "records": records, "how": how, "partition": partition})


def _drop(actor: Actor, partition: partitions.Partition, cutoffs: dict[int, tuple[UseCase, datetime]],
          result: PurgeResult) -> None:
    # Counted, dropped and audited in one transaction: an audit event never claims a drop that rolled back.
    with transaction.atomic():
        with connection.cursor() as cursor:
            # DROP needs an exclusive lock on the whole traffic table. Waiting for it behind a long drift query
            # would queue every ingestion request behind the DROP; give up instead and try again next run.
            cursor.execute(f"SET LOCAL lock_timeout = '{_DROP_LOCK_TIMEOUT_MS}ms'")
        counts = _counts_in(partition)
        partitions.drop_partition(partition)
        for use_case_id, count in sorted(counts.items()):
            use_case, cutoff = cutoffs[use_case_id]
            _audit(actor, use_case, cutoff=cutoff, records=count, how="partition_dropped", partition=partition.name)
            result.records[use_case.slug] = result.records.get(use_case.slug, 0) + count
    result.partitions_dropped.append(partition.name)


def traffic_purge(*, actor: Actor, now: datetime) -> PurgeResult:
    """Remove raw traffic older than each use case's retention, each removal audited with its counts."""
    result = PurgeResult()
    cutoffs = _cutoffs(now)
    if not cutoffs:
        return result
    # A partition may go only when every use case's cutoff lies past its end: use cases share months.
    # A use case created later starts with no records, so the oldest cutoff over existing ones is enough.
    oldest_cutoff = min(cutoff for _, cutoff in cutoffs.values())
    # Rows of a month whose drop had to wait are left for the next run rather than deleted one by one.
    keep_before: datetime | None = None
    for partition in partitions.existing_partitions():
        if partition.end > oldest_cutoff:
            continue
        try:
            _drop(actor, partition, cutoffs, result)
        except OperationalError as exc:
            if not isinstance(exc.__cause__, psycopg.errors.LockNotAvailable):
                raise
            result.partitions_deferred.append(partition.name)
            keep_before = partition.end if keep_before is None else max(keep_before, partition.end)
    for use_case, cutoff in cutoffs.values():
        with transaction.atomic():
            expired = TrafficRecord.objects.filter(use_case=use_case, timestamp__lt=cutoff)
            if keep_before is not None:
                expired = expired.filter(timestamp__gte=keep_before)
            deleted, _ = expired.delete()
            # Keys go with their records: an expired record's id may come again only with a timestamp inside
            # retention, and then it is a new record.
            TrafficKey.objects.filter(use_case=use_case, timestamp__lt=cutoff).delete()
            if deleted:
                _audit(actor, use_case, cutoff=cutoff, records=deleted, how="rows_deleted")
                result.records[use_case.slug] = result.records.get(use_case.slug, 0) + deleted
    return result


def traffic_partitions_prepare(*, now: datetime) -> list[str]:
    """Create the current month's partition and the configured number ahead; return the names created."""
    return partitions.ensure_partitions_ahead(now=now, months_ahead=settings.DRIFTGATE_TRAFFIC_PARTITIONS_AHEAD)

