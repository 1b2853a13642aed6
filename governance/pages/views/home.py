"""Home ("my work") and the use-case pages: overview, one use case, and the inventory forms."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from driftgate.errors import ApplicationError
from governance.models import EffectMeasurement, Gate, GateStatus, Obligation, Stage
from governance.pages.charts import measurement_chart
from governance.pages.forms import (
    EffectGoalForm,
    MeasurementForm,
    MembershipGrantForm,
    ModelVersionForm,
    UseCaseCreateForm,
)
from governance.pages.labels import label
from governance.pages.views.common import actor_of, page, refusal_text, render_page
from governance.pages.views.notifications import inbox_rows
from governance.permissions import reads_whole_organisation, roles_of
from governance.selectors.inventory import (
    effect_goal_get,
    effect_goal_list,
    membership_get,
    membership_list,
    model_version_list,
    use_case_get,
    use_case_list,
)
from governance.selectors.work import my_work, use_case_rows
from governance.services.gates import gate_open
from governance.services.inventory import (
    effect_goal_create,
    effect_measurement_record,
    membership_grant_by_username,
    membership_revoke,
    model_version_register,
    use_case_create,
)

HOME_INBOX_SIZE = 8
# The stage a use case is in names the gate that leads on from it.
NEXT_GATE: dict[str, int] = {Stage.PILOT: 1, Stage.PRE_PRODUCTION: 2, Stage.PRODUCTION: 3}


@page()
def home(request: HttpRequest) -> HttpResponse:
    """What waits for the signed-in person, then their use cases."""
    actor = actor_of(request)
    context = {"work": my_work(actor=actor), "nav_section": "home", "today": timezone.localdate(),
               "reads_organisation": reads_whole_organisation(actor),
               "inbox": inbox_rows(request, limit=HOME_INBOX_SIZE)}
    return render_page(request, "governance/home.html", context)


@page(("GET", "POST"))
def use_case_list_page(request: HttpRequest) -> HttpResponse:
    """Every use case the person may read, and the form to register one."""
    actor = actor_of(request)
    form = UseCaseCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            use_case = use_case_create(actor=actor, slug=data["slug"], name=data["name"], purpose=data["purpose"],
                                       approach=data["approach"], base_model=data["base_model"],
                                       risk_tier=data["risk_tier"], regulatory_scopes=data["regulatory_scopes"])
        except ApplicationError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("The use case is registered; you are its product owner."))
            return redirect("governance:use-case", slug=use_case.slug)
    rows = use_case_rows(use_cases=list(use_case_list(actor=actor)), with_monitoring=False)
    status = 400 if form.is_bound and form.errors else 200
    return render_page(request, "governance/use_case_list.html",
                       {"rows": rows, "form": form, "nav_section": "use-cases"}, status=status)


def _use_case_context(request: HttpRequest, slug: str, **forms) -> dict:
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    roles = roles_of(actor, use_case)
    goals = list(effect_goal_list(use_case=use_case))
    measurements: dict[int, list] = {}
    for measurement in (EffectMeasurement.objects.filter(goal__in=goals).select_related("recorded_by")
                        .order_by("measured_at", "id")):
        measurements.setdefault(measurement.goal_id, []).append(measurement)
    head = {goal.pk: (measurements.get(goal.pk) or [None])[-1] for goal in goals}
    goal_rows = [{"goal": goal, "measurements": measurements.get(goal.pk, []), "latest": head[goal.pk],
                  "met": goal.is_met_by(head[goal.pk].value) if head[goal.pk] else None,
                  "chart": measurement_chart(goal, measurements.get(goal.pk, [])),
                  "form": forms.get("measurement_forms", {}).get(goal.pk) or MeasurementForm(
                      prefix=f"goal-{goal.pk}", initial={"seen": head[goal.pk].pk if head[goal.pk] else 0})}
                 for goal in goals]
    gates = list(Gate.objects.filter(use_case=use_case).select_related("opened_by", "requested_by")
                 .prefetch_related("decisions__signatures__signer").order_by("number", "-opened_at", "-id"))
    pending_numbers = {gate.number for gate in gates if gate.status in (GateStatus.OPEN, GateStatus.IN_REVIEW)}
    next_gate = NEXT_GATE.get(use_case.stage)
    return {
        "use_case": use_case, "roles": roles, "role_labels": [label("role", role) for role in sorted(roles)],
        "current_use_case_slug": use_case.slug, "nav_section": "use-cases",
        "members": list(membership_list(use_case=use_case)),
        "versions": list(model_version_list(use_case=use_case)),
        "goals": goal_rows, "gates": gates,
        "obligations": list(Obligation.objects.filter(use_case=use_case).select_related("owner")
                            .order_by("status", "due_date", "id")),
        "can_open_gate": next_gate is not None and next_gate not in pending_numbers and bool(
            roles & {"product_owner", "governance_owner"}),
        "next_gate": next_gate,
        "grant_form": forms.get("grant_form") or MembershipGrantForm(prefix="grant"),
        "version_form": forms.get("version_form") or ModelVersionForm(prefix="version"),
        "goal_form": forms.get("goal_form") or EffectGoalForm(prefix="goal"),
        "today": timezone.localdate(),
    }


@page()
def use_case_page(request: HttpRequest, slug: str) -> HttpResponse:
    """One use case: what it is, who holds which role, its models, effect goals, gates and obligations."""
    return render_page(request, "governance/use_case.html", _use_case_context(request, slug))


def _refused(request: HttpRequest, slug: str, status: int = 400, **forms) -> HttpResponse:
    return render_page(request, "governance/use_case.html", _use_case_context(request, slug, **forms), status=status)


@page(("POST",))
def member_grant(request: HttpRequest, slug: str) -> HttpResponse:
    """Give a person a role."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    form = MembershipGrantForm(request.POST, prefix="grant")
    if form.is_valid():
        try:
            membership_grant_by_username(actor=actor, use_case=use_case, username=form.cleaned_data["username"].strip(),
                                         role=form.cleaned_data["role"])
        except ApplicationError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("The role is granted."))
            return redirect("governance:use-case", slug=slug)
    return _refused(request, slug, grant_form=form)


@page(("POST",))
def member_revoke(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    """Take a role away."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    try:
        membership_revoke(actor=actor, membership=membership_get(use_case=use_case, membership_id=membership_id),
                          reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, refusal_text(exc))
    else:
        messages.success(request, _("The role is revoked."))
    return redirect("governance:use-case", slug=slug)


@page(("POST",))
def model_version_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Register a model version."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    form = ModelVersionForm(request.POST, prefix="version")
    if form.is_valid():
        data = form.cleaned_data
        try:
            model_version_register(actor=actor, use_case=use_case, label=data["label"], base_model=data["base_model"],
                                   adapter_method=data["adapter_method"], training_data_ref=data["training_data_ref"],
                                   training_data_sha256=data["training_data_sha256"], evaluation=form.evaluation())
        except ApplicationError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("The model version is registered as a candidate."))
            return redirect("governance:use-case", slug=slug)
    return _refused(request, slug, version_form=form)


@page(("POST",))
def effect_goal_add(request: HttpRequest, slug: str) -> HttpResponse:
    """Define an effect goal."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    form = EffectGoalForm(request.POST, prefix="goal")
    if form.is_valid():
        data = form.cleaned_data
        try:
            effect_goal_create(actor=actor, use_case=use_case, metric=data["metric"], target=data["target"],
                               direction=data["direction"], unit=data["unit"], description=data["description"])
        except ApplicationError as exc:
            form.show_error(exc)
        else:
            messages.success(request, _("The effect goal is added."))
            return redirect("governance:use-case", slug=slug)
    return _refused(request, slug, goal_form=form)


@page(("POST",))
def measurement_add(request: HttpRequest, slug: str, goal_id: int) -> HttpResponse:
    """Record a measurement; a form older than the goal's newest measurement is refused (double submit, race)."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    goal = effect_goal_get(use_case=use_case, goal_id=goal_id)
    form = MeasurementForm(request.POST, prefix=f"goal-{goal.pk}")
    if form.is_valid():
        data = form.cleaned_data
        newest = goal.measurements.order_by("-id").values_list("pk", flat=True).first() or 0
        if data["seen"] is not None and data["seen"] != newest:
            form.add_error(None, _("A measurement was recorded since you opened the page (latest: %(value)s); "
                                   "nothing was saved.") % {"value": goal.latest_value})  # type: ignore[attr-defined]  # annotated
        else:
            try:
                effect_measurement_record(actor=actor, goal=goal, value=data["value"], source=data["source"])
            except ApplicationError as exc:
                form.show_error(exc)
            else:
                messages.success(request, _("The measurement is recorded."))
                return redirect("governance:use-case", slug=slug)
    return _refused(request, slug, measurement_forms={goal.pk: form})


@page(("POST",))
def gate_open_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Open the gate that leads on from the use case's stage."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    try:
        number = int(request.POST.get("number", ""))
    except ValueError:
        number = 0
    try:
        gate = gate_open(actor=actor, use_case=use_case, number=number)
    except ApplicationError as exc:
        messages.error(request, refusal_text(exc))
        return redirect("governance:use-case", slug=slug)
    messages.success(request, _("Gate %(number)s is open.") % {"number": gate.number})
    return redirect("governance:gate", gate_id=gate.pk)

