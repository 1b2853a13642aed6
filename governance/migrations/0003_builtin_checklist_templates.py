"""Load the built-in checklist templates (DoD pilot, DoD production, ready for scaling, stable operation, ML Test
Score). Idempotent: templates and items are written by key, so re-running updates them in place."""
from django.db import migrations

from governance.templates_data import install_builtin_templates


def install(apps, schema_editor):
    install_builtin_templates(apps.get_model("governance", "ChecklistTemplate"),
                              apps.get_model("governance", "ChecklistTemplateItem"))


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0002_audit_append_only"),
    ]

    # Reversing keeps the templates: gates already opened reference them (PROTECT), and they are plain data.
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
