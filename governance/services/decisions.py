"""Go / no-go decisions on gates and their Part 11-style e-signatures.

A signer re-enters their password at every signing (21 CFR 11.200: both identification components, each time), or,
signing in only through OpenID Connect, signs in at the provider again (`reauthentication`); the signature records
which, and when.
A wrong password is refused and, in its own transaction after the refusal, recorded as `signature.failed`: Part 11
expects attempted misuse to be detectable, and the attempt must not roll back with the refused signing. Repeated
failures lock signing for a while and are reported to the governance owners (`signing_lockout`).
"""
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_date

from driftgate.actors import Actor, ActorKind
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import AuditAction, audit_record
from governance.content import decision_content, decision_content_hash, gate_content_hash
from governance.criteria import failing_criteria, gate_criteria
from governance.models import (
    Decision,
    DecisionOutcome,
    DecisionStatus,
    Gate,
    GateStatus,
    ModelVersion,
    ModelVersionStatus,
    Role,
    Signature,
    SignatureMethod,
    Stage,
    UseCase,
)
from governance.notifications.events import notify_decision_final, notify_signature_needed
from governance.permissions import require_role, roles_of
from governance.services.gates import gate_view, lock_gate
from governance.services.inventory import is_evaluated, model_version_view
from governance.services.obligations import create_obligation_locked, default_due_date, validate_obligation_owner
from governance.services.reauthentication import (
    OidcReauthentication,
    SignerProof,
    oidc_proof_check_fresh,
    oidc_proof_mismatch,
    password_proof,
)
from governance.services.signing_lockout import reauthenticate, signing_failure_record, signing_lock_check

NEXT_STAGE = {1: Stage.PRE_PRODUCTION, 2: Stage.PRODUCTION}
_MEANING: dict[str, str] = {
    DecisionOutcome.GO: "approved",
    DecisionOutcome.GO_WITH_CONDITIONS: "approved with conditions",
    DecisionOutcome.NO_GO: "rejected",
}


def decision_view(decision: Decision) -> dict:
    """Return the decision's fields as recorded in audit events."""
    return {"gate": decision.gate_id, "outcome": decision.outcome, "status": decision.status,
            "rationale": decision.rationale, "conditions": decision.conditions, "content_hash": decision.content_hash,
            "finalized_at": decision.finalized_at}


def signature_meaning(outcome: str, role: str) -> str:
    """Return what a signature in this role on this outcome states ("approved as governance owner")."""
    return f"{_MEANING[outcome]} as {Role(role).label.lower()}"


def _clean_proposal(outcome: str, rationale: str) -> str:
    if outcome not in DecisionOutcome.values:
        raise ValidationFailed(f"Unknown outcome {outcome!r}.", code="invalid_outcome",
                               extra={"valid": DecisionOutcome.values})
    rationale = (rationale or "").strip()
    if not rationale:
        raise ValidationFailed("A decision needs a rationale.", code="rationale_required")
    return rationale


def decision_preview(*, gate: Gate, outcome: str, rationale: str, conditions: list | None) -> dict:
    """Return what proposing this decision would sign now (normalised conditions and the content hash); no write."""
    rationale = _clean_proposal(outcome, rationale)
    normalised = _normalise_conditions(use_case=gate.use_case, outcome=outcome, conditions=conditions)
    content = decision_content(outcome=outcome, rationale=rationale, conditions=normalised)
    return {"conditions": content["conditions"], "rationale": rationale,
            "content_hash": gate_content_hash(gate, decision=content)}


def _authenticate_signer(*, actor: Actor, use_case: UseCase, required_roles: list[str], role: str, password: str,
                         target: Model, reauthentication: OidcReauthentication | None = None) -> SignerProof:
    """Check who may sign before any lock is taken; a failed re-authentication is recorded in its own transaction.

    The signer proves who they are with the password re-entered, or with a fresh OpenID Connect login at the
    provider (people who sign in only through it). Both count towards the same signing lockout.
    """
    authorise = partial(_check_role, actor=actor, use_case=use_case, required_roles=required_roles, role=role)
    if reauthentication is None:
        # The password path is the one stop confirmations and resumes take too: one rule, one lockout.
        reauthenticate(actor=actor, password=password, use_case=use_case, target=target, what="sign", done="signed",
                       person_code="signature_requires_person", role=role, authorise=authorise)
        return password_proof()
    if actor.kind != ActorKind.USER or actor.user is None or not actor.user.is_authenticated:
        raise PermissionRefused("Only a signed-in person can sign; tokens cannot.", code="signature_requires_person")
    authorise()
    # Before the proof is checked: a locked person learns nothing from the provider's answer.
    signing_lock_check(user=actor.user)
    mismatch = oidc_proof_mismatch(user=actor.user, proof=reauthentication)
    if mismatch:
        signing_failure_record(actor=actor, use_case=use_case, target=target, role=role, reason=mismatch,
                               method=SignatureMethod.OIDC)
        raise PermissionRefused("The provider confirmed someone else; nothing was signed.",
                                code="reauthentication_other_person")
    return oidc_proof_check_fresh(proof=reauthentication)


def _check_role(*, actor: Actor, use_case: UseCase, required_roles: list[str], role: str) -> None:
    if role not in required_roles:
        raise ValidationFailed(f"This gate is signed by {', '.join(required_roles)}; {role!r} is not one of them.",
                               code="role_not_required", extra={"required_roles": required_roles, "role": role})
    # No superuser bypass here: a signature states that this person holds this role.
    held = roles_of(actor, use_case)
    if role not in held:
        raise PermissionRefused(f"You do not hold the role {role} on {use_case.slug!r}.", code="missing_role",
                                extra={"role": role, "held_roles": sorted(held)})


def _check_signer_locked(*, actor: Actor, gate: Gate, role: str) -> None:
    """Repeat the signer checks that depend on state, under the gate lock."""
    _check_role(actor=actor, use_case=gate.use_case, required_roles=gate.required_roles, role=role)
    if gate.requested_by_id is not None and gate.requested_by_id == actor.person.pk:
        raise PermissionRefused("You requested this decision, so you cannot sign it.", code="self_approval")


def _normalise_conditions(*, use_case: UseCase, outcome: str, conditions: list | None) -> list[dict]:
    conditions = conditions or []
    if not isinstance(conditions, list):
        raise ValidationFailed("Conditions must be a list.", code="invalid_conditions")
    if outcome == DecisionOutcome.GO_WITH_CONDITIONS and not conditions:
        raise ValidationFailed("A go with conditions needs at least one condition.", code="conditions_required")
    if outcome != DecisionOutcome.GO_WITH_CONDITIONS and conditions:
        raise ValidationFailed("Only a go with conditions carries conditions.", code="conditions_not_allowed")
    users = get_user_model().objects
    normalised = []
    for index, condition in enumerate(conditions):
        if not isinstance(condition, dict) or not str(condition.get("title") or "").strip():
            raise ValidationFailed(f"Condition {index + 1} needs a title.", code="invalid_conditions",
                                   extra={"index": index, "field": "title"})
        owner_ref = condition.get("owner_id") or condition.get("owner")
        owner = (users.filter(pk=owner_ref).first() if isinstance(owner_ref, int)
                 else users.filter(username=str(owner_ref or "")).first())
        try:
            validate_obligation_owner(use_case=use_case, owner=owner)
        except ValidationFailed as exc:
            raise ValidationFailed(f"Condition {index + 1} needs an owner who holds a role on the use case.",
                                   code="invalid_conditions", extra={"index": index, "field": "owner"}) from exc
        assert owner is not None  # validate_obligation_owner refuses a missing owner
        raw_due = condition.get("due_date")
        due = raw_due if isinstance(raw_due, date) else (parse_date(str(raw_due)) if raw_due else default_due_date())
        if due is None or due < timezone.localdate():
            raise ValidationFailed(f"Condition {index + 1} needs a due date (YYYY-MM-DD) that is not in the past.",
                                   code="invalid_conditions", extra={"index": index, "field": "due_date"})
        normalised.append({"title": str(condition["title"]).strip()[:300],
                           "description": str(condition.get("description") or "").strip(),
                           "owner_id": owner.pk, "due_date": due.isoformat()})
    return normalised


def _require_criteria(gate: Gate, outcome: str) -> list[dict]:
    results = gate_criteria(gate)
    failing = failing_criteria(results)
    if outcome != DecisionOutcome.NO_GO and failing:
        raise Conflict("A go decision needs every automated criterion to pass.", code="criteria_not_met",
                       extra={"failing": failing})
    return results


def _sign_locked(*, actor: Actor, decision: Decision, role: str, proof: SignerProof) -> Signature:
    user = actor.person
    signature = Signature(decision=decision, signer=user, role=role,
                          printed_name=(user.get_full_name() or user.get_username())[:300],
                          meaning=signature_meaning(decision.outcome, role),
                          content_hash=decision_content_hash(decision), auth_method=proof.method,
                          auth_time=proof.auth_time)
    try:
        with transaction.atomic():
            signature.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict("This role or person has already signed the decision.", code="role_already_signed") from exc
    audit_record(actor=actor, action=AuditAction.SIGNATURE_SIGNED, obj=signature, use_case=decision.gate.use_case,
                 after={"decision": decision.pk, "role": role, "printed_name": signature.printed_name,
                        "meaning": signature.meaning, "signed_at": signature.signed_at,
                        "content_hash": signature.content_hash, **proof.audit()})
    return signature


def _finalize_if_complete(*, actor: Actor, decision: Decision) -> None:
    gate = decision.gate
    signed_roles = set(decision.signatures.values_list("role", flat=True))
    if decision.outcome != DecisionOutcome.NO_GO and not set(gate.required_roles) <= signed_roles:
        return
    now = timezone.now()
    before_decision, before_gate = decision_view(decision), gate_view(gate)
    decision.status = DecisionStatus.FINAL
    decision.finalized_at = now
    decision.save(update_fields=["status", "finalized_at"])
    audit_record(actor=actor, action="decision.finalized", obj=decision, use_case=gate.use_case,
                 before=before_decision, after=decision_view(decision))
    gate.decided_at = now
    if decision.outcome == DecisionOutcome.NO_GO:
        gate.status = GateStatus.REJECTED
    else:
        gate.status = GateStatus.APPROVED
        if gate.number == 3:
            gate.expires_at = now + timedelta(days=settings.DRIFTGATE_GATE3_VALIDITY_DAYS)
    gate.save(update_fields=["status", "decided_at", "expires_at"])
    audit_record(actor=actor, action=f"gate.{gate.status}", obj=gate, use_case=gate.use_case, before=before_gate,
                 after=gate_view(gate), reason=decision.rationale)
    notify_decision_final(decision=decision)
    if gate.status == GateStatus.APPROVED:
        _advance_stage(actor=actor, gate=gate)
        users = {user.pk: user for user in get_user_model().objects.filter(
            pk__in=[condition["owner_id"] for condition in decision.conditions])}
        for condition in decision.conditions:
            create_obligation_locked(actor=actor, use_case=gate.use_case, title=condition["title"],
                                     description=condition["description"], owner=users[condition["owner_id"]],
                                     due_date=date.fromisoformat(condition["due_date"]), decision=decision)



def _advance_stage(*, actor: Actor, gate: Gate) -> None:
    next_stage = NEXT_STAGE.get(gate.number)
    use_case = gate.use_case
    if next_stage is None or use_case.stage == next_stage:
        return
    before = {"stage": use_case.stage}
    use_case.stage = next_stage
    use_case.save(update_fields=["stage", "updated_at"])
    audit_record(actor=actor, action="use_case.stage_changed", obj=use_case, use_case=use_case, before=before,
                 after={"stage": use_case.stage}, reason=f"gate {gate.number} approved")
    if next_stage == Stage.PRODUCTION:
        _activate_candidate(actor=actor, use_case=use_case)


def _activate_candidate(*, actor: Actor, use_case: UseCase) -> None:
    """Gate 2 approves the candidate for production: with no version active yet, the newest evaluated one is."""
    # The use case row is locked (lock_gate), as model_version_activate would lock it: same order, no deadlock.
    versions = ModelVersion.objects.select_for_update().filter(use_case=use_case)
    if versions.filter(status=ModelVersionStatus.ACTIVE).exists():
        return
    candidate = next((version for version in versions.filter(status=ModelVersionStatus.CANDIDATE)
                      .order_by("-created_at", "-id") if is_evaluated(version)), None)
    if candidate is None:
        return
    before = model_version_view(candidate)
    candidate.status, candidate.activated_at = ModelVersionStatus.ACTIVE, timezone.now()
    candidate.save(update_fields=["status", "activated_at"])
    audit_record(actor=actor, action="model_version.activated", obj=candidate, use_case=use_case, before=before,
                 after=model_version_view(candidate), reason="gate 2 approved: the candidate goes to production")


def gate_decide(*, actor: Actor, gate: Gate, outcome: str, rationale: str, conditions: list | None = None,
                role: str, password: str = "", reauthentication: OidcReauthentication | None = None) -> Decision:
    """Propose a go / go-with-conditions / no-go on a gate in review and sign it as the proposer's role."""
    rationale = _clean_proposal(outcome, rationale)
    proof = _authenticate_signer(actor=actor, use_case=gate.use_case, required_roles=gate.required_roles, role=role,
                                 password=password, target=gate, reauthentication=reauthentication)
    with transaction.atomic():
        gate = lock_gate(gate.pk)
        if Decision.objects.filter(gate=gate, status__in=[DecisionStatus.PENDING, DecisionStatus.FINAL]).exists():
            raise Conflict("This gate already has a decision.", code="already_decided", extra={"status": gate.status})
        if gate.status != GateStatus.IN_REVIEW:
            raise Conflict("A decision can only be proposed once the decision was requested.",
                           code="gate_not_in_review", extra={"status": gate.status})
        _check_signer_locked(actor=actor, gate=gate, role=role)
        normalised = _normalise_conditions(use_case=gate.use_case, outcome=outcome, conditions=conditions)
        criteria = _require_criteria(gate, outcome)
        content = decision_content(outcome=outcome, rationale=rationale, conditions=normalised)
        try:
            with transaction.atomic():
                decision = Decision.objects.create(
                    gate=gate, outcome=outcome, rationale=rationale, conditions=content["conditions"],
                    criteria=criteria, content_hash=gate_content_hash(gate, decision=content), proposed_by=actor.person)
        except IntegrityError as exc:
            raise Conflict("This gate already has a decision.", code="already_decided") from exc
        decision.gate = gate
        audit_record(actor=actor, action="decision.proposed", obj=decision, use_case=gate.use_case,
                     after={**decision_view(decision), "criteria": criteria})
        _sign_locked(actor=actor, decision=decision, role=role, proof=proof)
        _finalize_if_complete(actor=actor, decision=decision)
        if decision.status == DecisionStatus.PENDING:
            notify_signature_needed(decision=decision)
    return decision


def decision_sign(*, actor: Actor, decision: Decision, role: str, password: str = "",
                  reauthentication: OidcReauthentication | None = None) -> Signature:
    """Co-sign a pending decision; the last required role (by a distinct person) makes it final."""
    gate = decision.gate
    proof = _authenticate_signer(actor=actor, use_case=gate.use_case, required_roles=gate.required_roles, role=role,
                                 password=password, target=decision, reauthentication=reauthentication)
    with transaction.atomic():
        gate = lock_gate(gate.pk)
        decision = Decision.objects.select_for_update().get(pk=decision.pk)
        decision.gate = gate
        if decision.status == DecisionStatus.FINAL:
            raise Conflict("This decision is already final.", code="already_decided", extra={"status": gate.status})
        if decision.status == DecisionStatus.WITHDRAWN:
            raise Conflict("This decision was withdrawn.", code="decision_withdrawn")
        if gate.status != GateStatus.IN_REVIEW:
            raise Conflict("The gate is not in review.", code="gate_not_in_review", extra={"status": gate.status})
        _check_signer_locked(actor=actor, gate=gate, role=role)
        signatures = list(decision.signatures.all())
        if any(signature.signer_id == actor.person.pk for signature in signatures):
            raise Conflict("You have already signed this decision; one person signs one role.",
                           code="signer_already_signed")
        if any(signature.role == role for signature in signatures):
            raise Conflict(f"The role {role} has already signed this decision.", code="role_already_signed",
                           extra={"role": role})
        current_hash = decision_content_hash(decision)
        if current_hash != decision.content_hash:
            # Co-signers would sign something other than what was proposed: withdraw and propose again.
            raise Conflict("The gate's content changed since the decision was proposed.", code="content_changed",
                           extra={"proposed_hash": decision.content_hash, "current_hash": current_hash})
        _require_criteria(gate, decision.outcome)
        signature = _sign_locked(actor=actor, decision=decision, role=role, proof=proof)
        _finalize_if_complete(actor=actor, decision=decision)
    return signature


def decision_withdraw(*, actor: Actor, decision: Decision, reason: str) -> Decision:
    """Withdraw a pending decision (its proposer or the governance owner) so a new one can be proposed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Withdrawing a decision needs a reason.", code="reason_required")
    with transaction.atomic():
        gate = lock_gate(decision.gate_id)
        decision = Decision.objects.select_for_update().get(pk=decision.pk)
        decision.gate = gate
        if actor.user is None or actor.person.pk != decision.proposed_by_id:
            require_role(actor=actor, use_case=gate.use_case, roles=[Role.GOVERNANCE_OWNER],
                         action="withdraw someone else's decision")
        if decision.status != DecisionStatus.PENDING:
            raise Conflict(f"Only a pending decision can be withdrawn; this one is {decision.status}.",
                           code="decision_not_pending", extra={"status": decision.status})
        before = decision_view(decision)
        decision.status = DecisionStatus.WITHDRAWN
        decision.save(update_fields=["status"])
        audit_record(actor=actor, action="decision.withdrawn", obj=decision, use_case=gate.use_case, before=before,
                     after=decision_view(decision), reason=reason)
    return decision
