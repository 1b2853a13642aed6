"""The pages' wording of the services' refusals, by stable error code, so they read in the person's language.

The API keeps the services' English messages (clients act on the code); a code missing here shows the service's
own message, so a new refusal is never hidden.
"""
import re

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    "invalid_password": _("The password is not correct; nothing was signed."),
    "password_required": _("Re-enter your password to sign."),
    "reauthentication_not_fresh": _("The provider did not ask you to sign in again; nothing was signed."),
    "reauthentication_expired": _("Your confirmation at the provider is too old to sign with; confirm again."),
    "reauthentication_other_person": _("The provider confirmed someone else; nothing was signed."),
    "oidc_claim_missing": _("The provider did not say who you are in the expected claim."),
    "oidc_email_unverified": _("The provider has not verified your e-mail address."),
    "oidc_user_unknown": _("Only people who already have a Driftgate account may sign in with single sign-on."),
    "oidc_username_taken": _("A Driftgate account with this name exists but does not match; ask an administrator."),
    "self_approval": _("You requested this decision, so you cannot sign it."),
    "missing_role": _("You do not hold the role this needs on this use case."),
    "role_not_required": _("This gate is not signed in that role."),
    "signer_already_signed": _("You have already signed this decision; one person signs one role."),
    "role_already_signed": _("That role has already signed this decision."),
    "already_decided": _("This gate has already been decided."),
    "gate_not_in_review": _("This gate is not waiting for a decision."),
    "gate_not_open": _("Only an open gate can be sent for a decision."),
    "gate_already_open": _("This gate is already open."),
    "content_changed": _("The gate's content changed since the decision was proposed; it must be proposed again."),
    "criteria_not_met": _("A go decision needs every automated criterion to pass."),
    "rationale_required": _("A decision needs a rationale."),
    "conditions_required": _("A go with conditions needs at least one condition."),
    "conditions_not_allowed": _("Only a go with conditions carries conditions."),
    "invalid_conditions": _("Each condition needs a title, an owner who holds a role here and a due date that is "
                            "not in the past."),
    "reason_required": _("A reason is required."),
    "evidence_required": _("A required item can only be done with at least one piece of evidence."),
    "evidence_too_large": _("The file is larger than the evidence limit."),
    "evidence_source_required": _("Give a file or a URL (one of them)."),
    "invalid_url": _("Evidence URLs must be valid http or https URLs."),
    "resolution_required": _("Say how the obligation was fulfilled."),
    "obligation_not_open": _("This obligation is already closed."),
    "duplicate_slug": _("A use case with this short name already exists."),
    "duplicate_membership": _("This person already holds this role on the use case."),
    "duplicate_label": _("This use case already has a model version with this label."),
    "duplicate_metric": _("This use case already has a goal for this metric."),
    "unknown_user": _("No active person with this username."),
    "missing_permission": _("You may not do this."),
    "last_governance_owner": _("This is the last governance owner of the use case; appoint another one first."),
    "use_case_retired": _("This use case is retired and can no longer change."),
    "stale_form": _("This changed since you opened the page; nothing was saved. Look at the changes and try again."),
}

# Field messages from the services' `fields` maps that have a fixed wording.
FIELD_MESSAGES = {
    "This field may not be blank.": _("This field is required."),
    "Must be a finite number.": _("Enter a number."),
}


_TOO_LONG = re.compile(r"^Ensure this field has no more than (?P<limit>\d+) characters\.$")


def error_message(code: str, message: str, *, field: str | None = None) -> str:
    """Return the page's wording for a service refusal (a field's message when a field is named)."""
    if field is not None:
        if message in FIELD_MESSAGES:
            return str(FIELD_MESSAGES[message])
        too_long = _TOO_LONG.match(message)
        if too_long:
            return str(_("This is too long: no more than %(limit)s characters.") % {"limit": too_long["limit"]})
        return message
    return str(MESSAGES.get(code, message))
