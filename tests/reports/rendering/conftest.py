"""Template settings for the rendering tests, which need Django's template engine but no database."""
import copy
import os
from pathlib import Path

import django
import pytest
from django.apps import apps
from django.conf import settings
from django.test import override_settings

PROJECT_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
TEST_TEMPLATES = Path(__file__).resolve().parent / "templates"

# Without the project's settings (pytest run with -p no:django) the engine still needs a configuration; with
# them, pytest-django has already set Django up and this leaves it alone.
if not os.environ.get("DJANGO_SETTINGS_MODULE") and not settings.configured:
    settings.configure(
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [PROJECT_TEMPLATES],
                "APP_DIRS": False,
            }
        ],
        USE_TZ=True,
        TIME_ZONE="UTC",
    )
if not apps.ready:
    django.setup()


@pytest.fixture(scope="module")
def report_templates():
    """Make the test templates (children of reports/base.html) loadable next to the project's templates."""
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [*templates[0]["DIRS"], TEST_TEMPLATES]
    with override_settings(TEMPLATES=templates):
        yield
