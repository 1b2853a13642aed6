"""App config of the platform package (API tokens live here)."""
from django.apps import AppConfig


class DriftgateConfig(AppConfig):
    """The platform package: settings, authentication, API conventions."""

    name = "driftgate"
    verbose_name = "Platform"
