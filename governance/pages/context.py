"""Template context for the layout: the signed-in person's use cases and their state, for the navigation."""
from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from driftgate.actors import Actor
from governance.models import Gate, GateStatus
from governance.notifications.inbox import inbox_unread_count
from governance.pages.labels import label
from governance.permissions import use_cases_visible_to

# The navigation lists this many use cases; the overview page lists them all.
NAV_USE_CASES = 12


def _nav_use_cases(request: HttpRequest) -> dict:
    # navigation() calls this for signed-in people only.
    actor = Actor.for_user(cast(User, request.user))
    use_cases = list(use_cases_visible_to(actor).order_by("slug").only("slug", "name", "stage", "halted")
                     [:NAV_USE_CASES + 1])
    pending = dict(Gate.objects.filter(use_case__in=[uc.pk for uc in use_cases[:NAV_USE_CASES]],
                                       status__in=[GateStatus.OPEN, GateStatus.IN_REVIEW])
                   .values_list("use_case_id", "number"))
    rows = [{"slug": uc.slug, "name": uc.name, "stage": uc.stage, "stage_label": label("stage", uc.stage),
             "halted": uc.halted, "open_gate": pending.get(uc.pk)} for uc in use_cases[:NAV_USE_CASES]]
    return {"rows": rows, "more": len(use_cases) > NAV_USE_CASES}


def navigation(request: HttpRequest) -> dict:
    """Add `nav` with `rows` and `more`, and `nav_unread` (unread notifications); lazy, so pages that do not show
    the navigation run no query."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {"rows": [], "more": False}, "nav_unread": 0}
    return {"nav": SimpleLazyObject(lambda: _nav_use_cases(request)),
            "nav_unread": SimpleLazyObject(lambda: str(inbox_unread_count(actor=Actor.for_user(cast(User, request.user)))))}
