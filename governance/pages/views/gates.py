"""The gate workspace: checklists with evidence, live criteria with links to what fixes them, and the request."""
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from driftgate.errors import ApplicationError
from governance.criteria import failing_criteria, gate_criteria
from governance.models import ChecklistItem
from governance.pages.forms import EvidenceForm, ItemForm
from governance.pages.versions import gate_version, item_version
from governance.pages.views.common import actor_of, audit_head, changes_since, page, refusal_text, render_page
from governance.pages.workspace import workspace
from governance.permissions import roles_of
from governance.selectors.gates import checklist_item_get, evidence_get, gate_get
from governance.services.checklists import checklist_item_update, evidence_add, evidence_remove
from governance.services.gates import gate_request_decision


def _gate_context(request: HttpRequest, gate, **extra) -> dict:
    actor = actor_of(request)
    roles = roles_of(actor, gate.use_case)
    context = {**workspace(gate, roles=roles, item_forms=extra.pop("item_forms", {})),
               "gate": gate, "use_case": gate.use_case, "roles": roles, "seen": audit_head(),
               "current_use_case_slug": gate.use_case.slug, "nav_section": "use-cases"}
    context.update(extra)
    return context


@page()
def gate_page(request: HttpRequest, gate_id: int) -> HttpResponse:
    """The workspace of one gate."""
    gate = gate_get(actor=actor_of(request), gate_id=gate_id)
    return render_page(request, "governance/gate.html", _gate_context(request, gate))


def _item_response(request: HttpRequest, item: ChecklistItem, *, form=None, evidence_form=None, status=200,
                   stale=None) -> HttpResponse:
    """Answer an item change: htmx gets the item and the refreshed criteria; a plain post goes back to the gate."""
    if getattr(request, "htmx", False):
        gate = gate_get(actor=actor_of(request), gate_id=item.checklist.gate_id)
        forms = {item.pk: {"form": form, "evidence_form": evidence_form, "stale": stale}}
        context = _gate_context(request, gate, item_forms=forms, focus_item=item.pk)
        context["row"] = next(row for section in context["checklists"] for group in section["sections"]
                              for row in group["items"] if row["item"].pk == item.pk)
        return render_page(request, "governance/gate.html", {**context, "partial": "governance/_item_update.html"},
                           status=status)
    if status == 200:
        return redirect(f"{reverse('governance:gate', args=[item.checklist.gate_id])}#item-{item.pk}")
    gate = gate_get(actor=actor_of(request), gate_id=item.checklist.gate_id)
    forms = {item.pk: {"form": form, "evidence_form": evidence_form, "stale": stale}}
    return render_page(request, "governance/gate.html", _gate_context(request, gate, item_forms=forms),
                       status=status)


def _stale(request: HttpRequest, item: ChecklistItem, posted_version: str) -> list | None:
    """Return what changed when the form was rendered against another state of the item (None if current)."""
    current = item_version(item)
    if not posted_version or posted_version == current:
        return None
    seen = request.POST.get("seen")
    keys = [(item._meta.label_lower, str(item.pk))] + [
        ("governance.evidence", str(pk)) for pk in item.evidence.values_list("pk", flat=True)]
    return changes_since(use_case_id=item.checklist.gate.use_case_id, seen=int(seen) if seen and seen.isdigit()
                         else None, object_keys=keys) or [None]


@page(("POST",))
def item_update(request: HttpRequest, item_id: int) -> HttpResponse:
    """Mark an item done, waived, not applicable or open again, with its ML Test Score credit."""
    actor = actor_of(request)
    item = checklist_item_get(actor=actor, item_id=item_id)
    form = ItemForm(request.POST, prefix=f"item-{item.pk}")
    if not form.is_valid():
        return _item_response(request, item, form=form, status=400)
    stale = _stale(request, item, form.cleaned_data["version"])
    if stale is not None:
        form.add_error(None, refusal_text(ApplicationError("", code="stale_form")))
        return _item_response(request, item, form=form, status=409, stale=stale)
    try:
        item = checklist_item_update(actor=actor, item=item, status=form.cleaned_data["status"],
                                     reason=form.cleaned_data["reason"],
                                     automation=form.cleaned_data["automation"] or None)
    except ApplicationError as exc:
        form.show_error(exc)
        return _item_response(request, item, form=form, status=exc.status_code)
    return _item_response(request, checklist_item_get(actor=actor, item_id=item_id))


@page(("POST",))
def evidence_upload(request: HttpRequest, item_id: int) -> HttpResponse:
    """Attach a file or URL to an item."""
    actor = actor_of(request)
    item = checklist_item_get(actor=actor, item_id=item_id)
    form = EvidenceForm(request.POST, request.FILES, prefix=f"evidence-{item.pk}")
    if not form.is_valid():
        return _item_response(request, item, evidence_form=form, status=400)
    stale = _stale(request, item, form.cleaned_data["version"])
    if stale is not None:
        form.add_error(None, refusal_text(ApplicationError("", code="stale_form")))
        return _item_response(request, item, evidence_form=form, status=409, stale=stale)
    try:
        evidence_add(actor=actor, item=item, name=form.cleaned_data["name"], file=form.cleaned_data["file"],
                     url=form.cleaned_data["url"])
    except ApplicationError as exc:
        form.show_error(exc)
        return _item_response(request, item, evidence_form=form, status=exc.status_code)
    return _item_response(request, item)


@page(("POST",))
def evidence_delete(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """Mark a piece of evidence removed (it stays in the trail)."""
    actor = actor_of(request)
    evidence = evidence_get(actor=actor, evidence_id=evidence_id)
    try:
        evidence_remove(actor=actor, evidence=evidence, reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, refusal_text(exc))
    item = checklist_item_get(actor=actor, item_id=evidence.item_id)
    return _item_response(request, item)


@page(("POST",))
def request_decision(request: HttpRequest, gate_id: int) -> HttpResponse:
    """Send the gate to its signers; when criteria fail, the first press only names what fails."""
    actor = actor_of(request)
    gate = gate_get(actor=actor, gate_id=gate_id)
    if request.POST.get("version") and request.POST["version"] != gate_version(gate):
        messages.error(request, refusal_text(ApplicationError("", code="stale_form")))
        return redirect("governance:gate", gate_id=gate.pk)
    failing = failing_criteria(gate_criteria(gate))
    if failing and request.POST.get("confirm") != "yes":
        context = _gate_context(request, gate, confirm_request=True)
        return render_page(request, "governance/gate.html", context, status=409)
    try:
        gate_request_decision(actor=actor, gate=gate)
    except ApplicationError as exc:
        messages.error(request, refusal_text(exc))
        return redirect("governance:gate", gate_id=gate.pk)
    messages.success(request, _("The decision is requested; the signers see it on their home page."))
    return redirect("governance:gate", gate_id=gate.pk)

