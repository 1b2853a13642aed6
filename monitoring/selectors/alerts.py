"""Reading alerts: the review queue, counts for gates and the CI status."""
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from driftgate.actors import Actor
from driftgate.errors import NotFound
from governance.models import UseCase
from governance.permissions import require_member, use_cases_visible_to
from monitoring.models import Alert, AlertStatus, Severity, TriageVerdict


def alerts_for_use_case(*, use_case: UseCase, status: str | None = None,
                        severity: str | None = None) -> QuerySet[Alert]:
    """Return the use case's alerts, newest first, filtered by status and severity."""
    queryset = (Alert.objects.filter(use_case=use_case)
                .select_related("use_case", "run", "triaged_by", "stop_confirmed_by").order_by("-created_at", "-id"))
    if status:
        queryset = queryset.filter(status=status)
    if severity:
        queryset = queryset.filter(severity=severity)
    return queryset


def alert_get_visible(*, actor: Actor, alert_id: int) -> Alert:
    """Return an alert, or NotFound when it doesn't exist or the actor may not see its use case."""
    alert = (Alert.objects.filter(pk=alert_id, use_case__in=use_cases_visible_to(actor))
             .select_related("use_case", "run", "triaged_by", "stop_confirmed_by").first())
    if alert is None:
        raise NotFound(f"Alert {alert_id} does not exist or is not visible to you.", code="alert_not_found",
                       extra={"id": alert_id})
    require_member(actor=actor, use_case=alert.use_case)
    return alert


def _open_counts(overdue_before: datetime) -> dict[str, Count]:
    is_open = Q(status=AlertStatus.OPEN)
    # A stop found to be harmful keeps blocking until it is resolved (retrained or rolled back), not just triaged.
    blocking_stop = Q(severity=Severity.STOP) & (
        is_open | Q(status=AlertStatus.TRIAGED, verdict=TriageVerdict.HARMFUL_DEGRADATION))
    return {"open_stop": Count("id", filter=blocking_stop),
            "open_review": Count("id", filter=is_open & Q(severity=Severity.REVIEW)),
            "review_overdue": Count("id", filter=is_open & Q(severity=Severity.REVIEW,
                                                               created_at__lt=overdue_before))}


def alert_open_counts(*, use_case: UseCase, overdue_before: datetime) -> dict[str, int]:
    """Count open stop alerts, open review alerts and review alerts open since before `overdue_before`."""
    return Alert.objects.filter(use_case=use_case).aggregate(**_open_counts(overdue_before))


def alert_open_counts_many(*, use_case_ids: list[int], overdue_before: datetime) -> dict[int, dict[str, int]]:
    """Return `alert_open_counts` for several use cases in one query (use cases without alerts are absent)."""
    rows = (Alert.objects.filter(use_case_id__in=use_case_ids).values("use_case_id")
            .annotate(**_open_counts(overdue_before)).order_by())
    # The stubs type values() rows with the grouping key only, not the annotated counts.
    return {row.pop("use_case_id"): row for row in rows}  # type: ignore[misc]
