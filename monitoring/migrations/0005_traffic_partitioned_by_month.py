"""On PostgreSQL, rebuild the traffic table as range-partitioned by month of `hour` (the timestamp's hour).

Retention then drops a month's partition instead of deleting its rows one by one. PostgreSQL requires the
partition key in every unique index, so the primary key becomes (id, hour) (ids still come from one
sequence and stay unique) and deduplication lives in TrafficKey (migration 0002). Existing rows are copied
into partitions for their months; the months around today are created ahead. SQLite keeps the plain table.
`hour` rather than `timestamp`: an hourly window's sample is read per hour bucket (`hour = …`), which then
touches one partition only, and a month of hours is a month of timestamps.
"""
from datetime import UTC, datetime

from django.db import migrations

TABLE = "monitoring_trafficrecord"
OLD = "monitoring_trafficrecord_unpartitioned"
SEQUENCE = "monitoring_trafficrecord_id_seq"
INDEXES = {
    "traffic_window_sample": '(use_case_id, hour, sample_key)',
    "traffic_usecase_sample": '(use_case_id, sample_key)',
    "traffic_usecase_time": '(use_case_id, "timestamp")',
    "traffic_model_version": '(model_version_id)',
}


def _next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(f"ALTER TABLE {OLD} RENAME CONSTRAINT {TABLE}_pkey TO {OLD}_pkey")
        for name in ("traffic_window_sample", "traffic_usecase_sample", "traffic_usecase_time"):
            cursor.execute(f"ALTER INDEX {name} RENAME TO {name}_old")
        # LIKE copies columns, NOT NULL, defaults and the feedback CHECK; not the identity, keys or indexes.
        cursor.execute(f'CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) '
                       f'PARTITION BY RANGE (hour)')
        # A loader that COPYs rows without the newest column (scripts, tests with raw SQL) still gets a valid row.
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN redactions SET DEFAULT '{{}}'::jsonb")
        cursor.execute(f"CREATE SEQUENCE {SEQUENCE}_new AS bigint OWNED BY {TABLE}.id")
        cursor.execute(f"ALTER TABLE {TABLE} ALTER COLUMN id SET DEFAULT nextval('{SEQUENCE}_new')")
        cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, hour)')
        for name, columns in INDEXES.items():
            cursor.execute(f"CREATE INDEX {name} ON {TABLE} {columns}")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT traffic_use_case_fk FOREIGN KEY (use_case_id) "
                       f"REFERENCES governance_usecase (id) DEFERRABLE INITIALLY DEFERRED")
        cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT traffic_model_version_fk FOREIGN KEY (model_version_id) "
                       f"REFERENCES governance_modelversion (id) DEFERRABLE INITIALLY DEFERRED")
        cursor.execute(f"SELECT DISTINCT date_trunc('month', hour AT TIME ZONE 'UTC') FROM {OLD}")
        months = {row[0].replace(tzinfo=UTC) for row in cursor.fetchall()}
        now = datetime.now(UTC)
        month = datetime(now.year, now.month, 1, tzinfo=UTC)
        for _ in range(3):
            months.add(month)
            month = _next_month(month)
        for month in sorted(months):
            cursor.execute(f"CREATE TABLE {TABLE}_p{month.year:04d}_{month.month:02d} PARTITION OF {TABLE} "
                           f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(f"SELECT setval('{SEQUENCE}_new', COALESCE((SELECT max(id) FROM {OLD}), 0) + 1, false)")
        cursor.execute(f"DROP TABLE {OLD}")
        cursor.execute(f"ALTER SEQUENCE {SEQUENCE}_new RENAME TO {SEQUENCE}")


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0004_traffic_redactions_keys_and_data_protection"),
    ]

    operations = [
        # Irreversible on PostgreSQL: going back would need the unique index the partitioned table cannot have.
        migrations.RunPython(partition, reverse_code=None, elidable=False),
    ]
