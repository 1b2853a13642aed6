"""The per-day summary of each signal that the monitoring page draws past a month, kept by the database.

Triggers on the signal table keep it in the transaction that writes the signals, whoever writes them (the drift
and probe run services, a bulk load, a deletion): an insert adds to its day with INSERT ... ON CONFLICT DO UPDATE,
which PostgreSQL serialises per row, so two runs finishing at once on one day both count; a delete or an update
recounts the days it touched from the signals left. The existing signals are summed up once, after the triggers
exist, in the same transaction, so no signal written meanwhile is missed or counted twice.
"""
import django.db.models.deletion
from django.db import migrations, models

SUMMARY_COLUMNS = "use_case_id, day, name, unit, runs, effect_max, worst_rank, p_min"
RANK = "CASE {table}.severity WHEN 'review' THEN 1 WHEN 'stop' THEN 2 ELSE 0 END"

POSTGRES_UP = f"""
CREATE FUNCTION monitoring_dailysummary_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Keys in one order, so two statements adding to the same days cannot deadlock.
    INSERT INTO monitoring_dailysummary AS summary ({SUMMARY_COLUMNS})
    SELECT run.use_case_id, (run.window_start AT TIME ZONE 'UTC')::date, added.name, MAX(added.effect_unit),
           COUNT(*), MAX(added.effect_size), MAX({RANK.format(table="added")}), MIN(added.p_adjusted)
    FROM added_signals added JOIN monitoring_driftrun run ON run.id = added.run_id
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (use_case_id, day, name) DO UPDATE SET
        unit = GREATEST(summary.unit, EXCLUDED.unit),
        runs = summary.runs + EXCLUDED.runs,
        effect_max = GREATEST(summary.effect_max, EXCLUDED.effect_max),
        worst_rank = GREATEST(summary.worst_rank, EXCLUDED.worst_rank),
        p_min = LEAST(summary.p_min, EXCLUDED.p_min);
    RETURN NULL;
END;
$$;

CREATE FUNCTION monitoring_dailysummary_recount() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    use_cases bigint[];
    days date[];
    names text[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(key.use_case_id), array_agg(key.day), array_agg(key.name) INTO use_cases, days, names
        FROM (SELECT run.use_case_id, (run.window_start AT TIME ZONE 'UTC')::date AS day, changed.name
              FROM (SELECT run_id, name FROM removed_signals UNION SELECT run_id, name FROM added_signals) changed
              JOIN monitoring_driftrun run ON run.id = changed.run_id GROUP BY 1, 2, 3) key;
    ELSE
        SELECT array_agg(key.use_case_id), array_agg(key.day), array_agg(key.name) INTO use_cases, days, names
        FROM (SELECT run.use_case_id, (run.window_start AT TIME ZONE 'UTC')::date AS day, removed.name
              FROM removed_signals removed JOIN monitoring_driftrun run ON run.id = removed.run_id
              GROUP BY 1, 2, 3) key;
    END IF;
    IF use_cases IS NULL THEN
        RETURN NULL;
    END IF;
    -- Lock the days first: a run finishing on one of them meanwhile waits for the recount and then adds to it,
    -- and one that finished before the lock is seen by the recount (each statement reads what is committed).
    PERFORM 1 FROM monitoring_dailysummary summary
        JOIN unnest(use_cases, days, names) AS key(use_case_id, day, name)
        ON summary.use_case_id = key.use_case_id AND summary.day = key.day AND summary.name = key.name
        ORDER BY summary.use_case_id, summary.day, summary.name FOR UPDATE OF summary;
    DELETE FROM monitoring_dailysummary summary USING unnest(use_cases, days, names) AS key(use_case_id, day, name)
        WHERE summary.use_case_id = key.use_case_id AND summary.day = key.day AND summary.name = key.name;
    INSERT INTO monitoring_dailysummary ({SUMMARY_COLUMNS})
    SELECT key.use_case_id, key.day, signal.name, MAX(signal.effect_unit), COUNT(*), MAX(signal.effect_size),
           MAX({RANK.format(table="signal")}), MIN(signal.p_adjusted)
    FROM unnest(use_cases, days, names) AS key(use_case_id, day, name)
    JOIN monitoring_driftrun run ON run.use_case_id = key.use_case_id
        AND run.window_start >= key.day::timestamp AT TIME ZONE 'UTC'
        AND run.window_start < (key.day + 1)::timestamp AT TIME ZONE 'UTC'
    JOIN monitoring_driftsignal signal ON signal.run_id = run.id AND signal.name = key.name
    GROUP BY 1, 2, 3;
    RETURN NULL;
END;
$$;

CREATE TRIGGER monitoring_driftsignal_summary_insert AFTER INSERT ON monitoring_driftsignal
    REFERENCING NEW TABLE AS added_signals FOR EACH STATEMENT EXECUTE FUNCTION monitoring_dailysummary_add();
CREATE TRIGGER monitoring_driftsignal_summary_delete AFTER DELETE ON monitoring_driftsignal
    REFERENCING OLD TABLE AS removed_signals FOR EACH STATEMENT EXECUTE FUNCTION monitoring_dailysummary_recount();
CREATE TRIGGER monitoring_driftsignal_summary_update AFTER UPDATE ON monitoring_driftsignal
    REFERENCING OLD TABLE AS removed_signals NEW TABLE AS added_signals
    FOR EACH STATEMENT EXECUTE FUNCTION monitoring_dailysummary_recount();
"""
POSTGRES_BACKFILL = f"""
INSERT INTO monitoring_dailysummary ({SUMMARY_COLUMNS})
SELECT run.use_case_id, (run.window_start AT TIME ZONE 'UTC')::date, signal.name, MAX(signal.effect_unit), COUNT(*),
       MAX(signal.effect_size), MAX({RANK.format(table="signal")}), MIN(signal.p_adjusted)
FROM monitoring_driftsignal signal JOIN monitoring_driftrun run ON run.id = signal.run_id
GROUP BY 1, 2, 3
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS monitoring_driftsignal_summary_insert ON monitoring_driftsignal;
DROP TRIGGER IF EXISTS monitoring_driftsignal_summary_delete ON monitoring_driftsignal;
DROP TRIGGER IF EXISTS monitoring_driftsignal_summary_update ON monitoring_driftsignal;
DROP FUNCTION IF EXISTS monitoring_dailysummary_add();
DROP FUNCTION IF EXISTS monitoring_dailysummary_recount();
"""

# SQLite has row triggers only, and one writer at a time: each signal adds to or recounts its own day.
# Django stores an aware datetime there as UTC text, so date() is the UTC day.
SQLITE_RECOUNT = f"""
    DELETE FROM monitoring_dailysummary WHERE (use_case_id, day, name) =
        (SELECT run.use_case_id, date(run.window_start), {{row}}.name FROM monitoring_driftrun run
         WHERE run.id = {{row}}.run_id);
    INSERT INTO monitoring_dailysummary ({SUMMARY_COLUMNS})
    SELECT run.use_case_id, date(run.window_start), signal.name, MAX(signal.effect_unit), COUNT(*),
           MAX(signal.effect_size), MAX({RANK.format(table="signal")}), MIN(signal.p_adjusted)
    FROM monitoring_driftrun changed
    JOIN monitoring_driftrun run ON run.use_case_id = changed.use_case_id
        AND run.window_start >= date(changed.window_start) AND run.window_start < date(changed.window_start, '+1 day')
    JOIN monitoring_driftsignal signal ON signal.run_id = run.id AND signal.name = {{row}}.name
    WHERE changed.id = {{row}}.run_id
    GROUP BY 1, 2, 3;
"""
SQLITE_UP = [
    f"""CREATE TRIGGER monitoring_driftsignal_summary_insert AFTER INSERT ON monitoring_driftsignal BEGIN
    INSERT INTO monitoring_dailysummary ({SUMMARY_COLUMNS})
    SELECT run.use_case_id, date(run.window_start), NEW.name, NEW.effect_unit, 1, NEW.effect_size,
           {RANK.format(table="NEW")}, NEW.p_adjusted
    FROM monitoring_driftrun run WHERE run.id = NEW.run_id
    ON CONFLICT (use_case_id, day, name) DO UPDATE SET
        unit = max(unit, excluded.unit),
        runs = runs + excluded.runs,
        effect_max = max(effect_max, excluded.effect_max),
        worst_rank = max(worst_rank, excluded.worst_rank),
        p_min = min(coalesce(p_min, excluded.p_min), coalesce(excluded.p_min, p_min));
    END;""",
    f"""CREATE TRIGGER monitoring_driftsignal_summary_delete AFTER DELETE ON monitoring_driftsignal BEGIN
    {SQLITE_RECOUNT.format(row="OLD")}
    END;""",
    f"""CREATE TRIGGER monitoring_driftsignal_summary_update AFTER UPDATE ON monitoring_driftsignal BEGIN
    {SQLITE_RECOUNT.format(row="OLD")}
    {SQLITE_RECOUNT.format(row="NEW")}
    END;""",
]
SQLITE_BACKFILL = f"""
INSERT INTO monitoring_dailysummary ({SUMMARY_COLUMNS})
SELECT run.use_case_id, date(run.window_start), signal.name, MAX(signal.effect_unit), COUNT(*),
       MAX(signal.effect_size), MAX({RANK.format(table="signal")}), MIN(signal.p_adjusted)
FROM monitoring_driftsignal signal JOIN monitoring_driftrun run ON run.id = signal.run_id
GROUP BY 1, 2, 3
"""
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS monitoring_driftsignal_summary_insert;",
    "DROP TRIGGER IF EXISTS monitoring_driftsignal_summary_delete;",
    "DROP TRIGGER IF EXISTS monitoring_driftsignal_summary_update;",
]


def install(apps, schema_editor):
    """Create the triggers, then sum up the signals already stored."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP, params=None)
        schema_editor.execute(POSTGRES_BACKFILL, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_UP:
            schema_editor.execute(statement, params=None)
        schema_editor.execute(SQLITE_BACKFILL, params=None)
    else:
        raise RuntimeError(f"No daily summary triggers for database vendor {vendor!r}.")


def uninstall(apps, schema_editor):
    """Drop the triggers (the table goes with the migration's CreateModel)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_DOWN:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0009_notifications_outbox_webhooks_preferences'),
        ('monitoring', '0007_traffic_ingest_counts'),
    ]

    operations = [
        migrations.CreateModel(
            name='DailySummary',
            fields=[
                ('pk', models.CompositePrimaryKey('use_case', 'day', 'name', blank=True, editable=False,
                                                  primary_key=True, serialize=False)),
                ('day', models.DateField()),
                ('name', models.CharField(max_length=40)),
                ('unit', models.CharField(max_length=40)),
                ('runs', models.PositiveIntegerField()),
                ('effect_max', models.FloatField()),
                ('worst_rank', models.PositiveSmallIntegerField()),
                ('p_min', models.FloatField(null=True)),
                ('use_case', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+',
                                               to='governance.usecase')),
            ],
        ),
        migrations.RunPython(install, uninstall),
    ]
