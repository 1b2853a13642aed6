"""Audit events keep only the indexes a query uses: each one is written again for every event appended.

Dropped: the single-column use case index (auditevent_usecase_seq starts with the use case), the token index
(nothing looks events up by token), and on PostgreSQL the second, LIKE index Django adds beside a plain index of
a CharField, for `action` and `hash`: `action` gets one index with the pattern operator class, which serves both
equality and the page's prefix filter; `hash` is only ever compared for equality.

The fields change in the migration state only: on SQLite, altering a field rebuilds the table and would drop its
append-only triggers, so the indexes are dropped by name instead.
"""
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TABLE = "governance_auditevent"
# Columns whose plain, non-unique single-column indexes go (on PostgreSQL `hash` keeps its unique index).
COLUMNS = (["actor_token_id"], ["use_case_id"], ["action"], ["hash"])


def drop_indexes(apps, schema_editor):
    """Drop the redundant indexes, found by their columns (their names carry a hash Django derived)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in constraints.items():
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] in COLUMNS:
            schema_editor.execute(schema_editor._delete_index_sql(apps.get_model("governance", "AuditEvent"), name))


def restore_indexes(apps, schema_editor):
    """Create the indexes 0009's state describes again (only for migrating backwards in development)."""
    model = apps.get_model("governance", "AuditEvent")
    for name in ("actor_token", "use_case", "action"):
        schema_editor.execute(schema_editor._create_index_sql(model, fields=[model._meta.get_field(name)]))
    if schema_editor.connection.vendor == "postgresql":
        for name in ("action", "hash"):
            schema_editor.execute(schema_editor._create_like_index_sql(model, model._meta.get_field(name)))


class Migration(migrations.Migration):

    dependencies = [
        ('driftgate', '0002_task_outcome_counts'),
        ('governance', '0009_notifications_outbox_webhooks_preferences'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='auditevent',
                    name='action',
                    field=models.CharField(max_length=80),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='actor_token',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='driftgate.apitoken'),
                ),
                migrations.AlterField(
                    model_name='auditevent',
                    name='use_case',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_events', to='governance.usecase'),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, restore_indexes)],
        ),
        migrations.AddIndex(
            model_name='auditevent',
            index=models.Index(fields=['action'], name='auditevent_action', opclasses=['varchar_pattern_ops']),
        ),
    ]
