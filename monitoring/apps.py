"""Monitoring app config."""
from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Traffic, baselines, drift runs, alerts."""

    name = "monitoring"

    def ready(self) -> None:
        """Give governance its view of monitoring (gates and the CI status ask through `governance.facts`) and
        `/metrics` its collector."""
        # Imported here because models may only be imported once the app registry is ready.
        from driftgate.metrics import register_collector
        from governance.demo_steps import register_demo_step
        from governance.facts import register_monitoring_facts
        from monitoring.demo.seed import demo_step
        from monitoring.facts import monitoring_facts_for, monitoring_facts_for_many
        from monitoring.metrics import MonitoringCollector

        register_monitoring_facts(monitoring_facts_for, many=monitoring_facts_for_many)
        register_demo_step(demo_step)
        register_collector(MonitoringCollector)
