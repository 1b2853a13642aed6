"""Reading drift runs and their signals."""
from datetime import datetime

from django.db.models import QuerySet

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.models import UseCase
from governance.permissions import require_member, use_cases_visible_to
from monitoring.models import DriftRun, RunStatus


def runs_for_use_case(*, use_case: UseCase, severity: str | None = None, since: datetime | None = None,
                      until: datetime | None = None) -> QuerySet[DriftRun]:
    """Return the use case's runs, newest window first, filtered by severity and window end."""
    queryset = DriftRun.objects.filter(use_case=use_case).select_related("use_case", "baseline").order_by(
        "-window_start", "-id")
    if severity:
        queryset = queryset.filter(severity=severity)
    if since:
        queryset = queryset.filter(window_end__gt=since)
    if until:
        queryset = queryset.filter(window_start__lt=until)
    return queryset


def run_get_visible(*, actor: Actor, run_id: int) -> DriftRun:
    """Return a run with its signals, or NotFound when it doesn't exist or the actor may not see its use case."""
    run = (DriftRun.objects.filter(pk=run_id, use_case__in=use_cases_visible_to(actor))
           .select_related("use_case", "baseline").prefetch_related("signals").first())
    if run is None:
        raise NotFound(f"Drift run {run_id} does not exist or is not visible to you.", code="run_not_found",
                       extra={"id": run_id})
    require_member(actor=actor, use_case=run.use_case)
    return run


def run_latest_finished(*, use_case: UseCase) -> DriftRun | None:
    """Return the newest run that produced a verdict (skipped and failed runs say nothing about drift)."""
    return (DriftRun.objects.filter(use_case=use_case, status=RunStatus.SUCCEEDED)
            .order_by("-window_end", "-id").first())
