"""Built-in checklist templates as readable Python data, and the idempotent loader the data migration uses.

Each template is a dict: key, title, description, kind, gate_numbers, version and items; each item has key,
section, text, guidance, owner_role and required. Bump a template's version when its items change: gates
opened later copy the new version, gates already open keep the items they were opened with.
"""
from governance.templates_data.dod_pilot import DOD_PILOT
from governance.templates_data.dod_production import DOD_PRODUCTION
from governance.templates_data.ml_test_score import ML_TEST_SCORE
from governance.templates_data.ready_for_scaling import READY_FOR_SCALING
from governance.templates_data.stable_operation import STABLE_OPERATION

BUILTIN_TEMPLATES: list[dict] = [DOD_PILOT, DOD_PRODUCTION, READY_FOR_SCALING, STABLE_OPERATION, ML_TEST_SCORE]

_TEMPLATE_FIELDS = ("title", "description", "kind", "gate_numbers", "version")
_ITEM_FIELDS = ("section", "text", "guidance", "owner_role", "required")


def install_builtin_templates(template_model, item_model) -> int:
    """Create or update every built-in template and its items by key; return how many templates were written.

    Takes the model classes so the data migration can pass its historical models.
    """
    for template_data in BUILTIN_TEMPLATES:
        template, _ = template_model.objects.update_or_create(
            key=template_data["key"], defaults={field: template_data[field] for field in _TEMPLATE_FIELDS})
        for position, item_data in enumerate(template_data["items"], start=1):
            defaults = {field: item_data.get(field, "" if field != "required" else True) for field in _ITEM_FIELDS}
            item_model.objects.update_or_create(template=template, key=item_data["key"],
                                                defaults={**defaults, "position": position * 10})
    return len(BUILTIN_TEMPLATES)
