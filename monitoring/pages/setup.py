"""The baseline and policy pages of a use case: build, freeze and replace a baseline, and edit the monitoring policy
through the same services (and so the same refusals) as the API."""
from datetime import UTC, datetime, time
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from driftgate.errors import ApplicationError
from governance.pages.views.common import actor_of, page, render_page
from governance.permissions import roles_of
from governance.selectors.inventory import use_case_get
from monitoring.drift import Policy
from monitoring.models import BaselineStatus, MonitoringPolicy
from monitoring.pages.forms import BaselineBuildForm, BaselineFreezeForm, PolicyForm
from monitoring.selectors.baseline_view import baseline_clusters
from monitoring.selectors.baselines import baseline_get, baselines_for_use_case
from monitoring.services.baselines import BUILDER_ROLES, baseline_create, baseline_freeze
from monitoring.services.policies import POLICY_EDITORS, policy_configure, policy_defaults
from monitoring.tasks.embedding import enqueue_baseline


def _midnight(value) -> datetime | None:
    return datetime.combine(value, time.min, tzinfo=UTC) if value else None


def _baseline_context(request: HttpRequest, use_case, **forms) -> dict:
    actor = actor_of(request)
    baselines = list(baselines_for_use_case(actor=actor, use_case=use_case))
    frozen = next((baseline for baseline in baselines if baseline.status == BaselineStatus.FROZEN), None)
    return {"use_case": use_case, "baselines": baselines, "frozen": frozen,
            "clusters": baseline_clusters(frozen) if frozen else [],
            "may_build": bool(roles_of(actor, use_case) & set(BUILDER_ROLES)),
            "build_form": forms.get("build_form") or BaselineBuildForm(prefix="build"),
            "freeze_form": forms.get("freeze_form") or BaselineFreezeForm(prefix="freeze"),
            "nav_section": "monitoring", "current_use_case_slug": use_case.slug}


@page(("GET", "POST"))
def baselines_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The use case's baselines: the frozen one with its clusters, and building, freezing or replacing one."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    if request.method == "GET":
        return render_page(request, "monitoring/baselines.html", _baseline_context(request, use_case))
    if request.POST.get("action") == "freeze":
        form = BaselineFreezeForm(request.POST, prefix="freeze")
        form.is_valid()
        try:
            baseline = baseline_get(actor=actor, baseline_id=int(request.POST.get("baseline", "0") or 0))
            baseline_freeze(actor=actor, baseline=baseline, reason=form.cleaned_data.get("reason", ""))
        except (ApplicationError, ValueError) as exc:
            if isinstance(exc, ValueError):
                form.add_error(None, _("Choose a baseline to freeze."))
            else:
                form.show_error(exc)
            return render_page(request, "monitoring/baselines.html",
                               _baseline_context(request, use_case, freeze_form=form), status=400)
        messages.success(request, _("The baseline is frozen; runs compare with it from now on."))
        return redirect("monitoring:baselines", slug=use_case.slug)
    build_form = BaselineBuildForm(request.POST, prefix="build")
    if build_form.is_valid():
        data = build_form.cleaned_data
        try:
            baseline = baseline_create(actor=actor, use_case=use_case, start=_midnight(data["start"]),
                                       end=_midnight(data["end"]), sample_size=data["sample_size"] or 10_000,
                                       reason=data["reason"])
        except ApplicationError as exc:
            build_form.show_error(exc)
        else:
            # Computed and frozen by the embed worker (here, without a broker, before the reply).
            enqueue_baseline(baseline, request_id=actor.request_id)
            messages.success(request, _("Baseline %(id)s is being built; it is frozen when it is computed.")
                             % {"id": baseline.pk})
            return redirect("monitoring:baselines", slug=use_case.slug)
    return render_page(request, "monitoring/baselines.html", _baseline_context(request, use_case, build_form=build_form),
                       status=400)


def _policy_form(use_case, data=None) -> PolicyForm:
    stored = MonitoringPolicy.objects.filter(use_case=use_case).first() or policy_defaults(use_case=use_case)
    policy = Policy.from_dict(stored.config or {})
    initial: dict[str, Any] = {"enabled": stored.enabled, "auto_halt": stored.auto_halt, "window_hours": stored.window_hours,
               "sample_size": stored.sample_size, "material_degradation": stored.material_degradation,
               "alpha": policy.alpha}
    for name, (review, stop) in policy.tiers.items():
        initial[f"review_{name}"], initial[f"stop_{name}"] = review, stop
    for name, cap in policy.max_severity.items():
        initial[f"cap_{name}"] = cap
    return PolicyForm(data, initial=initial, tiers=policy.tiers, caps=policy.max_severity)


@page(("GET", "POST"))
def policy_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The monitoring policy as a form; the engine's own validation refuses a bad one, beside the field."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    form = _policy_form(use_case, request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                policy_configure(actor=actor, use_case=use_case, config=form.config(), auto_halt=data["auto_halt"],
                                 window_hours=data["window_hours"], sample_size=data["sample_size"],
                                 material_degradation=data["material_degradation"], enabled=data["enabled"])
            except ApplicationError as exc:
                if exc.code == "invalid_policy":
                    form.show_policy_error(exc)
                else:
                    form.show_error(exc)
                status = exc.status_code
            else:
                messages.success(request, _("The monitoring policy is saved."))
                return redirect("monitoring:policy", slug=use_case.slug)
    return render_page(request, "monitoring/policy.html", {
        "use_case": use_case, "form": form, "may_edit": bool(roles_of(actor, use_case) & set(POLICY_EDITORS)),
        "nav_section": "monitoring", "current_use_case_slug": use_case.slug}, status=status)
