"""Login lockouts (django-axes) in the audit log, and the staff path that lifts them."""
from axes.models import AccessAttempt
from axes.utils import reset
from django.db import transaction

from driftgate.actors import Actor, ActorKind
from driftgate.errors import PermissionRefused, ValidationFailed
from governance.audit import audit_record

LOCKED = "auth.login_locked"
UNLOCKED = "auth.login_unlocked"


def login_lockout_record(*, username: str | None, ip_address: str | None, failures: int, path: str,
                         request_id: str = "") -> None:
    """Record that an account or address was locked out of signing in."""
    with transaction.atomic():
        audit_record(actor=Actor.system("login-lockout", request_id=request_id), action=LOCKED,
                     object_type="auth.user", object_id=(username or "")[:80],
                     after={"username": username, "ip_address": ip_address, "failures": failures, "path": path},
                     reason=f"{failures} failed sign-in attempts")


def login_unlock(*, actor: Actor, username: str | None = None, ip_address: str | None = None) -> int:
    """Lift the lockout of an account and/or an address (staff only); return how many attempt records went."""
    if actor.kind == ActorKind.USER and not (actor.user is not None and actor.user.is_staff):
        raise PermissionRefused("Only staff can lift a sign-in lockout.", code="staff_required")
    if not username and not ip_address:
        raise ValidationFailed("Name the account or the address to unlock.", code="unlock_target_required")
    with transaction.atomic():
        matching = AccessAttempt.objects.all()
        if username:
            matching = matching.filter(username=username)
        if ip_address:
            matching = matching.filter(ip_address=ip_address)
        failures = sum(matching.values_list("failures_since_start", flat=True))
        removed = reset(username=username, ip=ip_address)
        audit_record(actor=actor, action=UNLOCKED, object_type="auth.user", object_id=(username or "")[:80],
                     after={"username": username, "ip_address": ip_address, "attempts_removed": removed,
                            "failures_cleared": failures},
                     reason="sign-in lockout lifted by staff")
    return removed
