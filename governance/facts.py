"""The one door through which governance learns monitoring facts.

Governance never imports monitoring. Monitoring registers a provider at start-up (its AppConfig.ready) and
gate criteria and the CI status call `monitoring_facts(use_case)`. With no provider registered, every
monitoring criterion reports "not configured".
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from governance.models import UseCase


@dataclass(frozen=True)
class MonitoringFacts:
    """What gates and the CI status need to know about a use case's monitoring."""

    policy_configured: bool
    baseline_frozen: bool
    baseline_frozen_at: datetime | None = None
    open_stop_alerts: int = 0
    untriaged_review_alerts_overdue: int = 0   # review alerts older than the triage deadline and still open
    open_review_alerts: int = 0
    last_run_at: datetime | None = None
    last_severity: str | None = None           # ok / review / stop of the newest run
    details: dict = field(default_factory=dict)
    # Model probes of the version under decision (see monitoring.selectors.probes.probe_facts); None: no probes.
    probes: dict | None = None

    def as_dict(self) -> dict:
        """Return the JSON shape used in the CI status's `drift` block."""
        return {
            "configured": True,
            "policy_configured": self.policy_configured,
            "baseline_frozen": self.baseline_frozen,
            "baseline_frozen_at": self.baseline_frozen_at.isoformat() if self.baseline_frozen_at else None,
            "open_stop_alerts": self.open_stop_alerts,
            "open_review_alerts": self.open_review_alerts,
            "untriaged_review_alerts_overdue": self.untriaged_review_alerts_overdue,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "last_severity": self.last_severity,
            **self.details,
            "probes": self.probes,
        }


FactsProvider = Callable[[UseCase], MonitoringFacts]
ManyFactsProvider = Callable[[list[UseCase]], dict[int, MonitoringFacts]]
_provider: FactsProvider | None = None
_many_provider: ManyFactsProvider | None = None


def register_monitoring_facts(provider: FactsProvider, *, many: ManyFactsProvider | None = None) -> None:
    """Install the monitoring facts provider (monitoring calls this once at start-up), and its batch form."""
    global _provider, _many_provider
    _provider = provider
    _many_provider = many


def monitoring_facts(use_case: UseCase) -> MonitoringFacts | None:
    """Return the use case's monitoring facts, or None when no monitoring is installed."""
    return _provider(use_case) if _provider is not None else None


def monitoring_facts_many(use_cases: list[UseCase]) -> dict[int, MonitoringFacts | None]:
    """Return each use case's monitoring facts by id; in a fixed number of queries when monitoring offers a batch."""
    if _provider is None:
        return {use_case.pk: None for use_case in use_cases}
    if _many_provider is None:
        return {use_case.pk: _provider(use_case) for use_case in use_cases}
    facts: dict[int, MonitoringFacts | None] = dict(_many_provider(list(use_cases)))
    return facts
