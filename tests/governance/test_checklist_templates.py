"""The built-in checklist templates are readable data, loaded idempotently by key."""
from collections import Counter

import pytest

from governance.models import ChecklistTemplate, ChecklistTemplateItem, Role
from governance.templates_data import BUILTIN_TEMPLATES, install_builtin_templates


def test_the_ml_test_score_has_28_tests_in_four_sections_of_seven():
    (rubric,) = [t for t in BUILTIN_TEMPLATES if t["key"] == "ml-test-score"]
    sections = Counter(item["section"] for item in rubric["items"])

    assert rubric["kind"] == "ml_test_score" and rubric["gate_numbers"] == [2, 3]
    assert sections == {"Data": 7, "Model": 7, "Infrastructure": 7, "Monitoring": 7}


def test_every_template_item_has_a_unique_key_a_known_owner_role_and_text():
    for template in BUILTIN_TEMPLATES:
        keys = [item["key"] for item in template["items"]]
        assert len(keys) == len(set(keys)), template["key"]
        for item in template["items"]:
            assert item["owner_role"] in Role.values and item["text"].strip()


def test_the_production_definition_of_done_asks_for_the_fine_tuning_evidence():
    (production,) = [t for t in BUILTIN_TEMPLATES if t["key"] == "dod-production"]
    keys = {item["key"] for item in production["items"]}

    assert {"held-out-test", "general-capability-regression", "training-data-reference",
            "monitoring-policy-baseline", "rollback-plan", "incident-process", "lineage"} <= keys


def test_the_pilot_definition_of_done_lists_five_production_requirements():
    (pilot,) = [t for t in BUILTIN_TEMPLATES if t["key"] == "dod-pilot"]

    assert sum(1 for item in pilot["items"] if item["section"] == "Production requirements") == 5


@pytest.mark.django_db
def test_installing_twice_changes_nothing_and_restores_edited_text():
    install_builtin_templates(ChecklistTemplate, ChecklistTemplateItem)
    counts = (ChecklistTemplate.objects.count(), ChecklistTemplateItem.objects.count())
    ChecklistTemplateItem.objects.filter(template__key="dod-pilot", key="value-evidence").update(text="edited")

    install_builtin_templates(ChecklistTemplate, ChecklistTemplateItem)

    assert (ChecklistTemplate.objects.count(), ChecklistTemplateItem.objects.count()) == counts
    assert counts == (len(BUILTIN_TEMPLATES), sum(len(t["items"]) for t in BUILTIN_TEMPLATES))
    assert ChecklistTemplateItem.objects.get(template__key="dod-pilot", key="value-evidence").text != "edited"
