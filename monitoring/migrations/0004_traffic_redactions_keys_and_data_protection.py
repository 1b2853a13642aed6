"""Redaction counts on records, per-use-case data protection, and deduplication moved to its own key table.

The key table takes over the unique (use case, external_id) index so that migration 0003 can partition the
record table by month: existing keys are copied before the record table's unique constraint goes.
"""

import django.db.models.deletion
import monitoring.models
from django.db import migrations, models


def copy_existing_keys(apps, schema_editor):
    TrafficRecord = apps.get_model("monitoring", "TrafficRecord")
    TrafficKey = apps.get_model("monitoring", "TrafficKey")
    rows = TrafficRecord.objects.values_list("use_case_id", "external_id", "timestamp").order_by("pk").iterator(
        chunk_size=5000)
    batch = []
    for use_case_id, external_id, timestamp in rows:
        batch.append(TrafficKey(use_case_id=use_case_id, external_id=external_id, timestamp=timestamp))
        if len(batch) == 5000:
            TrafficKey.objects.bulk_create(batch)
            batch = []
    TrafficKey.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0003_builtin_checklist_templates'),
        ('monitoring', '0003_builtin_golden_sets'),
    ]

    operations = [
        migrations.CreateModel(
            name='DataProtectionPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('redact_kinds', models.JSONField(blank=True, default=monitoring.models._all_redaction_kinds, help_text='Built-in kinds that are redacted (monitoring.ingest.redaction).')),
                ('custom_patterns', models.JSONField(blank=True, default=list, help_text='Extra patterns: [{"name": "employee_id", "pattern": "EMP-\\d{6}"}].')),
                ('retention_days', models.PositiveIntegerField(default=180, help_text='Raw prompts and responses older than this are purged.')),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name='TrafficKey',
            fields=[
                ('pk', models.CompositePrimaryKey('use_case', 'external_id', blank=True, editable=False, primary_key=True, serialize=False)),
                ('use_case', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='governance.usecase')),
                ('external_id', models.CharField(max_length=200)),
                ('timestamp', models.DateTimeField()),
            ],
        ),
        migrations.AddField(
            model_name='trafficrecord',
            name='redactions',
            field=models.JSONField(blank=True, default=dict, help_text='How many finds of each kind were redacted from prompt and response.'),
        ),
        migrations.AddField(
            model_name='dataprotectionpolicy',
            name='use_case',
            field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='data_protection', to='governance.usecase'),
        ),
        migrations.AddConstraint(
            model_name='dataprotectionpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('retention_days__gte', 1), ('retention_days__lte', 3660)), name='dataprotection_retention_range', violation_error_message='Retention is between 1 and 3,660 days.'),
        ),
        migrations.AddIndex(
            model_name='traffickey',
            index=models.Index(fields=['use_case', 'timestamp'], name='traffickey_usecase_time'),
        ),
        migrations.RunPython(copy_existing_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name='trafficrecord',
            name='traffic_external_id_unique',
        ),
    ]
