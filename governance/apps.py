"""Governance app config."""
from django.apps import AppConfig


class GovernanceConfig(AppConfig):
    """Use cases, gates, decisions, obligations, audit log."""

    name = "governance"
