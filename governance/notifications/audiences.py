"""Who hears of which event: the roles on the use case that must act on it."""
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from governance.models import NotificationEvent, Role, UseCase

GOVERNANCE_AND_PLATFORM = (Role.GOVERNANCE_OWNER, Role.PLATFORM_OWNER)
# Monitoring's TRIAGERS: the people who may triage an alert are the ones told it waits.
TRIAGERS = (Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER, Role.REVIEWER)
ACTING_ROLES = (Role.PRODUCT_OWNER, Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER, Role.REVIEWER)

# The roles told of each event; the signing events go to the gate's required roles instead (see the services).
EVENT_ROLES: dict[str, tuple[str, ...]] = {
    NotificationEvent.DECISION_FINAL: ACTING_ROLES,
    NotificationEvent.OBLIGATION_OVERDUE: (Role.GOVERNANCE_OWNER,),
    NotificationEvent.APPROVAL_EXPIRING: (Role.GOVERNANCE_OWNER, Role.PRODUCT_OWNER),
    NotificationEvent.REVIEW_ALERT: TRIAGERS,
    NotificationEvent.STOP_ALERT: GOVERNANCE_AND_PLATFORM,
    NotificationEvent.USE_CASE_HALTED: GOVERNANCE_AND_PLATFORM,
    NotificationEvent.SIGNING_LOCKED: (Role.GOVERNANCE_OWNER,),
}


def holders_of(*, use_case_ids: Iterable[int], roles: Iterable[str], exclude: Iterable[int] = ()) -> QuerySet:
    """Return the active people holding one of the roles on the use cases, each once."""
    return (get_user_model().objects.filter(
        is_active=True, memberships__use_case_id__in=list(use_case_ids), memberships__role__in=[str(r) for r in roles])
        .exclude(pk__in=list(exclude)).distinct().order_by("pk"))


def audience(*, event: str, use_case: UseCase, exclude: Iterable[int] = ()) -> list:
    """Return the people told of the event on this use case by its roles."""
    return list(holders_of(use_case_ids=[use_case.pk], roles=EVENT_ROLES[event], exclude=exclude))
