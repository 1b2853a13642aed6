"""App config of the platform package (API tokens live here)."""
from django.apps import AppConfig


class DriftgateConfig(AppConfig):
    """The platform package: settings, authentication, API conventions."""

    name = "driftgate"
    verbose_name = "Platform"

    def ready(self) -> None:
        # Registers the OpenAPI extension by importing it; drf-spectacular finds extensions by subclass.
        from driftgate import schema  # noqa: F401
        from driftgate.task_outcomes import connect_task_outcome_signals

        connect_task_outcome_signals()
