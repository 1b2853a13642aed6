"""Monthly partitions of the traffic table on PostgreSQL: created ahead by the schedule, on demand for a backfill,
and dropped by the retention purge. On other databases the table is plain and every function here is a no-op.

Partitions are named `monitoring_trafficrecord_pYYYY_MM` and bounded by UTC month starts on `hour`, the
record's timestamp truncated to the hour, so a record's partition follows from its (UTC) timestamp alone.
"""
import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from monitoring.models import TrafficRecord

PARENT = TrafficRecord._meta.db_table
_NAME = re.compile(rf"^{PARENT}_p(\d{{4}})_(\d{{2}})$")
# An arbitrary constant for pg_advisory_xact_lock: partition DDL of concurrent writers and the schedule queues.
_DDL_LOCK_KEY = 7_214_031_905
# Months known to exist, per database name; a stale entry is corrected by the writer's retry.
_known: dict[str, set[datetime]] = {}


@dataclass(frozen=True, order=True)
class Partition:
    """One month of the traffic table: [start, end) in UTC."""

    start: datetime
    end: datetime
    name: str


def month_start(moment: datetime) -> datetime:
    """Return the first instant (UTC) of the month holding `moment`."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    """Return the start of the month after `month` (a month start)."""
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    """Return the name of the partition of the month starting at `month`."""
    return f"{PARENT}_p{month.year:04d}_{month.month:02d}"


def is_partitioned() -> bool:
    """Whether the traffic table is a partitioned table (PostgreSQL after migration 0003)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [PARENT])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def existing_partitions() -> list[Partition]:
    """Return the monthly partitions, oldest first (empty where the table is not partitioned)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s)", [PARENT])
        names = [row[0] for row in cursor.fetchall()]
    partitions = []
    for name in names:
        match = _NAME.match(name)
        if match:
            start = datetime(int(match.group(1)), int(match.group(2)), 1, tzinfo=UTC)
            partitions.append(Partition(start=start, end=next_month(start), name=name))
    return sorted(partitions)


@contextlib.contextmanager
def _as_table_owner(cursor) -> Iterator[None]:
    """Run partition DDL as the traffic table's owner role, which the application belongs to.

    Under the two-role setup the application may create and drop only the traffic table's partitions: the traffic
    tables have an owner role of their own that the application is a member of (never the audit tables' owner).
    Must run inside an atomic block; the previous role comes back before anything else runs in it.
    """
    cursor.execute("SELECT current_user, tableowner, pg_has_role(current_user, tableowner, 'MEMBER') "
                   "FROM pg_tables WHERE schemaname = current_schema() AND tablename = %s", [PARENT])
    row = cursor.fetchone()
    if row is None or row[0] == row[1] or not row[2]:
        yield
        return
    previous, owner = row[0], row[1]
    cursor.execute(f'SET LOCAL ROLE "{owner}"')
    yield
    # Not in a `finally`: after a failed statement the transaction accepts no command, and rolling back the
    # enclosing atomic block (a savepoint when nested) undoes the SET LOCAL anyway.
    cursor.execute(f'SET LOCAL ROLE "{previous}"')


def _cache() -> set[datetime]:
    return _known.setdefault(connection.settings_dict["NAME"], set())


def forget_partitions() -> None:
    """Drop what this process believes exists (after a failed write, or when another process dropped some)."""
    _cache().clear()


def ensure_partitions(moments: Iterable[datetime]) -> list[str]:
    """Create the partitions of the months holding `moments` that do not exist yet; return the names created."""
    if connection.vendor != "postgresql":
        return []
    known = _cache()
    months = {month_start(moment) for moment in moments} - known
    if not months:
        return []
    created = []
    # Its own transaction (a savepoint when nested): the DDL's lock on the parent lasts only as long as the DDL,
    # and the advisory lock keeps two writers from racing on the same CREATE.
    with transaction.atomic(), connection.cursor() as cursor:
        if not is_partitioned():
            return []
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DDL_LOCK_KEY])
        present = {partition.start for partition in existing_partitions()}
        with _as_table_owner(cursor):
            for month in sorted(months - present):
                name = partition_name(month)
                # DDL takes no bound parameters; the bounds are month starts this module computed, not input.
                cursor.execute(f'CREATE TABLE "{name}" PARTITION OF "{PARENT}" '
                               f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')")
                created.append(name)
        known.update(months & present)
        # A partition created in a transaction that rolls back does not exist: remember it only once committed.
        new = months - present
        transaction.on_commit(lambda: known.update(new))
    return created


def ensure_partitions_ahead(*, now: datetime, months_ahead: int) -> list[str]:
    """Create this month's partition and the next `months_ahead` ones, so live traffic never waits on DDL."""
    month = month_start(now)
    months = [month]
    for _ in range(months_ahead):
        month = next_month(month)
        months.append(month)
    return ensure_partitions(months)


def drop_partition(partition: Partition) -> None:
    """Drop one month of traffic at once: no row-by-row delete, no dead tuples, no vacuum afterwards."""
    with transaction.atomic(), connection.cursor() as cursor, _as_table_owner(cursor):
        cursor.execute(f'DROP TABLE "{partition.name}"')
    _cache().discard(partition.start)
