"""What every page view shares: the actor, service refusals turned into responses, and the 404 of invisibility."""
from collections.abc import Callable
from functools import wraps
from typing import cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from driftgate.actors import Actor
from driftgate.errors import ApplicationError, NotFound
from governance.models import AuditEvent
from governance.pages.messages import error_message


def actor_of(request: HttpRequest) -> Actor:
    """Return the signed-in person as the services' actor, with the request id for the audit log."""
    # Every page is behind login_required, so the user is a signed-in person, never the anonymous one.
    return Actor.for_user(cast(User, request.user), request_id=getattr(request, "request_id", ""))


def page(methods: tuple[str, ...] = ("GET",)) -> Callable:
    """Decorate a page view: sign-in required, allowed methods, and a NotFound from a selector becomes a 404."""
    def decorate(view: Callable) -> Callable:
        @login_required
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                # Not visible and not existing look the same, as in the API.
                raise Http404(exc.message) from exc
        return wrapper
    return decorate


def audit_head() -> int:
    """Return the newest audit sequence: a form carries it so a refusal can list what happened since."""
    return AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0


def changes_since(*, use_case_id: int, seen: int | None, object_keys: list[tuple[str, str]] | None = None,
                  limit: int = 20) -> list[AuditEvent]:
    """Return the use case's audit events after `seen` (optionally only those about the given objects)."""
    if seen is None:
        return []
    events = AuditEvent.objects.filter(use_case_id=use_case_id, sequence__gt=seen).exclude(action="signature.failed")
    if object_keys:
        condition = Q(pk__in=[])
        for object_type, object_id in object_keys:
            condition |= Q(object_type=object_type, object_id=object_id)
        events = events.filter(condition)
    return list(events.order_by("sequence")[:limit])


def safe_next(request: HttpRequest, fallback: str) -> str:
    """Return the posted `next` when it points into this site, else the fallback."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def render_page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """Render a full page, or only its partial when htmx asks for one (`partial` in the context)."""
    partial = context.get("partial")
    htmx = getattr(request, "htmx", None)  # set by django-htmx's middleware
    if partial and htmx and not htmx.boosted:
        return render(request, partial, context, status=status)
    return render(request, template, context, status=status)


def refusal_text(exc: ApplicationError) -> str:
    """Return a service refusal's text for a message banner (actions without a form field to put it by)."""
    return error_message(exc.code, exc.message)
