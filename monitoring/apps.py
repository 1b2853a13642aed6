"""Monitoring app config."""
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from prometheus_client.registry import Collector


def _demo_step(**kwargs) -> list[str]:
    """Seed monitoring's half of the demo. The seed (with the drift engine it runs) is imported only when the demo
    is seeded, so that starting Django, a worker or a management command does not load scipy and scikit-learn."""
    from monitoring.demo.seed import demo_step

    return demo_step(**kwargs)


def _monitoring_collector() -> "Collector":
    """Build the `/metrics` collector of monitoring, imported at the first scrape rather than at start-up."""
    from monitoring.metrics import MonitoringCollector

    return MonitoringCollector()


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
        from monitoring.facts import monitoring_facts_for, monitoring_facts_for_many

        register_monitoring_facts(monitoring_facts_for, many=monitoring_facts_for_many)
        register_demo_step(_demo_step)
        register_collector(_monitoring_collector)
