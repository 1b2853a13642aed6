"""Locking e-signatures after repeated wrong passwords, and telling the governance owners (21 CFR 11.300(d)).

The audit log is the record of failed re-entries (`signature.failed`), so it is also what is counted: there is
no second counter that could disagree with it. Three failures within 15 minutes write `signature.locked`; for
15 minutes after it every signing attempt by that person is refused with 429 before the password is checked,
so a locked account gives no password oracle. Counting starts again after the last lock, so the failures that
caused one lock never cause the next. The governance owners of every use case the failures touched are notified
through the outbox (`signing_locked`: inbox, e-mail, webhooks), written with the lock and delivered after commit; the
delivery rows record whether each report went out.
"""
import math
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework import status

from driftgate.actors import Actor, ActorKind
from driftgate.errors import ApplicationError, PermissionRefused, ValidationFailed
from governance.audit import AuditAction, audit_record
from governance.models import AuditEvent, NotificationEvent, Role, UseCase
from governance.notifications.outbox import notify

FAILED = AuditAction.SIGNATURE_FAILED
LOCKED = "signature.locked"


class SigningLocked(ApplicationError):
    """Signing is blocked for this person after repeated wrong passwords; `Retry-After` says for how long."""

    code = "signing_locked"
    status_code = status.HTTP_429_TOO_MANY_REQUESTS

    def __init__(self, *, locked_until, retry_after: int) -> None:
        super().__init__(
            _("Signing is locked after repeated wrong passwords; try again after %(until)s.")
            % {"until": locked_until.isoformat(timespec="seconds")},
            extra={"locked_until": locked_until, "retry_after": retry_after})
        self.retry_after = retry_after


def _window() -> timedelta:
    return timedelta(seconds=settings.DRIFTGATE_SIGNING_FAILURE_WINDOW_SECONDS)


def _lockout() -> timedelta:
    return timedelta(seconds=settings.DRIFTGATE_SIGNING_LOCKOUT_SECONDS)


def signing_lock_check(*, user) -> None:
    """Refuse with SigningLocked (429) while the person's last signing lock lasts."""
    now = timezone.now()
    lock = (AuditEvent.objects.filter(action=LOCKED, actor_user=user, created_at__gt=now - _lockout())
            .order_by("-sequence").only("created_at").first())
    if lock is None:
        return
    until = lock.created_at + _lockout()
    raise SigningLocked(locked_until=until, retry_after=max(1, math.ceil((until - now).total_seconds())))


def reauthenticate(*, actor: Actor, password: str, use_case: UseCase, target: Model, what: str, done: str,
                   person_code: str, role: str = "", purpose: str = "",
                   authorise: Callable[[], None] | None = None) -> None:
    """Re-authenticate a person deciding `what` with their password (21 CFR 11.200): stop confirmations, resumes.

    A machine cannot take such a decision, so a token is refused (403, `person_code`) before anything else.
    `authorise` runs once the person is known and before the password is tried, so someone who may not act
    never adds to the failure count. A wrong password is recorded in its own transaction and counts towards
    the same lock as a wrong password at signing. Signatures also accept an OpenID Connect re-authentication
    (`governance.services.decisions`); they share this lock and its failure record.
    """
    # The API keeps these English messages (clients act on the code); the pages word them by code.
    if actor.kind != ActorKind.USER or actor.user is None or not actor.user.is_authenticated:
        raise PermissionRefused(f"Only a signed-in person can {what}; tokens cannot.", code=person_code)
    if not password:
        raise ValidationFailed(f"Re-enter your password to {what}.", code="password_required")
    if authorise is not None:
        authorise()
    # Before the password is checked: a locked person learns nothing about the password they try.
    signing_lock_check(user=actor.user)
    if not actor.user.check_password(password):
        signing_failure_record(actor=actor, use_case=use_case, target=target, role=role, purpose=purpose)
        raise PermissionRefused(f"The password is not correct; nothing was {done}.", code="invalid_password")


def signing_failure_record(*, actor: Actor, use_case: UseCase, target: Model, role: str = "", purpose: str = "",
                           reason: str = "the re-entered password did not match", method: str = "password") -> None:
    """Record a failed re-authentication in its own transaction; the one that reaches the limit locks signing."""
    user = actor.person
    # A signature names the role it was for; a stop confirmation or a resume names its purpose instead.
    after: dict[str, str] = {"role": role} if role else {}
    if purpose:
        after["purpose"] = purpose
    if method != "password":
        after["auth_method"] = method
    with transaction.atomic():
        audit_record(actor=actor, action=FAILED, obj=target, use_case=use_case, after=after, reason=reason)
        # audit_record holds the chain lock until commit, so two failures racing are counted one after the other.
        now = timezone.now()
        last_lock = AuditEvent.objects.filter(action=LOCKED, actor_user=user).order_by("-sequence").first()
        failures = AuditEvent.objects.filter(action=FAILED, actor_user=user, created_at__gt=now - _window())
        if last_lock is not None:
            failures = failures.filter(sequence__gt=last_lock.sequence)
        failed_in = list(failures.values_list("use_case_id", flat=True))
        if len(failed_in) < settings.DRIFTGATE_SIGNING_MAX_FAILURES:
            return
        use_case_ids = sorted({pk for pk in failed_in if pk is not None})
        owners = list(get_user_model().objects.filter(
            memberships__use_case_id__in=use_case_ids, memberships__role=Role.GOVERNANCE_OWNER, is_active=True)
            .exclude(pk=user.pk).distinct().order_by("username"))
        until = now + _lockout()
        lock = audit_record(
            actor=actor, action=LOCKED, object_type=user._meta.label_lower, object_id=user.pk, use_case=use_case,
            after={"failures": len(failed_in), "window_seconds": int(_window().total_seconds()),
                   "locked_until": until, "use_cases": use_case_ids,
                   "notify": [owner.get_username() for owner in owners]},
            reason=f"{len(failed_in)} wrong passwords at signing within {int(_window().total_seconds() // 60)} minutes")
        _report(lock=lock, owners=owners, use_case=use_case)


def _message(*, lock: AuditEvent, use_cases: list[UseCase]) -> tuple[str, str]:
    after = lock.after or {}
    names = ", ".join(f"{uc.name} ({uc.slug})" for uc in use_cases)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("E-signature locked for %(person)s") % {"person": lock.actor_display}
        body = _(
            "%(person)s entered a wrong password %(failures)s times within %(minutes)s minutes while signing "
            "decisions on: %(use_cases)s.\n\n"
            "Signing is locked for this person until %(until)s (UTC). Nothing was signed.\n"
            "21 CFR 11.300(d) asks that attempts at unauthorised use are detected and reported: check with the "
            "person that it was them, and review the audit log (event %(sequence)s).\n"
        ) % {"person": lock.actor_display, "failures": after["failures"], "minutes": after["window_seconds"] // 60,
             "use_cases": names, "until": after["locked_until"], "sequence": lock.sequence}
    return subject, body


def _report(*, lock: AuditEvent, owners: list, use_case: UseCase) -> None:
    """Write the governance owners' notification in the lock's transaction; the outbox delivers it after commit."""
    after = lock.after or {}
    use_cases = list(UseCase.objects.filter(pk__in=after["use_cases"]).order_by("slug"))
    subject, body = _message(lock=lock, use_cases=use_cases)
    notify(event=NotificationEvent.SIGNING_LOCKED, use_case=use_case, recipients=owners, subject=subject, body=body,
           link=reverse("audit:list"),
           payload={"person": lock.actor_display, "audit_sequence": lock.sequence,
                    "failures": after["failures"], "locked_until": after["locked_until"],
                    "use_cases": [uc.slug for uc in use_cases]})
