"""Opening gates, asking for a decision, and letting gate-3 approvals lapse into a new gate 3."""
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import Conflict, ValidationFailed
from governance.audit import audit_record
from governance.models import (
    Checklist,
    ChecklistItem,
    ChecklistTemplate,
    Gate,
    GateNumber,
    GateStatus,
    Role,
    Stage,
    UseCase,
)
from governance.notifications.events import notify_decision_requested
from governance.permissions import require_role

DEFAULT_GATE_SIGNING_ROLES: dict[int, list[str]] = {
    1: [Role.GOVERNANCE_OWNER.value, Role.REVIEWER.value],
    2: [Role.GOVERNANCE_OWNER.value, Role.PLATFORM_OWNER.value],
    3: [Role.GOVERNANCE_OWNER.value, Role.REVIEWER.value],
}
# The stage a use case must be in for each gate to open; gate 3 re-opens in production when its approval lapses.
STAGE_FOR_GATE = {1: Stage.PILOT, 2: Stage.PRE_PRODUCTION, 3: Stage.PRODUCTION}
GATE_OPENER_ROLES = (Role.PRODUCT_OWNER, Role.GOVERNANCE_OWNER)
PENDING_STATUSES = (GateStatus.OPEN, GateStatus.IN_REVIEW)


def gate_signing_roles(number: int) -> list[str]:
    """Return the roles that must sign a go on this gate (settings `DRIFTGATE_GATE_SIGNING_ROLES` may override)."""
    configured = getattr(settings, "DRIFTGATE_GATE_SIGNING_ROLES", None) or {}
    roles = configured.get(number, configured.get(str(number))) or DEFAULT_GATE_SIGNING_ROLES[number]
    return [str(role) for role in roles]


def gate_view(gate: Gate) -> dict:
    """Return the gate's fields as recorded in audit events."""
    return {
        "number": gate.number, "status": gate.status, "required_roles": gate.required_roles,
        "requested_by": gate.requested_by_id, "requested_at": gate.requested_at, "decided_at": gate.decided_at,
        "expires_at": gate.expires_at,
    }


def lock_gate(gate_id: int) -> Gate:
    """Lock the gate's use case row, then the gate row, and return the fresh gate.

    Every writer that touches a gate or what it contains takes the same two locks in the same order, so
    signing, item changes and expiry serialise per use case and cannot deadlock against each other.
    """
    use_case_id = Gate.objects.values_list("use_case_id", flat=True).get(pk=gate_id)
    use_case = UseCase.objects.select_for_update().get(pk=use_case_id)
    gate = Gate.objects.select_for_update().get(pk=gate_id)
    gate.use_case = use_case
    return gate


def _templates_for(number: int) -> list[ChecklistTemplate]:
    # gate_numbers is a JSON list; filtering in Python keeps SQLite (no JSON `contains`) on the same code path.
    templates = ChecklistTemplate.objects.filter(is_active=True).prefetch_related("items").order_by("key")
    return [template for template in templates if number in template.gate_numbers]


def _create_checklists(gate: Gate) -> list[Checklist]:
    checklists = []
    for template in _templates_for(gate.number):
        checklist = Checklist.objects.create(gate=gate, template=template, title=template.title, kind=template.kind,
                                             template_version=template.version)
        ChecklistItem.objects.bulk_create([
            ChecklistItem(checklist=checklist, key=item.key, section=item.section, text=item.text,
                          guidance=item.guidance, owner_role=item.owner_role, required=item.required,
                          position=item.position)
            for item in template.items.all()
        ])
        checklists.append(checklist)
    return checklists


def _open_locked(*, actor: Actor, use_case: UseCase, number: int) -> Gate:
    """Open the gate on a use case whose row the caller has locked."""
    required_stage = STAGE_FOR_GATE[number]
    if use_case.stage != required_stage:
        raise Conflict(f"Gate {number} opens in stage {required_stage.label.lower()}; {use_case.slug!r} is in "
                       f"{Stage(use_case.stage).label.lower()}.", code="wrong_stage",
                       extra={"stage": use_case.stage, "required_stage": required_stage.value})
    if Gate.objects.filter(use_case=use_case, number=number, status__in=PENDING_STATUSES).exists():
        raise Conflict(f"Gate {number} is already open for {use_case.slug!r}.", code="gate_already_open",
                       extra={"number": number})
    try:
        with transaction.atomic():
            gate = Gate.objects.create(use_case=use_case, number=number, required_roles=gate_signing_roles(number),
                                       opened_by=actor.user if actor.user is not None else None)
    except IntegrityError as exc:
        raise Conflict(f"Gate {number} is already open for {use_case.slug!r}.", code="gate_already_open",
                       extra={"number": number}) from exc
    checklists = _create_checklists(gate)
    audit_record(actor=actor, action="gate.opened", obj=gate, use_case=use_case,
                 after={**gate_view(gate), "checklists": [c.template.key for c in checklists]})
    return gate


def gate_open(*, actor: Actor, use_case: UseCase, number: int) -> Gate:
    """Open gate 1, 2 or 3 with checklists copied from every active template for that gate."""
    if number not in GateNumber.values:
        raise ValidationFailed("The gate number must be 1, 2 or 3.", code="invalid_gate_number",
                               extra={"number": number})
    with transaction.atomic():
        use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require_role(actor=actor, use_case=use_case, roles=GATE_OPENER_ROLES, action="open a gate")
        return _open_locked(actor=actor, use_case=use_case, number=number)


def gate_request_decision(*, actor: Actor, gate: Gate) -> Gate:
    """Move an open gate to review: the product owner asks the signers for a decision."""
    with transaction.atomic():
        gate = lock_gate(gate.pk)
        require_role(actor=actor, use_case=gate.use_case, roles=[Role.PRODUCT_OWNER], action="request a decision")
        if gate.status != GateStatus.OPEN:
            raise Conflict(f"Only an open gate can go to review; this one is {gate.status}.", code="gate_not_open",
                           extra={"status": gate.status})
        before = gate_view(gate)
        gate.status = GateStatus.IN_REVIEW
        gate.requested_by = actor.user
        gate.requested_at = timezone.now()
        gate.save(update_fields=["status", "requested_by", "requested_at"])
        audit_record(actor=actor, action="gate.decision_requested", obj=gate, use_case=gate.use_case,
                     before=before, after=gate_view(gate))
        notify_decision_requested(gate=gate)
    return gate


def gates_expire_due(*, now: datetime | None = None) -> int:
    """Expire approved gate-3 certifications whose validity ended and open a new gate 3; return how many expired."""
    now = now or timezone.now()
    actor = Actor.system("gate_expiry")
    due = Gate.objects.filter(number=3, status=GateStatus.APPROVED, expires_at__lte=now).values_list("pk", flat=True)
    expired = 0
    for gate_id in list(due):
        with transaction.atomic():
            gate = lock_gate(gate_id)
            # Re-checked under the lock: a concurrent run may have expired it already.
            if gate.status != GateStatus.APPROVED or gate.expires_at is None or gate.expires_at > now:
                continue
            before = gate_view(gate)
            gate.status = GateStatus.EXPIRED
            gate.save(update_fields=["status"])
            audit_record(actor=actor, action="gate.expired", obj=gate, use_case=gate.use_case, before=before,
                         after=gate_view(gate), reason=f"gate-3 certification lapsed at {gate.expires_at.isoformat()}")
            expired += 1
            pending = Gate.objects.filter(use_case=gate.use_case, number=3, status__in=PENDING_STATUSES).exists()
            if gate.use_case.stage == Stage.PRODUCTION and not pending:
                _open_locked(actor=actor, use_case=gate.use_case, number=3)
    return expired
