"""Obligations: conditions of go decisions and standing duties, with an owner and a due date."""
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import Conflict, PermissionRefused, ValidationFailed
from governance.audit import audit_record
from governance.models import AuditEvent, Decision, Membership, Obligation, ObligationStatus, Role, UseCase
from governance.notifications.events import notify_obligation_overdue
from governance.permissions import require_role
from governance.rules import field_limit

OVERDUE_ACTION = "obligation.became_overdue"


def obligation_view(obligation: Obligation) -> dict:
    """Return the obligation's fields as recorded in audit events."""
    return {"title": obligation.title, "description": obligation.description, "owner": obligation.owner_id,
            "due_date": obligation.due_date, "status": obligation.status, "resolution": obligation.resolution,
            "evidence_url": obligation.evidence_url, "decision": obligation.decision_id,
            "closed_at": obligation.closed_at}


def default_due_date() -> date:
    """Return the due date used when a condition names none."""
    return timezone.localdate() + timedelta(days=settings.DRIFTGATE_OBLIGATION_DEFAULT_DAYS)


def validate_obligation_owner(*, use_case: UseCase, owner: User | None) -> None:
    """Refuse an owner who holds no role on the use case: a duty needs someone who can act on it."""
    if owner is None or not Membership.objects.filter(use_case=use_case, user=owner).exists():
        raise ValidationFailed("The obligation's owner must hold a role on the use case.", code="owner_not_member",
                               extra={"owner": getattr(owner, "pk", None)})


def create_obligation_locked(*, actor: Actor, use_case: UseCase, title: str, description: str,
                             owner: User, due_date: date, decision: Decision | None) -> Obligation:
    """Create and audit an obligation; the caller holds the use case lock and has checked permissions."""
    obligation = Obligation.objects.create(use_case=use_case, decision=decision, title=title,
                                           description=description, owner=owner, due_date=due_date)
    audit_record(actor=actor, action="obligation.created", obj=obligation, use_case=use_case,
                 after=obligation_view(obligation))
    return obligation


def obligation_create(*, actor: Actor, use_case: UseCase, title: str, owner: User | None,
                      due_date: date | None = None, description: str = "") -> Obligation:
    """Create a standing obligation on a use case (governance owner)."""
    title = (title or "").strip()
    if not title:
        raise ValidationFailed("An obligation needs a title.", code="title_required")
    if len(title) > field_limit(Obligation, "title"):
        raise ValidationFailed("The title is too long.", code="title_too_long")
    due_date = due_date or default_due_date()
    if due_date < timezone.localdate():
        raise ValidationFailed("The due date lies in the past.", code="due_date_in_past",
                               extra={"due_date": due_date.isoformat()})
    with transaction.atomic():
        use_case = UseCase.objects.select_for_update().get(pk=use_case.pk)
        require_role(actor=actor, use_case=use_case, roles=[Role.GOVERNANCE_OWNER], action="create an obligation")
        validate_obligation_owner(use_case=use_case, owner=owner)
        assert owner is not None  # validate_obligation_owner refused a missing owner
        return create_obligation_locked(actor=actor, use_case=use_case, title=title,
                                        description=(description or "").strip(), owner=owner, due_date=due_date,
                                        decision=None)


def _lock_obligation(obligation: Obligation) -> Obligation:
    UseCase.objects.select_for_update().get(pk=obligation.use_case_id)
    return Obligation.objects.select_for_update(of=("self",)).select_related("use_case").get(pk=obligation.pk)


def _clean_evidence_url(evidence_url: str) -> str:
    evidence_url = (evidence_url or "").strip()
    if not evidence_url:
        return ""
    problem = None
    if len(evidence_url) > field_limit(Obligation, "evidence_url"):
        problem = f"Ensure this field has no more than {field_limit(Obligation, 'evidence_url')} characters."
    else:
        try:
            URLValidator(schemes=["http", "https"])(evidence_url)
        except DjangoValidationError:
            problem = "Evidence URLs must be valid http or https URLs."
    if problem:
        raise ValidationFailed(problem, code="invalid_url", extra={"fields": {"evidence_url": [problem]}})
    return evidence_url


def _close(*, actor: Actor, obligation: Obligation, status: str, text: str, action: str,
           evidence_url: str = "") -> Obligation:
    obligation = _lock_obligation(obligation)
    if obligation.status != ObligationStatus.OPEN:
        raise Conflict(f"The obligation is already {obligation.status}.", code="obligation_not_open",
                       extra={"status": obligation.status})
    before = obligation_view(obligation)
    obligation.status = status
    obligation.resolution = text
    obligation.evidence_url = evidence_url
    obligation.closed_at = timezone.now()
    obligation.save(update_fields=["status", "resolution", "evidence_url", "closed_at"])
    audit_record(actor=actor, action=action, obj=obligation, use_case=obligation.use_case, before=before,
                 after=obligation_view(obligation), reason=text)
    return obligation


def obligation_fulfil(*, actor: Actor, obligation: Obligation, resolution: str,
                      evidence_url: str = "") -> Obligation:
    """Close an obligation as fulfilled, saying how and where the proof is (its owner or the governance owner)."""
    resolution = (resolution or "").strip()
    if not resolution:
        raise ValidationFailed("Say how the obligation was fulfilled.", code="resolution_required")
    evidence_url = _clean_evidence_url(evidence_url)
    with transaction.atomic():
        is_owner = actor.user is not None and actor.user.pk == obligation.owner_id
        if not is_owner:
            try:
                require_role(actor=actor, use_case=obligation.use_case, roles=[Role.GOVERNANCE_OWNER],
                             action="fulfil someone else's obligation")
            except PermissionRefused as exc:
                raise PermissionRefused("Only the obligation's owner or the governance owner may fulfil it.",
                                        code="missing_role", extra=exc.extra) from exc
        return _close(actor=actor, obligation=obligation, status=ObligationStatus.FULFILLED, text=resolution,
                      action="obligation.fulfilled", evidence_url=evidence_url)


def obligation_waive(*, actor: Actor, obligation: Obligation, reason: str) -> Obligation:
    """Waive an obligation with a reason (governance owner)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Waiving an obligation needs a reason.", code="reason_required")
    with transaction.atomic():
        require_role(actor=actor, use_case=obligation.use_case, roles=[Role.GOVERNANCE_OWNER],
                     action="waive an obligation")
        return _close(actor=actor, obligation=obligation, status=ObligationStatus.WAIVED, text=reason,
                      action="obligation.waived")


def obligations_flag_overdue(*, today: date | None = None) -> int:
    """Record once, for each open obligation past its due date, that it became overdue; return how many."""
    today = today or timezone.localdate()
    actor = Actor.system("obligations_overdue")
    candidates = Obligation.objects.filter(status=ObligationStatus.OPEN, due_date__lt=today)
    flagged = 0
    for obligation in candidates.select_related("use_case"):
        with transaction.atomic():
            obligation = _lock_obligation(obligation)
            # Checked under the row lock, so a re-delivered or concurrent run records the event only once.
            already = AuditEvent.objects.filter(action=OVERDUE_ACTION, object_type=obligation._meta.label_lower,
                                                object_id=str(obligation.pk)).exists()
            if already or not obligation.is_overdue(today):
                continue
            audit_record(actor=actor, action=OVERDUE_ACTION, obj=obligation, use_case=obligation.use_case,
                         after=obligation_view(obligation),
                         reason=f"due {obligation.due_date.isoformat()}, still open on {today.isoformat()}")
            notify_obligation_overdue(obligation=obligation)
            flagged += 1
    return flagged
