"""Load version 1 of the built-in golden sets (general capability, safety, Norwegian and Swedish).

Later changes to the shipped data become new, audited versions through `builtin_sets_sync`, which every probe
run request calls; this migration only makes the sets exist from the first `migrate`, so they can be listed
and chosen before anything has run.
"""
from django.db import migrations

from monitoring.probes.goldens import BUILTIN_KEYS, content_sha256, load_builtin


def install(apps, schema_editor):
    golden_set_model = apps.get_model("monitoring", "GoldenSet")
    version_model = apps.get_model("monitoring", "GoldenSetVersion")
    item_model = apps.get_model("monitoring", "GoldenItem")
    for key in BUILTIN_KEYS:
        if golden_set_model.objects.filter(use_case=None, key=key).exists():
            continue
        data = load_builtin(key)
        golden_set = golden_set_model.objects.create(use_case=None, key=key, title=data["title"],
                                                     description=data["description"], builtin=True)
        version = version_model.objects.create(golden_set=golden_set, number=1,
                                               content_sha256=content_sha256(data["items"]),
                                               note="shipped with Driftgate")
        item_model.objects.bulk_create([
            item_model(version=version, position=position, key=item["key"], category=item["category"],
                       messages=item["messages"], reference=item["reference"], grader=item["grader"],
                       grader_config=item["config"], digest=item["digest"])
            for position, item in enumerate(data["items"])
        ])


class Migration(migrations.Migration):

    dependencies = [
        ("monitoring", "0002_model_probes"),
    ]

    # Reversing keeps the sets: probe results reference their items (PROTECT), and they are plain data.
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
