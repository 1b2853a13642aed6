"""Audit-log pages: the events a person may read, filtered; one event with its before/after as a diff, its hash and
previous hash; and the chain verification with its result (namespace `audit`)."""
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from driftgate.canonical import canonical_json
from governance.audit import audit_verify_chain
from governance.pages.views.common import actor_of, page, render_page
from governance.permissions import use_cases_visible_to
from governance.selectors.audit import audit_events_visible_to

EVENTS_PER_PAGE = 50


class AuditFilterForm(forms.Form):
    """Filters of the audit log; a malformed date is refused beside its field and filters nothing."""

    use_case = forms.CharField(label=_("Use case"), required=False)
    action = forms.CharField(label=_("Action (a trailing dot selects a family, e.g. gate.)"), required=False)
    actor = forms.CharField(label=_("Actor"), required=False)
    since = forms.DateField(label=_("From (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])
    until = forms.DateField(label=_("To, inclusive (YYYY-MM-DD)"), required=False, input_formats=["%Y-%m-%d"])


def _day(value, *, offset: int = 0) -> datetime | None:
    return datetime.combine(value + timedelta(days=offset), time.min, tzinfo=UTC) if value else None


@page()
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit events the person may read, newest first."""
    actor = actor_of(request)
    form = AuditFilterForm(request.GET or None)
    events = audit_events_visible_to(actor=actor)
    if form.is_bound:
        if form.is_valid():
            data = form.cleaned_data
            events = audit_events_visible_to(actor=actor, use_case_slug=data["use_case"] or None,
                                             action=data["action"].strip() or None, since=_day(data["since"]),
                                             until=_day(data["until"], offset=1))
            if data["actor"].strip():
                events = events.filter(actor_display__icontains=data["actor"].strip())
        else:
            events = events.none()
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "events": Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page")),
               "query": query.urlencode(), "nav_section": "audit",
               "use_cases": list(use_cases_visible_to(actor).order_by("slug").values_list("slug", "name"))}
    return render_page(request, "governance/audit/list.html", context,
                       status=400 if form.is_bound and form.errors else 200)


def diff_rows(before, after) -> list[dict]:
    """Return the before/after of an event key by key: each value as canonical JSON and whether it changed."""
    before = before if isinstance(before, dict) else ({} if before is None else {"value": before})
    after = after if isinstance(after, dict) else ({} if after is None else {"value": after})
    rows = []
    for key in sorted(set(before) | set(after)):
        old = canonical_json(before[key]) if key in before else None
        new = canonical_json(after[key]) if key in after else None
        rows.append({"key": key, "before": old, "after": new, "changed": old != new})
    return rows


@page()
def audit_event(request: HttpRequest, sequence: int) -> HttpResponse:
    """One event: who did what to which object, its before/after as a diff, its hash and previous hash."""
    event = audit_events_visible_to(actor=actor_of(request)).filter(sequence=sequence).first()
    if event is None:
        raise Http404("This audit event does not exist or is not visible to you.")
    return render_page(request, "governance/audit/event.html", {
        "event": event, "rows": diff_rows(event.before, event.after), "nav_section": "audit"})


@page(("POST",))
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Walk the whole chain and show the result as the verification reports it, whatever fields it carries."""
    result = audit_verify_chain().as_dict()
    scalars = {key: value for key, value in result.items() if not isinstance(value, (list, dict))}
    lists = {key: value for key, value in result.items() if isinstance(value, list)}
    mappings = {key: value for key, value in result.items() if isinstance(value, dict)}
    return render_page(request, "governance/audit/verify.html", {
        "result": result, "scalars": scalars, "lists": lists, "mappings": mappings, "nav_section": "audit",
        "partial": "governance/audit/_verify.html"})


app_name = "audit"

urlpatterns = [
    path("audit/", audit_list, name="list"),
    path("audit/events/<int:sequence>/", audit_event, name="event"),
    path("audit/verify/", audit_verify, name="verify"),
]
