"""Inventory writes: use cases, memberships, model versions, effect goals and their measurements.

Every service checks the actor's role on the use case, locks the use case row when the change depends on
its current state, and writes its audit event in the same transaction.
"""
import math
import re
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import audit_record
from governance.models import (
    Direction,
    EffectGoal,
    EffectMeasurement,
    Membership,
    ModelVersion,
    ModelVersionStatus,
    RegulatoryScope,
    Role,
    Stage,
    UseCase,
)
from governance.models.inventory import slug_validator
from governance.notifications.events import notify_use_case_halted
from governance.permissions import require_role
from governance.rules import check_choice, check_text, fail_fields
from governance.services.signing_lockout import reauthenticate

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
USE_CASE_EDITABLE_FIELDS = ("name", "purpose", "approach", "base_model", "risk_tier", "regulatory_scopes")
EFFECT_GOAL_EDITABLE_FIELDS = ("metric", "unit", "target", "direction", "description")


# --- validation helpers -------------------------------------------------------------------------------------

def _check_scopes(errors: dict, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(scope, str) for scope in value):
        errors["regulatory_scopes"] = ["Must be a list of scope codes."]
        return []
    unknown = sorted(set(value) - set(RegulatoryScope.values))
    if unknown:
        errors["regulatory_scopes"] = [
            f"Unknown scopes {', '.join(unknown)}; valid: {', '.join(RegulatoryScope.values)}."]
    # Keep the order given but drop repeats, so reports cite each rule set once.
    return list(dict.fromkeys(value))


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_finite(errors: dict, field: str, value: Any) -> None:
    if not _is_finite_number(value):
        errors[field] = ["Must be a finite number."]


def _all_numbers_finite(value: Any) -> bool:
    """Return whether a JSON value holds no NaN or infinity anywhere (the audit log's canonical JSON refuses them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_numbers_finite(item) for item in value.values())
    if isinstance(value, list):
        return all(_all_numbers_finite(item) for item in value)
    return True


def _require_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("A reason is required.", code="reason_required",
                               extra={"fields": {"reason": ["This field may not be blank."]}})
    return reason.strip()


def _lock_use_case(use_case: UseCase) -> UseCase:
    """Lock and re-read the use case row; its state (halted, stage, active version) decides what may happen."""
    return UseCase.objects.select_for_update().get(pk=use_case.pk)


def _refuse_if_retired(use_case: UseCase) -> None:
    if use_case.stage == Stage.RETIRED:
        raise Conflict(f"{use_case.slug!r} is retired and can no longer change.", code="use_case_retired",
                       extra={"use_case": use_case.slug})


# --- snapshots written to the audit log ---------------------------------------------------------------------

def _use_case_view(use_case: UseCase) -> dict:
    return {"slug": use_case.slug, "name": use_case.name, "purpose": use_case.purpose, "approach": use_case.approach,
            "base_model": use_case.base_model, "risk_tier": use_case.risk_tier,
            "regulatory_scopes": use_case.regulatory_scopes, "stage": use_case.stage, "halted": use_case.halted,
            "halted_reason": use_case.halted_reason, "halted_at": use_case.halted_at}


def _membership_view(membership: Membership) -> dict:
    return {"user": membership.user.get_username(), "role": membership.role}


def _model_version_view(version: ModelVersion) -> dict:
    return {"label": version.label, "base_model": version.base_model, "adapter_method": version.adapter_method,
            "training_data_ref": version.training_data_ref, "training_data_sha256": version.training_data_sha256,
            "evaluation": version.evaluation, "status": version.status, "activated_at": version.activated_at}


def _effect_goal_view(goal: EffectGoal) -> dict:
    return {"metric": goal.metric, "unit": goal.unit, "target": goal.target, "direction": goal.direction,
            "description": goal.description}


# --- use cases ----------------------------------------------------------------------------------------------

def _may_create_use_cases(actor: Actor) -> bool:
    if actor.kind == ActorKind.SYSTEM:
        return True
    user = actor.user
    return bool(user is not None and user.is_active and (user.is_staff or user.has_perm("governance.add_usecase")))


def use_case_create(*, actor: Actor, slug: str, name: str, purpose: str, approach: str, base_model: str,
                    risk_tier: str, regulatory_scopes: list[str]) -> UseCase:
    """Register a use case in pilot; the person creating it becomes its product owner."""
    if not _may_create_use_cases(actor):
        raise PermissionRefused("Only staff or people with the 'add use case' permission may create use cases.",
                                code="missing_permission", extra={"permission": "governance.add_usecase"})
    errors: dict[str, list[str]] = {}
    check_text(errors, UseCase, "slug", slug)
    if "slug" not in errors:
        try:
            slug_validator(slug)
        except DjangoValidationError as exc:
            errors["slug"] = list(exc.messages)
    check_text(errors, UseCase, "name", name)
    check_text(errors, UseCase, "purpose", purpose)
    check_text(errors, UseCase, "base_model", base_model)
    check_choice(errors, UseCase, "approach", approach)
    check_choice(errors, UseCase, "risk_tier", risk_tier)
    scopes = _check_scopes(errors, regulatory_scopes)
    fail_fields(errors)
    try:
        with transaction.atomic():
            use_case = UseCase.objects.create(slug=slug, name=name.strip(), purpose=purpose.strip(), approach=approach,
                                              base_model=base_model.strip(), risk_tier=risk_tier,
                                              regulatory_scopes=scopes)
            audit_record(actor=actor, action="use_case.created", obj=use_case, use_case=use_case,
                         after=_use_case_view(use_case))
            if actor.kind != ActorKind.SYSTEM and actor.user is not None:
                membership = Membership.objects.create(use_case=use_case, user=actor.user, role=Role.PRODUCT_OWNER)
                audit_record(actor=actor, action="membership.granted", obj=membership, use_case=use_case,
                             after=_membership_view(membership), reason="creator of the use case")
    except IntegrityError as exc:
        raise Conflict(f"A use case with the slug {slug!r} already exists.", code="duplicate_slug",
                       extra={"slug": slug}) from exc
    return use_case


def use_case_update(*, actor: Actor, use_case: UseCase, changes: dict[str, Any]) -> UseCase:
    """Change a use case's descriptive fields; stage and halt state only move through their own services."""
    require_role(actor=actor, use_case=use_case, roles=[Role.PRODUCT_OWNER, Role.GOVERNANCE_OWNER],
                 action="edit it")
    not_editable = sorted(set(changes) - set(USE_CASE_EDITABLE_FIELDS))
    if not_editable:
        raise ValidationFailed(
            f"These fields cannot be changed here: {', '.join(not_editable)}. The stage moves only by gate "
            "decisions, the halt state only by halt and resume.",
            code="field_not_editable",
            extra={"fields": {field: ["This field cannot be changed here."] for field in not_editable}})
    errors: dict[str, list[str]] = {}
    for field in ("name", "purpose", "base_model"):
        if field in changes:
            check_text(errors, UseCase, field, changes[field])
    for field in ("approach", "risk_tier"):
        if field in changes:
            check_choice(errors, UseCase, field, changes[field])
    cleaned = {field: value.strip() if isinstance(value, str) else value for field, value in changes.items()}
    if "regulatory_scopes" in changes:
        cleaned["regulatory_scopes"] = _check_scopes(errors, changes["regulatory_scopes"])
    fail_fields(errors)
    with transaction.atomic():
        use_case = _lock_use_case(use_case)
        _refuse_if_retired(use_case)
        changed = {field: value for field, value in cleaned.items() if getattr(use_case, field) != value}
        if not changed:
            return use_case
        before = {field: getattr(use_case, field) for field in changed}
        for field, value in changed.items():
            setattr(use_case, field, value)
        use_case.save(update_fields=[*changed, "updated_at"])
        audit_record(actor=actor, action="use_case.updated", obj=use_case, use_case=use_case, before=before,
                     after=changed)
    return use_case


def use_case_halt(*, actor: Actor, use_case: UseCase, reason: str) -> UseCase:
    """Stop a use case at once (a person's call, or monitoring's automatic stop); CI status turns red."""
    if actor.kind != ActorKind.SYSTEM:
        require_role(actor=actor, use_case=use_case, roles=[Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER],
                     action="halt it")
    reason = _require_reason(reason)
    with transaction.atomic():
        use_case = _lock_use_case(use_case)
        if use_case.halted:
            raise Conflict(f"{use_case.slug!r} is already halted: {use_case.halted_reason}", code="already_halted",
                           extra={"halted_at": use_case.halted_at, "halted_reason": use_case.halted_reason})
        use_case.halted, use_case.halted_reason, use_case.halted_at = True, reason, timezone.now()
        use_case.save(update_fields=["halted", "halted_reason", "halted_at", "updated_at"])
        audit_record(actor=actor, action="use_case.halted", obj=use_case, use_case=use_case,
                     before={"halted": False},
                     after={"halted": True, "halted_reason": reason, "halted_at": use_case.halted_at}, reason=reason)
        notify_use_case_halted(use_case=use_case, reason=reason, by=actor.display)
    return use_case


def use_case_resume(*, actor: Actor, use_case: UseCase, reason: str, password: str) -> UseCase:
    """Lift a halt; only people answerable for the system may, with the password re-entered and a reason."""
    require_role(actor=actor, use_case=use_case, roles=[Role.GOVERNANCE_OWNER, Role.PLATFORM_OWNER],
                 action="resume it")
    reason = _require_reason(reason)
    # Putting a halted system back into service is a decision like a signature: re-authenticated, with its lock.
    reauthenticate(actor=actor, password=password, use_case=use_case, target=use_case, what="resume the use case",
                   done="changed", person_code="person_required", purpose="resume the use case")
    with transaction.atomic():
        use_case = _lock_use_case(use_case)
        if not use_case.halted:
            raise Conflict(f"{use_case.slug!r} is not halted.", code="not_halted")
        before = {"halted": True, "halted_reason": use_case.halted_reason, "halted_at": use_case.halted_at}
        use_case.halted, use_case.halted_reason, use_case.halted_at = False, "", None
        use_case.save(update_fields=["halted", "halted_reason", "halted_at", "updated_at"])
        audit_record(actor=actor, action="use_case.resumed", obj=use_case, use_case=use_case, before=before,
                     after={"halted": False}, reason=reason)
    return use_case


def use_case_retire(*, actor: Actor, use_case: UseCase, reason: str) -> UseCase:
    """Take a use case out of service for good; its active model version is retired with it."""
    require_role(actor=actor, use_case=use_case, roles=[Role.GOVERNANCE_OWNER], action="retire it")
    reason = _require_reason(reason)
    with transaction.atomic():
        use_case = _lock_use_case(use_case)
        if use_case.stage == Stage.RETIRED:
            raise Conflict(f"{use_case.slug!r} is already retired.", code="already_retired")
        before_stage = use_case.stage
        use_case.stage = Stage.RETIRED
        use_case.save(update_fields=["stage", "updated_at"])
        audit_record(actor=actor, action="use_case.retired", obj=use_case, use_case=use_case,
                     before={"stage": before_stage}, after={"stage": Stage.RETIRED}, reason=reason)
        active = ModelVersion.objects.select_for_update().filter(use_case=use_case,
                                                                 status=ModelVersionStatus.ACTIVE).first()
        if active is not None:
            _retire_version(actor=actor, version=active, reason=reason)
    return use_case


# --- memberships --------------------------------------------------------------------------------------------

def _roles_allowed_to_manage(role: str) -> list[str]:
    # Separation of duties: a product owner must not make themself (or a friend) the approver of their own gates.
    if role == Role.GOVERNANCE_OWNER:
        return [Role.GOVERNANCE_OWNER]
    return [Role.GOVERNANCE_OWNER, Role.PRODUCT_OWNER]


def membership_grant(*, actor: Actor, use_case: UseCase, user: Any, role: str) -> Membership:
    """Give a person a role on a use case; only governance owners may appoint governance owners."""
    if role not in Role.values:
        fail_fields({"role": [f"{role!r} is not a valid choice: {', '.join(Role.values)}."]})
    require_role(actor=actor, use_case=use_case, roles=_roles_allowed_to_manage(role), action=f"grant the {role} role")
    if user is None or not user.is_active:
        raise ValidationFailed("Roles can only be given to active people.", code="unknown_user")
    try:
        with transaction.atomic():
            use_case = _lock_use_case(use_case)
            membership = Membership.objects.create(use_case=use_case, user=user, role=role)
            audit_record(actor=actor, action="membership.granted", obj=membership, use_case=use_case,
                         after=_membership_view(membership))
    except IntegrityError as exc:
        raise Conflict(f"{user.get_username()!r} already holds the {role} role on {use_case.slug!r}.",
                       code="duplicate_membership", extra={"username": user.get_username(), "role": role}) from exc
    return membership


def membership_revoke(*, actor: Actor, membership: Membership, reason: str = "") -> None:
    """Take a role away; the last governance owner of a use case cannot be removed."""
    with transaction.atomic():
        # The use case lock serialises concurrent revocations, and the role check runs under it: two governance
        # owners revoking each other at once cannot both succeed on roles the other has just taken away.
        use_case = _lock_use_case(membership.use_case)
        require_role(actor=actor, use_case=use_case, roles=_roles_allowed_to_manage(membership.role),
                     action=f"revoke the {membership.role} role")
        current = Membership.objects.select_related("user").filter(pk=membership.pk).first()
        if current is None:
            raise Conflict("The membership was already revoked.", code="already_revoked")
        membership = current
        if membership.role == Role.GOVERNANCE_OWNER and not Membership.objects.filter(
                use_case=use_case, role=Role.GOVERNANCE_OWNER).exclude(pk=membership.pk).exists():
            raise Conflict(f"{membership.user.get_username()!r} is the last governance owner of {use_case.slug!r}; "
                           "appoint another one first.", code="last_governance_owner")
        audit_record(actor=actor, action="membership.revoked", obj=membership, use_case=use_case,
                     before=_membership_view(membership), reason=reason.strip() if isinstance(reason, str) else "")
        membership.delete()


def membership_grant_by_username(*, actor: Actor, use_case: UseCase, username: str, role: str) -> Membership:
    """Grant a role to the active person with this username (the API names people by username)."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationFailed(f"No active user {username!r}.", code="unknown_user",
                               extra={"fields": {"username": ["No active user with this username."]}})
    return membership_grant(actor=actor, use_case=use_case, user=user, role=role)


# --- model versions -----------------------------------------------------------------------------------------

def _check_evaluation(errors: dict, evaluation: Any) -> None:
    if not isinstance(evaluation, dict):
        errors["evaluation"] = ["Must be a JSON object."]
        return
    if not _all_numbers_finite(evaluation):
        errors["evaluation"] = ["Numbers must be finite (no NaN or infinity)."]
        return
    if not evaluation:
        return  # A candidate may be registered before it is evaluated; activation insists on the evaluation.
    problems = []
    metrics = evaluation.get("task_metrics")
    if not isinstance(metrics, dict) or not metrics:
        problems.append("'task_metrics' must be a non-empty object of metric name to number.")
    elif not all(_is_finite_number(value) for value in metrics.values()):
        problems.append("Every value in 'task_metrics' must be a finite number.")
    if not _is_finite_number(evaluation.get("general_capability_regression")):
        problems.append("'general_capability_regression' must be a finite number "
                        "(the change in general-capability score against the base model).")
    if problems:
        errors["evaluation"] = problems


def _is_evaluated(version: ModelVersion) -> bool:
    errors: dict = {}
    _check_evaluation(errors, version.evaluation)
    return not errors and bool(version.evaluation)


is_evaluated = _is_evaluated
model_version_view = _model_version_view


def model_version_register(*, actor: Actor, use_case: UseCase, label: str, base_model: str, adapter_method: str,
                           training_data_ref: str, training_data_sha256: str, evaluation: dict) -> ModelVersion:
    """Record a trained or configured model version as a candidate, with its lineage and evaluation."""
    require_role(actor=actor, use_case=use_case, roles=[Role.PLATFORM_OWNER], action="register model versions")
    errors: dict[str, list[str]] = {}
    check_text(errors, ModelVersion, "label", label)
    check_text(errors, ModelVersion, "base_model", base_model)
    check_choice(errors, ModelVersion, "adapter_method", adapter_method)
    check_text(errors, ModelVersion, "training_data_ref", training_data_ref, required=False)
    digest = training_data_sha256.strip().lower() if isinstance(training_data_sha256, str) else None
    if digest is None or (digest and not _SHA256.match(digest)):
        errors["training_data_sha256"] = ["Must be a SHA-256 digest: 64 hexadecimal characters."]
    elif not digest and isinstance(training_data_ref, str) and training_data_ref.strip():
        errors["training_data_sha256"] = ["Training data named by reference needs its SHA-256 digest too."]
    _check_evaluation(errors, evaluation)
    fail_fields(errors)
    try:
        with transaction.atomic():
            use_case = _lock_use_case(use_case)
            _refuse_if_retired(use_case)
            version = ModelVersion.objects.create(
                use_case=use_case, label=label.strip(), base_model=base_model.strip(), adapter_method=adapter_method,
                training_data_ref=training_data_ref.strip(), training_data_sha256=digest, evaluation=evaluation)
            audit_record(actor=actor, action="model_version.registered", obj=version, use_case=use_case,
                         after=_model_version_view(version))
    except IntegrityError as exc:
        raise Conflict(f"{use_case.slug!r} already has a model version labelled {label!r}.", code="duplicate_label",
                       extra={"label": label}) from exc
    return version


def _retire_version(*, actor: Actor, version: ModelVersion, reason: str) -> None:
    before = _model_version_view(version)
    version.status = ModelVersionStatus.RETIRED
    version.save(update_fields=["status"])
    audit_record(actor=actor, action="model_version.retired", obj=version, use_case=version.use_case, before=before,
                 after=_model_version_view(version), reason=reason)


def _locked_version(use_case: UseCase, version: ModelVersion) -> ModelVersion:
    return ModelVersion.objects.select_for_update().select_related("use_case").get(pk=version.pk, use_case=use_case)


def model_version_activate(*, actor: Actor, model_version: ModelVersion) -> ModelVersion:
    """Make a version the one in service; the version it replaces is retired."""
    require_role(actor=actor, use_case=model_version.use_case, roles=[Role.PLATFORM_OWNER],
                 action="activate model versions")
    with transaction.atomic():
        # Use case first, then versions: the same order as every other inventory service, so no deadlock.
        use_case = _lock_use_case(model_version.use_case)
        _refuse_if_retired(use_case)
        version = _locked_version(use_case, model_version)
        if version.status == ModelVersionStatus.ACTIVE:
            raise Conflict(f"{version.label!r} is already active.", code="already_active")
        if version.status == ModelVersionStatus.ROLLED_BACK:
            raise Conflict(f"{version.label!r} was rolled back; register a new version instead.",
                           code="invalid_transition", extra={"status": version.status})
        if not _is_evaluated(version):
            raise Conflict(f"{version.label!r} has no evaluation with task metrics and the general-capability "
                           "regression; record them before activating it.", code="evaluation_missing")
        previous = ModelVersion.objects.select_for_update().filter(use_case=use_case,
                                                                   status=ModelVersionStatus.ACTIVE).first()
        if previous is not None:
            _retire_version(actor=actor, version=previous, reason=f"replaced by {version.label}")
        before = _model_version_view(version)
        version.status, version.activated_at = ModelVersionStatus.ACTIVE, timezone.now()
        version.save(update_fields=["status", "activated_at"])
        audit_record(actor=actor, action="model_version.activated", obj=version, use_case=use_case, before=before,
                     after=_model_version_view(version))
    return version


def model_version_roll_back(*, actor: Actor, model_version: ModelVersion, reason: str) -> ModelVersion:
    """Take the active version out of service and put the previously active one back, if there is one."""
    require_role(actor=actor, use_case=model_version.use_case, roles=[Role.PLATFORM_OWNER],
                 action="roll back model versions")
    reason = _require_reason(reason)
    with transaction.atomic():
        use_case = _lock_use_case(model_version.use_case)
        version = _locked_version(use_case, model_version)
        if version.status != ModelVersionStatus.ACTIVE:
            raise Conflict(f"Only the active version can be rolled back; {version.label!r} is {version.status}.",
                           code="not_active", extra={"status": version.status})
        before = _model_version_view(version)
        version.status = ModelVersionStatus.ROLLED_BACK
        version.save(update_fields=["status"])
        audit_record(actor=actor, action="model_version.rolled_back", obj=version, use_case=use_case, before=before,
                     after=_model_version_view(version), reason=reason)
        restored = (ModelVersion.objects.select_for_update()
                    .filter(use_case=use_case, status=ModelVersionStatus.RETIRED, activated_at__isnull=False)
                    .order_by("-activated_at").first())
        if restored is not None:
            restored_before = _model_version_view(restored)
            restored.status, restored.activated_at = ModelVersionStatus.ACTIVE, timezone.now()
            restored.save(update_fields=["status", "activated_at"])
            audit_record(actor=actor, action="model_version.activated", obj=restored, use_case=use_case,
                         before=restored_before, after=_model_version_view(restored),
                         reason=f"restored by the roll-back of {version.label}: {reason}")
    return version


# --- effect goals -------------------------------------------------------------------------------------------

def _check_goal_fields(errors: dict, values: dict[str, Any]) -> None:
    if "metric" in values:
        check_text(errors, EffectGoal, "metric", values["metric"])
    if "unit" in values:
        check_text(errors, EffectGoal, "unit", values["unit"], required=False)
    if "description" in values:
        check_text(errors, EffectGoal, "description", values["description"], required=False)
    if "target" in values:
        _check_finite(errors, "target", values["target"])
    if "direction" in values:
        check_choice(errors, EffectGoal, "direction", values["direction"])


def effect_goal_create(*, actor: Actor, use_case: UseCase, metric: str, target: float,
                       direction: str = Direction.AT_LEAST, unit: str = "", description: str = "") -> EffectGoal:
    """Define a measurable effect the use case must reach (gate 1) and keep (gate 3)."""
    require_role(actor=actor, use_case=use_case, roles=[Role.PRODUCT_OWNER], action="define effect goals")
    values = {"metric": metric, "target": target, "direction": direction, "unit": unit, "description": description}
    errors: dict[str, list[str]] = {}
    _check_goal_fields(errors, values)
    fail_fields(errors)
    try:
        with transaction.atomic():
            use_case = _lock_use_case(use_case)
            _refuse_if_retired(use_case)
            goal = EffectGoal.objects.create(use_case=use_case, metric=metric.strip(), unit=unit.strip(),
                                             target=float(target), direction=direction,
                                             description=description.strip())
            audit_record(actor=actor, action="effect_goal.created", obj=goal, use_case=use_case,
                         after=_effect_goal_view(goal))
    except IntegrityError as exc:
        raise Conflict(f"{use_case.slug!r} already has a goal for {metric!r}.", code="duplicate_metric",
                       extra={"metric": metric}) from exc
    return goal


def effect_goal_update(*, actor: Actor, goal: EffectGoal, changes: dict[str, Any]) -> EffectGoal:
    """Change an effect goal; the old and new values stay in the audit log."""
    require_role(actor=actor, use_case=goal.use_case, roles=[Role.PRODUCT_OWNER], action="change effect goals")
    not_editable = sorted(set(changes) - set(EFFECT_GOAL_EDITABLE_FIELDS))
    if not_editable:
        raise ValidationFailed(f"These fields cannot be changed: {', '.join(not_editable)}.", code="field_not_editable",
                               extra={"fields": {field: ["This field cannot be changed."] for field in not_editable}})
    errors: dict[str, list[str]] = {}
    _check_goal_fields(errors, changes)
    fail_fields(errors)
    cleaned = {field: value.strip() if isinstance(value, str) else value for field, value in changes.items()}
    if "target" in cleaned:
        cleaned["target"] = float(cleaned["target"])
    try:
        with transaction.atomic():
            use_case = _lock_use_case(goal.use_case)
            _refuse_if_retired(use_case)
            goal = EffectGoal.objects.select_for_update().get(pk=goal.pk)
            changed = {field: value for field, value in cleaned.items() if getattr(goal, field) != value}
            if not changed:
                return goal
            before = {field: getattr(goal, field) for field in changed}
            for field, value in changed.items():
                setattr(goal, field, value)
            goal.save(update_fields=list(changed))
            audit_record(actor=actor, action="effect_goal.updated", obj=goal, use_case=use_case, before=before,
                         after=changed)
    except IntegrityError as exc:
        raise Conflict(f"{goal.use_case.slug!r} already has a goal for {changes.get('metric')!r}.",
                       code="duplicate_metric", extra={"metric": changes.get("metric")}) from exc
    return goal


def effect_goal_delete(*, actor: Actor, goal: EffectGoal, reason: str = "") -> None:
    """Remove a goal that has no measurements yet; measured goals are evidence and stay."""
    require_role(actor=actor, use_case=goal.use_case, roles=[Role.PRODUCT_OWNER], action="delete effect goals")
    with transaction.atomic():
        use_case = _lock_use_case(goal.use_case)
        _refuse_if_retired(use_case)
        locked = EffectGoal.objects.select_for_update().filter(pk=goal.pk).first()
        if locked is None:
            raise Conflict("The effect goal was already deleted.", code="already_deleted")
        goal = locked
        if goal.measurements.exists():
            raise Conflict(f"The goal {goal.metric!r} has measurements; they are evidence and cannot be deleted.",
                           code="goal_has_measurements")
        audit_record(actor=actor, action="effect_goal.deleted", obj=goal, use_case=use_case,
                     before=_effect_goal_view(goal), reason=reason.strip() if isinstance(reason, str) else "")
        goal.delete()


def effect_measurement_record(*, actor: Actor, goal: EffectGoal, value: float, measured_at: datetime | None = None,
                              source: str = "", note: str = "") -> EffectMeasurement:
    """Record one measured value of an effect goal."""
    use_case = goal.use_case
    require_role(actor=actor, use_case=use_case, roles=[Role.PRODUCT_OWNER, Role.PLATFORM_OWNER],
                 action="record effect measurements")
    errors: dict[str, list[str]] = {}
    _check_finite(errors, "value", value)
    check_text(errors, EffectMeasurement, "source", source, required=False)
    check_text(errors, EffectMeasurement, "note", note, required=False)
    now = timezone.now()
    measured_at = measured_at or now
    if not isinstance(measured_at, datetime) or timezone.is_naive(measured_at):
        errors["measured_at"] = ["Must be a date-time with a time zone."]
    elif measured_at > now + timedelta(seconds=settings.DRIFTGATE_FUTURE_TOLERANCE_SECONDS):
        errors["measured_at"] = ["Must not lie in the future."]
    fail_fields(errors)
    with transaction.atomic():
        use_case = _lock_use_case(use_case)
        _refuse_if_retired(use_case)
        measurement = EffectMeasurement.objects.create(goal=goal, value=float(value), measured_at=measured_at,
                                                       source=source.strip(), note=note.strip(),
                                                       recorded_by=actor.user)
        audit_record(actor=actor, action="effect_measurement.recorded", obj=measurement, use_case=use_case,
                     after={"goal": goal.metric, "value": measurement.value, "measured_at": measured_at,
                            "source": measurement.source, "note": measurement.note,
                            "met": goal.is_met_by(measurement.value)})
    return measurement
