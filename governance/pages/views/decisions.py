"""Deciding and signing: propose with conditions, see exactly what the signature states, then sign; co-sign."""
from typing import cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from driftgate.accounts import sso_provider_name
from driftgate.errors import ApplicationError, Conflict
from governance.content import decision_content_hash
from governance.models import DecisionOutcome, GateStatus, Membership
from governance.pages.forms import ConditionFormSet, DecideForm, SignForm
from governance.pages.labels import label
from governance.pages.views.common import actor_of, audit_head, changes_since, page, refusal_text, render_page
from governance.pages.workspace import workspace
from governance.permissions import roles_of
from governance.selectors.gates import decision_get, gate_get
from governance.services.decisions import decision_preview, decision_sign, gate_decide, signature_meaning
from governance.sso.reauth import (
    oidc_signing_required,
    reauthentication_confirmed_at,
    reauthentication_redirect,
    reauthentication_take,
    signing_csp,
    signing_form_restore,
)

# Changes to these objects alter what a signature is bound to; other events (a failed attempt) do not.
CONTENT_OBJECTS = ("governance.checklistitem", "governance.evidence", "governance.effectmeasurement")


def _owner_choices(use_case) -> list[tuple[str, str]]:
    people = {}
    for membership in Membership.objects.filter(use_case=use_case).select_related("user").order_by("user__username"):
        user = membership.user
        people[user.get_username()] = user.get_full_name() or user.get_username()
    return list(people.items())


def _signing_roles(gate, held: set[str], signed: frozenset[str] | set[str] = frozenset()) -> list[tuple[str, str]]:
    return [(role, label("role", role)) for role in gate.required_roles if role in held and role not in signed]


def _conditions(formset) -> list[dict]:
    rows = []
    for form in formset.forms:
        data = form.cleaned_data if form.is_valid() else {}
        if not any(data.get(key) for key in ("title", "owner", "due_date")):
            continue  # An empty row is the spare one the page offers; it is not a condition.
        rows.append({"title": data.get("title", ""), "owner": data.get("owner", ""),
                     "due_date": data["due_date"].isoformat() if data.get("due_date") else None})
    return rows


def _show_condition_error(formset, exc: ApplicationError) -> None:
    index, field = exc.extra.get("index"), exc.extra.get("field")
    filled = [form for form in formset.forms if form.is_valid() and any(form.cleaned_data.values())]
    if isinstance(index, int) and index < len(filled) and field in filled[index].fields:
        filled[index].add_error(field, refusal_text(exc))
    else:
        formset.forms[0].add_error(None, refusal_text(exc))


class _ReadyToSign(Exception):
    """The form came back from the provider's re-authentication: show it, checked, for the person to sign."""


def _oidc_context(request: HttpRequest, oidc_signing: bool) -> dict:
    if not oidc_signing:
        return {"oidc_signing": False}
    return {"oidc_signing": True, "sso_provider": sso_provider_name(),
            "reauthenticated_at": reauthentication_confirmed_at(request),
            "reauth_minutes": max(1, settings.DRIFTGATE_OIDC_REAUTH_MAX_AGE_SECONDS // 60)}


def _changes_after(gate, seen) -> list:
    events = changes_since(use_case_id=gate.use_case_id, seen=seen)
    return [event for event in events if event.object_type in CONTENT_OBJECTS]


@page(("GET", "POST"))
def decide_page(request: HttpRequest, gate_id: int) -> HttpResponse:
    """Propose a decision: first review what the signature will state, then sign with the password."""
    actor = actor_of(request)
    gate = gate_get(actor=actor, gate_id=gate_id)
    held = roles_of(actor, gate.use_case)
    owners = _owner_choices(gate.use_case)
    oidc_signing = oidc_signing_required(actor.user)
    # Back from the provider's re-authentication: the form as it was posted, shown again to be signed.
    restored = signing_form_restore(request) if request.method == "GET" and oidc_signing else None
    posted = request.POST if request.method == "POST" else restored
    form = DecideForm(posted, initial={"outcome": DecisionOutcome.GO})
    role_field = cast(forms.ChoiceField, form.fields["role"])
    role_field.choices = _signing_roles(gate, held)
    formset = ConditionFormSet(posted, prefix="conditions", form_kwargs={"owners": owners})
    preview, stale, status = None, None, 200
    if posted is not None:
        valid = form.is_valid() & formset.is_valid()
        status = 400
        if valid:
            data = form.cleaned_data
            conditions = _conditions(formset)
            try:
                preview = decision_preview(gate=gate, outcome=data["outcome"], rationale=data["rationale"],
                                           conditions=conditions)
                if posted.get("step") == "sign":
                    if posted.get("preview_hash") != preview["content_hash"]:
                        stale = _changes_after(gate, int(posted.get("seen") or 0)) or [None]
                        raise Conflict("", code="stale_form")
                    if restored is None:
                        reauthentication = None
                        if oidc_signing:
                            reauthentication = reauthentication_take(request)
                            if reauthentication is None:
                                return reauthentication_redirect(request, return_to=request.path)
                        decision = gate_decide(actor=actor, gate=gate, outcome=data["outcome"],
                                               rationale=data["rationale"], conditions=conditions,
                                               role=data["role"], password=data["password"],
                                               reauthentication=reauthentication)
                        messages.success(request, _("The decision is proposed and signed."))
                        return redirect("governance:decision", decision_id=decision.pk)
                status = 200
            except ApplicationError as exc:
                if exc.code == "invalid_conditions":
                    _show_condition_error(formset, exc)
                elif exc.code == "already_decided":
                    messages.error(request, refusal_text(exc))
                    return redirect("governance:gate", gate_id=gate.pk)
                else:
                    form.show_error(exc)
                status = exc.status_code
    role = form.cleaned_data.get("role") if form.is_bound and hasattr(form, "cleaned_data") else None
    role = role or (role_field.choices[0][0] if role_field.choices else None)
    outcome = (form.cleaned_data.get("outcome") if form.is_bound and hasattr(form, "cleaned_data") else None) \
        or DecisionOutcome.GO
    context = {
        **workspace(gate, roles=held, item_forms={}), "gate": gate, "use_case": gate.use_case, "form": form,
        "formset": formset, "preview": preview, "stale": stale,
        "seen": (posted.get("seen") if posted is not None else None) or audit_head(),
        **_oidc_context(request, oidc_signing),
        "current_use_case_slug": gate.use_case.slug, "nav_section": "use-cases",
        "may_decide": gate.status == GateStatus.IN_REVIEW and bool(role_field.choices)
        and gate.requested_by_id != actor.person.pk,
        "self_requested": gate.requested_by_id == actor.person.pk,
        "statement": {"printed_name": actor.person.get_full_name() or actor.person.get_username(),
                      "meaning": signature_meaning(outcome, role) if role else "",
                      "role": label("role", role) if role else "", "time": timezone.now()},
    }
    response = render_page(request, "governance/decide.html", context, status=status)
    return signing_csp(response) if oidc_signing else response


@page(("GET", "POST"))
def decision_page(request: HttpRequest, decision_id: int) -> HttpResponse:
    """A decision with its signatures; co-signers see what their signature states and sign here."""
    actor = actor_of(request)
    decision = decision_get(actor=actor, decision_id=decision_id)
    gate = gate_get(actor=actor, gate_id=decision.gate_id)
    decision.gate = gate
    held = roles_of(actor, gate.use_case)
    signatures = list(decision.signatures.select_related("signer").order_by("signed_at", "id"))
    signed_roles = {sig.role for sig in signatures}
    already = any(sig.signer_id == actor.person.pk for sig in signatures)
    oidc_signing = oidc_signing_required(actor.user)
    restored = signing_form_restore(request) if request.method == "GET" and oidc_signing else None
    posted = request.POST if request.method == "POST" else restored
    form = SignForm(posted)
    role_field = cast(forms.ChoiceField, form.fields["role"])
    role_field.choices = [] if already else _signing_roles(gate, held, signed_roles)
    current_hash = decision_content_hash(decision)
    stale, status = None, 200
    if posted is not None:
        status = 400
        if form.is_valid():
            try:
                if posted.get("preview_hash") != current_hash:
                    stale = _changes_after(gate, int(posted.get("seen") or 0)) or [None]
                    raise Conflict("", code="stale_form")
                if restored is not None:
                    raise _ReadyToSign
                reauthentication = None
                if oidc_signing:
                    reauthentication = reauthentication_take(request)
                    if reauthentication is None:
                        return reauthentication_redirect(request, return_to=request.path)
                decision_sign(actor=actor, decision=decision, role=form.cleaned_data["role"],
                              password=form.cleaned_data["password"], reauthentication=reauthentication)
            except _ReadyToSign:
                status = 200
            except ApplicationError as exc:
                if exc.code in ("already_decided", "signer_already_signed", "role_already_signed"):
                    messages.error(request, refusal_text(exc))
                    return redirect("governance:decision", decision_id=decision.pk)
                form.show_error(exc)
                status = exc.status_code
            else:
                messages.success(request, _("Your signature is recorded."))
                return redirect("governance:decision", decision_id=decision.pk)
    changed_since_signing = []
    if signatures and current_hash != decision.content_hash:
        first_signed = min(sig.signed_at for sig in signatures)
        changed_since_signing = [event for event in _changes_after(gate, 0) if event.created_at > first_signed]
    role = role_field.choices[0][0] if role_field.choices else None
    context = {
        "decision": decision, "gate": gate, "use_case": gate.use_case, "form": form, "current_hash": current_hash,
        "content_changed": current_hash != decision.content_hash, "changed_since_signing": changed_since_signing,
        "signatures": [{"signature": sig, "valid": sig.content_hash == current_hash,
                        "role_label": label("role", sig.role)} for sig in signatures],
        "missing_roles": [label("role", role_) for role_ in gate.required_roles if role_ not in signed_roles],
        "may_sign": bool(role_field.choices) and decision.status == "pending"
        and gate.requested_by_id != actor.person.pk,
        "self_requested": gate.requested_by_id == actor.person.pk, "already_signed": already,
        "stale": stale, "seen": audit_head(), "current_use_case_slug": gate.use_case.slug, "nav_section": "use-cases",
        **_oidc_context(request, oidc_signing),
        "statement": {"printed_name": actor.person.get_full_name() or actor.person.get_username(),
                      "meaning": signature_meaning(decision.outcome, role) if role else "",
                      "role": label("role", role) if role else "", "time": timezone.now()},
        "outcome_label": label("outcome", decision.outcome),
        "conditions": decision.conditions, "owners": dict(_owner_choices_by_id(gate.use_case)),
    }
    response = render_page(request, "governance/decision.html", context, status=status)
    return signing_csp(response) if oidc_signing else response


def _owner_choices_by_id(use_case) -> list[tuple[int, str]]:
    people = {}
    for membership in Membership.objects.filter(use_case=use_case).select_related("user"):
        people[membership.user_id] = membership.user.get_full_name() or membership.user.get_username()
    return list(people.items())
