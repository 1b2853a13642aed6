"""Obligations: a use case's list, the signed-in person's own, and fulfilling one."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from driftgate.errors import ApplicationError
from governance.models import ObligationStatus
from governance.pages.forms import FulfilForm
from governance.pages.views.common import actor_of, page, render_page, safe_next
from governance.permissions import roles_of
from governance.selectors.gates import obligation_get, obligations_of_use_case
from governance.selectors.inventory import use_case_get
from governance.selectors.work import obligations_owned
from governance.services.obligations import obligation_fulfil


def _rows(obligations, *, user, forms=None) -> list[dict]:
    forms = forms or {}
    return [{"obligation": obligation, "overdue": obligation.is_overdue(),
             "may_fulfil": obligation.status == ObligationStatus.OPEN and (
                 obligation.owner_id == user.pk or "governance_owner" in getattr(obligation, "_roles", set())),
             "form": forms.get(obligation.pk) or FulfilForm(prefix=f"obligation-{obligation.pk}")}
            for obligation in obligations]


@page()
def my_obligations(request: HttpRequest) -> HttpResponse:
    """The signed-in person's open obligations, soonest due first."""
    return _mine(request)


def _mine(request: HttpRequest, forms=None, status: int = 200) -> HttpResponse:
    obligations = obligations_owned(actor=actor_of(request))
    return render_page(request, "governance/obligations.html",
                       {"rows": _rows(obligations, user=request.user, forms=forms), "mine": True,
                        "today": timezone.localdate(), "nav_section": "obligations"}, status=status)


@page()
def use_case_obligations(request: HttpRequest, slug: str) -> HttpResponse:
    """Every obligation of one use case."""
    return _of_use_case(request, slug)


def _of_use_case(request: HttpRequest, slug: str, forms=None, status: int = 200) -> HttpResponse:
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    roles = roles_of(actor, use_case)
    obligations = list(obligations_of_use_case(actor=actor, slug=slug).order_by("status", "due_date", "id"))
    for obligation in obligations:
        obligation._roles = roles  # type: ignore[attr-defined]  # read by the page's template tags
    return render_page(request, "governance/obligations.html",
                       {"rows": _rows(obligations, user=request.user, forms=forms), "use_case": use_case,
                        "mine": False, "today": timezone.localdate(), "current_use_case_slug": slug,
                        "nav_section": "obligations"}, status=status)


@page(("POST",))
def obligation_fulfil_page(request: HttpRequest, obligation_id: int) -> HttpResponse:
    """Close an obligation as fulfilled, saying how (and where the evidence is)."""
    actor = actor_of(request)
    obligation = obligation_get(actor=actor, obligation_id=obligation_id)
    form = FulfilForm(request.POST, prefix=f"obligation-{obligation.pk}")
    if form.is_valid():
        try:
            obligation_fulfil(actor=actor, obligation=obligation, resolution=form.cleaned_data["resolution"],
                              evidence_url=form.cleaned_data["evidence_url"])
        except ApplicationError as exc:
            if exc.code == "obligation_not_open":
                messages.info(request, _("This obligation is already closed."))
                return redirect(safe_next(request, "governance:obligations-mine"))
            form.show_error(exc)
        else:
            messages.success(request, _("The obligation is fulfilled."))
            return redirect(safe_next(request, "governance:obligations-mine"))
    forms = {obligation.pk: form}
    if request.POST.get("from") == "use-case":
        return _of_use_case(request, obligation.use_case.slug, forms=forms, status=400)
    return _mine(request, forms=forms, status=400)
