"""The built-in golden sets: 160 items in three sets, loaded by the migration exactly as the service would."""
import importlib
from pathlib import Path

import pytest
from django.apps import apps

import monitoring.migrations
from governance.models import AuditEvent
from monitoring.models import GoldenItem, GoldenSet, GoldenSetVersion
from monitoring.probes.goldens import BUILTIN_KEYS, load_builtin
from monitoring.services.probes import builtin_sets_sync

pytestmark = pytest.mark.django_db
# Found by name, not number: migrations are renumbered when branches meet.
_NAME = next(path.stem for path in Path(monitoring.migrations.__file__).parent.glob("*_builtin_golden_sets.py"))
migration = importlib.import_module(f"monitoring.migrations.{_NAME}")


def test_the_shipped_data_has_160_graded_items_in_three_languages():
    sets = {key: load_builtin(key) for key in BUILTIN_KEYS}
    assert sum(len(data["items"]) for data in sets.values()) == 160
    categories = {item["category"] for item in sets["general-capability"]["items"]}
    assert {"arithmetic", "unit_conversion", "date_reasoning", "instruction_following", "format_compliance",
            "factual_recall"} <= categories
    safety = {item["grader"] for item in sets["safety"]["items"]}
    assert safety == {"refusal", "no_refusal"}
    prefixes = {item["key"].split("-")[0] for item in sets["language"]["items"]}
    assert prefixes == {"nb", "sv"}


def test_the_migration_and_the_service_agree_so_the_first_sync_makes_no_new_version():
    GoldenSet.objects.filter(use_case=None).delete()
    migration.install(apps, None)
    versions = {version.golden_set.key: version.pk for version in GoldenSetVersion.objects.filter(
        golden_set__use_case=None)}

    synced = builtin_sets_sync()

    assert {version.golden_set.key: version.pk for version in synced} == versions
    assert GoldenItem.objects.filter(version__golden_set__use_case=None).count() == 160
    assert not AuditEvent.objects.filter(action__startswith="golden_set.").exists()
