"""Reports app config."""
from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Stored, hashed PDF reports."""

    name = "reports"
