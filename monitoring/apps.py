"""Monitoring app config."""
from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Traffic, baselines, drift runs, alerts."""

    name = "monitoring"
