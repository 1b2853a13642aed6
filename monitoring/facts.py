"""The monitoring facts provider that governance's gate criteria and CI status read through `governance.facts`."""
from datetime import timedelta

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from governance.facts import MonitoringFacts
from governance.models import UseCase
from monitoring.models import Baseline, BaselineStatus, DriftRun, MonitoringPolicy, RunStatus
from monitoring.selectors.alerts import alert_open_counts, alert_open_counts_many
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
    return _facts(policy=policy, baseline=baseline, counts=counts, last_run=last_run, probes=probe_facts(use_case))


def monitoring_facts_for_many(use_cases: list[UseCase]) -> dict[int, MonitoringFacts]:
    """Return `monitoring_facts_for` of several use cases in four queries, whatever their number (list pages).

    The probe facts are left out (None): they concern the version under decision, which gates read one at a time.
    """
    ids = [use_case.pk for use_case in use_cases]
    policies = {policy.use_case_id: policy for policy in MonitoringPolicy.objects.filter(use_case_id__in=ids)}
    baselines = {baseline.use_case_id: baseline for baseline in Baseline.objects.filter(
        use_case_id__in=ids, status=BaselineStatus.FROZEN).only("id", "use_case_id", "frozen_at").order_by("frozen_at")}
    overdue_before = timezone.now() - timedelta(days=settings.DRIFTGATE_REVIEW_TRIAGE_DAYS)
    counts = alert_open_counts_many(use_case_ids=ids, overdue_before=overdue_before)
    # The newest verdict of each use case, as run_latest_finished picks it, by one correlated subquery.
    newest = (DriftRun.objects.filter(use_case_id=OuterRef("pk"), status=RunStatus.SUCCEEDED)
              .order_by("-window_end", "-id").values("id")[:1])
    newest_ids = UseCase.objects.filter(pk__in=ids).annotate(run_id=Subquery(newest)).values("run_id")
    runs = {run.use_case_id: run for run in DriftRun.objects.filter(pk__in=newest_ids)}
    empty = {"open_stop": 0, "open_review": 0, "review_overdue": 0}
    # Without probe facts: the list pages show no probe state, and reading them per use case would make the
    # batch's queries grow with the list; gates and the CI status read them through monitoring_facts_for.
    return {pk: _facts(policy=policies.get(pk), baseline=baselines.get(pk), counts=counts.get(pk, empty),
                       last_run=runs.get(pk), probes=None) for pk in ids}


def _facts(*, policy, baseline, counts: dict, last_run, probes: dict | None) -> MonitoringFacts:
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
        probes=probes,
    )
