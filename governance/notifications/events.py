"""The governance events that notify someone: what each says, to whom, and which page it links to.

Each function runs inside the service's transaction, after the state change it announces. Texts are rendered in
the site's language (LANGUAGE_CODE) when written, as one notification goes to several people.
"""
from datetime import date

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from governance.models import (
    Decision,
    Gate,
    Notification,
    NotificationEvent,
    Obligation,
    Role,
    UseCase,
)
from governance.notifications.audiences import audience, holders_of
from governance.notifications.outbox import notify


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else _("Driftgate")


def notify_decision_requested(*, gate: Gate) -> Notification | None:
    """Tell the people who must sign that a gate waits for their decision."""
    use_case = gate.use_case
    signers = holders_of(use_case_ids=[use_case.pk], roles=gate.required_roles,
                         exclude=[gate.requested_by_id] if gate.requested_by_id else [])
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Decision requested: gate %(number)s of %(name)s") % {"number": gate.number, "name": use_case.name}
        body = _("%(who)s asks for a decision on gate %(number)s of %(name)s (%(slug)s). It is signed by: "
                 "%(roles)s.") % {"who": _who(gate.requested_by), "number": gate.number, "name": use_case.name,
                                  "slug": use_case.slug,
                                  "roles": ", ".join(str(Role(role).label) for role in gate.required_roles)}
    return notify(event=NotificationEvent.DECISION_REQUESTED, use_case=use_case, recipients=signers,
                  subject=subject, body=body, link=reverse("governance:gate-decide", args=[gate.pk]),
                  payload={"gate": gate.pk, "gate_number": gate.number, "required_roles": gate.required_roles})


def notify_signature_needed(*, decision: Decision) -> Notification | None:
    """Tell the holders of the roles that have not signed a pending decision that their signature is needed."""
    gate = decision.gate
    use_case = gate.use_case
    signed = list(decision.signatures.values_list("role", "signer_id"))
    missing = [role for role in gate.required_roles if role not in {role for role, _signer in signed}]
    if not missing:
        return None
    exclude = [signer for _role, signer in signed] + ([gate.requested_by_id] if gate.requested_by_id else [])
    people = holders_of(use_case_ids=[use_case.pk], roles=missing, exclude=exclude)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Your signature is needed: gate %(number)s of %(name)s") % {
            "number": gate.number, "name": use_case.name}
        body = _("%(who)s proposed “%(outcome)s” on gate %(number)s of %(name)s and signed it. Still to sign: "
                 "%(roles)s.") % {"who": _who(decision.proposed_by), "outcome": decision.get_outcome_display(),
                                  "number": gate.number, "name": use_case.name,
                                  "roles": ", ".join(str(Role(role).label) for role in missing)}
    return notify(event=NotificationEvent.SIGNATURE_NEEDED, use_case=use_case, recipients=people, subject=subject,
                  body=body, link=reverse("governance:decision", args=[decision.pk]),
                  payload={"decision": decision.pk, "gate": gate.pk, "outcome": decision.outcome,
                           "missing_roles": missing})


def notify_decision_final(*, decision: Decision) -> Notification | None:
    """Tell the use case's people that a decision is final."""
    gate = decision.gate
    use_case = gate.use_case
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Decision final: %(outcome)s on gate %(number)s of %(name)s") % {
            "outcome": decision.get_outcome_display(), "number": gate.number, "name": use_case.name}
        body = _("The decision on gate %(number)s of %(name)s is final: %(outcome)s. Rationale: %(rationale)s") % {
            "number": gate.number, "name": use_case.name, "outcome": decision.get_outcome_display(),
            "rationale": decision.rationale}
    return notify(event=NotificationEvent.DECISION_FINAL, use_case=use_case,
                  recipients=audience(event=NotificationEvent.DECISION_FINAL, use_case=use_case), subject=subject,
                  body=body, link=reverse("governance:decision", args=[decision.pk]),
                  payload={"decision": decision.pk, "gate": gate.pk, "gate_number": gate.number,
                           "outcome": decision.outcome, "gate_status": gate.status})


def notify_obligation_due(*, obligation: Obligation, today: date) -> Notification | None:
    """Tell an obligation's owner it falls due within a week; once per obligation and due date."""
    use_case = obligation.use_case
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Obligation due on %(due)s: %(title)s") % {"due": obligation.due_date.isoformat(),
                                                              "title": obligation.title}
        body = _("Your obligation “%(title)s” on %(name)s is due on %(due)s (in %(days)s days). Fulfil it with the "
                 "evidence, or an overdue obligation blocks the next gate.") % {
            "title": obligation.title, "name": use_case.name, "due": obligation.due_date.isoformat(),
            "days": (obligation.due_date - today).days}
    return notify(event=NotificationEvent.OBLIGATION_DUE, use_case=use_case, recipients=[obligation.owner],
                  subject=subject, body=body, link=reverse("governance:obligations-mine"),
                  payload={"obligation": obligation.pk, "due_date": obligation.due_date.isoformat()},
                  dedup_key=f"obligation_due:{obligation.pk}:{obligation.due_date.isoformat()}")


def notify_obligation_overdue(*, obligation: Obligation) -> Notification | None:
    """Tell the owner and the governance owners that an obligation is overdue; once per obligation and due date."""
    use_case = obligation.use_case
    people = [obligation.owner, *audience(event=NotificationEvent.OBLIGATION_OVERDUE, use_case=use_case)]
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Obligation overdue: %(title)s") % {"title": obligation.title}
        body = _("“%(title)s” on %(name)s was due on %(due)s and is still open (owner: %(owner)s). It blocks the "
                 "next gate until it is fulfilled or waived.") % {
            "title": obligation.title, "name": use_case.name, "due": obligation.due_date.isoformat(),
            "owner": _who(obligation.owner)}
    return notify(event=NotificationEvent.OBLIGATION_OVERDUE, use_case=use_case, recipients=people, subject=subject,
                  body=body, link=reverse("governance:use-case-obligations", args=[use_case.slug]),
                  payload={"obligation": obligation.pk, "due_date": obligation.due_date.isoformat()},
                  dedup_key=f"obligation_overdue:{obligation.pk}:{obligation.due_date.isoformat()}")


def notify_approval_expiring(*, gate: Gate) -> Notification | None:
    """Tell governance and product owners that a gate-3 approval lapses within 30 days; once per approval."""
    use_case = gate.use_case
    expires = gate.expires_at.date().isoformat() if gate.expires_at else ""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Approval of %(name)s expires on %(date)s") % {"name": use_case.name, "date": expires}
        body = _("The gate-3 certification of %(name)s (%(slug)s) expires on %(date)s. A new gate 3 opens then; "
                 "prepare its evidence now so the use case stays certified.") % {
            "name": use_case.name, "slug": use_case.slug, "date": expires}
    return notify(event=NotificationEvent.APPROVAL_EXPIRING, use_case=use_case,
                  recipients=audience(event=NotificationEvent.APPROVAL_EXPIRING, use_case=use_case),
                  subject=subject, body=body, link=reverse("governance:gate", args=[gate.pk]),
                  payload={"gate": gate.pk, "expires_at": gate.expires_at},
                  dedup_key=f"approval_expiring:{gate.pk}:{expires}")


def notify_use_case_halted(*, use_case: UseCase, reason: str, by: str) -> Notification | None:
    """Tell governance and platform owners at once that a use case is halted."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Halted: %(name)s") % {"name": use_case.name}
        body = _("%(name)s (%(slug)s) is halted by %(by)s: %(reason)s. Its CI status is red until a governance or "
                 "platform owner resumes it.") % {"name": use_case.name, "slug": use_case.slug, "by": by,
                                                   "reason": reason}
    return notify(event=NotificationEvent.USE_CASE_HALTED, use_case=use_case,
                  recipients=audience(event=NotificationEvent.USE_CASE_HALTED, use_case=use_case), subject=subject,
                  body=body, link=reverse("governance:use-case", args=[use_case.slug]),
                  payload={"halted": True, "reason": reason, "halted_at": use_case.halted_at})
