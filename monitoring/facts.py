"""The monitoring facts provider that governance's gate criteria and CI status read through `governance.facts`."""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from governance.facts import MonitoringFacts
from governance.models import UseCase
from monitoring.models import Baseline, BaselineStatus, MonitoringPolicy
from monitoring.selectors.alerts import alert_open_counts
from monitoring.selectors.probes import probe_facts
from monitoring.selectors.runs import run_latest_finished


def monitoring_facts_for(use_case: UseCase) -> MonitoringFacts:
    """Return what gates and the CI status need: policy, frozen baseline, open alerts, the newest run."""
    policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
    baseline = (Baseline.objects.filter(use_case=use_case, status=BaselineStatus.FROZEN)
                .only("id", "frozen_at").first())
    overdue_before = timezone.now() - timedelta(days=settings.DRIFTGATE_REVIEW_TRIAGE_DAYS)
    counts = alert_open_counts(use_case=use_case, overdue_before=overdue_before)
    last_run = run_latest_finished(use_case=use_case)
    return MonitoringFacts(
        policy_configured=bool(policy is not None and policy.enabled),
        baseline_frozen=baseline is not None,
        baseline_frozen_at=baseline.frozen_at if baseline is not None else None,
        open_stop_alerts=counts["open_stop"],
        untriaged_review_alerts_overdue=counts["review_overdue"],
        open_review_alerts=counts["open_review"],
        last_run_at=last_run.finished_at if last_run is not None else None,
        last_severity=last_run.severity if last_run is not None else None,
        details={
            "policy_enabled": policy.enabled if policy is not None else None,
            "auto_halt": policy.auto_halt if policy is not None else None,
            "baseline_id": baseline.pk if baseline is not None else None,
            "last_run_id": last_run.pk if last_run is not None else None,
            "last_window_end": last_run.window_end.isoformat() if last_run is not None else None,
            "review_triage_days": settings.DRIFTGATE_REVIEW_TRIAGE_DAYS,
        },
        probes=probe_facts(use_case),
    )
