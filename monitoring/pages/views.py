"""Monitoring pages: a use case's monitoring, one run, the review queue and an alert with its triage, stop and
resume. Thin over the selectors and services the API uses; who may see what is `use_cases_visible_to`."""
from datetime import UTC, datetime, time, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from driftgate.errors import ApplicationError
from governance.pages.views.common import actor_of, page, render_page
from governance.permissions import roles_of, use_cases_visible_to
from governance.selectors.inventory import use_case_get
from monitoring.models import ART73_DEADLINE_DAYS, Alert, AlertStatus, TrafficRecord
from monitoring.pages.charts import charts_for
from monitoring.pages.detection import detection_statements
from monitoring.pages.forms import AlertFilterForm, IncidentForm, RecordFilterForm, SignedReasonForm, TriageForm
from monitoring.selectors.alerts import alert_get_visible
from monitoring.selectors.overview import DEFAULT_DAYS, MAX_DAYS, monitoring_overview
from monitoring.selectors.runs import run_get_visible
from monitoring.services.alerts import (
    INCIDENT_CLASSIFIERS,
    STOP_CONFIRMERS,
    TRIAGERS,
    alert_mark_incident,
    alert_triage,
)
from monitoring.services.halts import alert_confirm_stop_signed, use_case_resume_signed

RECORDS_PER_PAGE = 50
QUEUE_LIMIT = 200


def _days(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("days", DEFAULT_DAYS)), MAX_DAYS))
    except ValueError:
        return DEFAULT_DAYS


@page()
def monitoring_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A use case's monitoring: state, every signal over time with tiers, significant runs and alerts."""
    use_case = use_case_get(actor=actor_of(request), slug=slug)
    overview = monitoring_overview(use_case=use_case, days=_days(request))
    return render_page(request, "monitoring/use_case.html", {
        "use_case": use_case, "overview": overview, "charts": charts_for(use_case=use_case, overview=overview),
        "detection": detection_statements(sample_size=overview["sample_size"], last_run=overview["last_succeeded"]),
        "nav_section": "monitoring",
        "current_use_case_slug": use_case.slug})


@page()
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    """One run: each signal's statistic, p-values, effect and tier, emerging topics, and the window's records."""
    run = run_get_visible(actor=actor_of(request), run_id=run_id)
    form = RecordFilterForm(request.GET or None)
    records = (TrafficRecord.objects.filter(use_case=run.use_case, timestamp__gte=run.window_start,
                                            timestamp__lt=run.window_end)
               .select_related("model_version").order_by("timestamp", "id"))
    if form.is_valid():
        if form.cleaned_data["segment"]:
            records = records.filter(segment=form.cleaned_data["segment"])
        if form.cleaned_data["model_version"]:
            records = records.filter(model_version__label=form.cleaned_data["model_version"])
    paginator = Paginator(records, RECORDS_PER_PAGE)
    page_obj = paginator.get_page(request.GET.get("page"))
    signals = list(run.signals.all())
    topics = [topic for signal in signals for topic in (signal.details or {}).get("emerging_topics") or []
              if isinstance(topic, dict)]
    query = request.GET.copy()
    query.pop("page", None)
    return render_page(request, "monitoring/run.html", {
        "run": run, "use_case": run.use_case, "signals": signals, "topics": topics, "form": form,
        "records": page_obj, "query": query.urlencode(), "alert": Alert.objects.filter(run=run).first(),
        "nav_section": "monitoring", "current_use_case_slug": run.use_case.slug})


@page()
def alert_queue_page(request: HttpRequest) -> HttpResponse:
    """The review queue across the person's use cases, oldest first, filtered by use case, severity, state, age."""
    actor = actor_of(request)
    visible = use_cases_visible_to(actor)
    form = AlertFilterForm(request.GET or {"status": AlertStatus.OPEN})
    alerts = Alert.objects.none()
    if form.is_valid():
        data = form.cleaned_data
        alerts = Alert.objects.filter(use_case__in=visible).select_related("use_case", "run")
        if data["use_case"]:
            alerts = alerts.filter(use_case__slug=data["use_case"])
        if data["severity"]:
            alerts = alerts.filter(severity=data["severity"])
        if data["status"]:
            alerts = alerts.filter(status=data["status"])
        if data["raised_since"]:
            alerts = alerts.filter(created_at__gte=datetime.combine(data["raised_since"], time.min, tzinfo=UTC))
        if data["raised_before"]:
            alerts = alerts.filter(created_at__lt=datetime.combine(data["raised_before"], time.min, tzinfo=UTC))
        alerts = alerts.order_by("created_at", "id")[:QUEUE_LIMIT]
    status = 400 if form.is_bound and form.errors else 200
    return render_page(request, "monitoring/alerts.html", {
        "form": form, "alerts": list(alerts), "use_cases": list(visible.order_by("slug").values_list("slug", "name")),
        "now": timezone.now(), "nav_section": "alerts"}, status=status)


def _alert_context(request: HttpRequest, alert: Alert, **forms) -> dict:
    roles = roles_of(actor_of(request), alert.use_case)
    deadline = None
    days = ART73_DEADLINE_DAYS.get(alert.incident_class) if alert.incident_class else None
    if days and alert.incident_aware_at:
        deadline = alert.incident_aware_at + timedelta(days=days)
    return {
        "alert": alert, "use_case": alert.use_case, "run": alert.run,
        "signals": list(alert.run.signals.all()),
        "triage_form": forms.get("triage_form") or TriageForm(prefix="triage"),
        "stop_form": forms.get("stop_form") or SignedReasonForm(prefix="stop"),
        "resume_form": forms.get("resume_form") or SignedReasonForm(prefix="resume"),
        "incident_form": forms.get("incident_form") or IncidentForm(prefix="incident"),
        "may_classify": bool(roles & set(INCIDENT_CLASSIFIERS)),
        "may_triage": bool(roles & set(TRIAGERS)), "may_stop": bool(roles & set(STOP_CONFIRMERS)),
        "deadline": deadline, "deadline_left": deadline - timezone.now() if deadline else None,
        "nav_section": "alerts", "current_use_case_slug": alert.use_case.slug,
    }


@page(("GET", "POST"))
def alert_page(request: HttpRequest, alert_id: int) -> HttpResponse:
    """An alert with the signals that raised it; triage it, confirm its stop, or resume the halted use case."""
    actor = actor_of(request)
    alert = alert_get_visible(actor=actor, alert_id=alert_id)
    if request.method == "GET":
        return render_page(request, "monitoring/alert.html", _alert_context(request, alert))
    action = request.POST.get("action")
    forms = {"triage": TriageForm(request.POST, prefix="triage"), "stop": SignedReasonForm(request.POST, prefix="stop"),
             "resume": SignedReasonForm(request.POST, prefix="resume"),
             "incident": IncidentForm(request.POST, prefix="incident")}
    form = forms.get(action or "")
    if form is None or not form.is_valid():
        return render_page(request, "monitoring/alert.html", _alert_context(request, alert), status=400)
    data = form.cleaned_data
    try:
        if action == "triage":
            alert_triage(actor=actor, alert=alert, verdict=data["verdict"], resolution=data["resolution"],
                         note=data["note"])
            messages.success(request, _("The alert is triaged."))
        elif action == "incident":
            aware_at = data["aware_at"].replace(tzinfo=UTC) if data["aware_at"] else None
            alert_mark_incident(actor=actor, alert=alert, incident_class=data["incident_class"], aware_at=aware_at)
            messages.success(request, _("The alert is marked as a serious incident; its reporting deadline runs."))
        elif action == "stop":
            alert_confirm_stop_signed(actor=actor, alert=alert, reason=data["reason"], password=data["password"])
            messages.success(request, _("The stop is confirmed: the use case is halted."))
        else:
            use_case_resume_signed(actor=actor, use_case=alert.use_case, reason=data["reason"],
                                   password=data["password"])
            messages.success(request, _("The use case is resumed."))
    except ApplicationError as exc:
        form.show_error(exc)
        context = _alert_context(request, alert, **{f"{action}_form": form})
        return render_page(request, "monitoring/alert.html", context, status=exc.status_code)
    return redirect("monitoring:alert", alert_id=alert.pk)
