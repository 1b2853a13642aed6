"""Notification pages: the inbox (also on the home page), preferences, and a use case's webhooks with their log."""
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from driftgate.errors import ApplicationError
from governance.models import Channel, NotificationDelivery, NotificationEvent
from governance.notifications.configuration import (
    WEBHOOK_MANAGERS,
    preferences_of,
    preferences_set,
    webhook_create,
    webhook_delete,
    webhook_get,
    webhook_rotate_secret,
    webhook_update,
    webhooks_of,
)
from governance.notifications.inbox import email_failures_of, inbox_mark_all_read, inbox_mark_read, inbox_of
from governance.notifications.selectors import webhook_delivery_log
from governance.pages.forms import ServiceForm
from governance.pages.views.common import actor_of, page, refusal_text, render_page
from governance.permissions import roles_of
from governance.selectors.inventory import use_case_get

INBOX_PAGE_SIZE = 100
LOG_SIZE = 50


def inbox_rows(request: HttpRequest, *, limit: int) -> list[dict]:
    """Return the person's newest inbox entries with the error of any e-mail of theirs that failed for good."""
    actor = actor_of(request)
    entries = list(inbox_of(actor=actor)[:limit])
    failures = email_failures_of(actor=actor, notification_ids=[entry.notification_id for entry in entries])
    return [{"entry": entry, "notification": entry.notification, "email_error": failures.get(entry.notification_id)}
            for entry in entries]


@page()
def inbox_page(request: HttpRequest) -> HttpResponse:
    """Every notification of the person, newest first."""
    return render_page(request, "governance/notifications/inbox.html",
                       {"rows": inbox_rows(request, limit=INBOX_PAGE_SIZE), "nav_section": "notifications"})


@page(("POST",))
def inbox_read(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Mark one notification read and go to its page when asked to open it."""
    entry = inbox_mark_read(actor=actor_of(request), entry_id=entry_id)
    if request.POST.get("open") and entry.notification.link:
        return redirect(entry.notification.link)
    return redirect("notifications:inbox")


@page(("POST",))
def inbox_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every notification read."""
    count = inbox_mark_all_read(actor=actor_of(request))
    messages.success(request, _("%(count)s notifications marked read.") % {"count": count})
    return redirect("notifications:inbox")


@page(("GET", "POST"))
def preferences_page(request: HttpRequest) -> HttpResponse:
    """Which events reach the person in the inbox and by e-mail."""
    actor = actor_of(request)
    if request.method == "POST":
        choices: dict[str, dict[str, bool]] = {
            event: {str(channel): f"{event}.{channel}" in request.POST for channel in (Channel.INBOX, Channel.EMAIL)}
            for event in NotificationEvent.values}
        try:
            preferences_set(actor=actor, choices=choices)
        except ApplicationError as exc:
            messages.error(request, refusal_text(exc))
        else:
            messages.success(request, _("Your notification choices are saved."))
        return redirect("notifications:preferences")
    current = preferences_of(user_id=request.user.pk)
    rows = [{"event": event, "label": label, "inbox": current[event][Channel.INBOX],
             "email": current[event][Channel.EMAIL]} for event, label in EVENT_LABELS.items()]
    return render_page(request, "governance/notifications/preferences.html",
                       {"rows": rows, "nav_section": "notifications", "has_email": bool(getattr(request.user, "email", ""))})


EVENT_LABELS = {
    NotificationEvent.DECISION_REQUESTED.value: gettext_lazy("Decision requested"),
    NotificationEvent.SIGNATURE_NEEDED.value: gettext_lazy("Your signature is needed"),
    NotificationEvent.DECISION_FINAL.value: gettext_lazy("Decision final"),
    NotificationEvent.OBLIGATION_DUE.value: gettext_lazy("Obligation due in 7 days"),
    NotificationEvent.OBLIGATION_OVERDUE.value: gettext_lazy("Obligation overdue"),
    NotificationEvent.APPROVAL_EXPIRING.value: gettext_lazy("Approval expiring in 30 days"),
    NotificationEvent.REVIEW_ALERT.value: gettext_lazy("Review alert"),
    NotificationEvent.STOP_ALERT.value: gettext_lazy("Stop alert"),
    NotificationEvent.USE_CASE_HALTED.value: gettext_lazy("Use case halted"),
    NotificationEvent.SIGNING_LOCKED.value: gettext_lazy("Repeated failed signature attempts"),
}


class WebhookForm(ServiceForm):
    """Add a webhook: where, which events, which body."""

    url = forms.CharField(label=gettext_lazy("URL"), max_length=1000,
                          help_text=gettext_lazy("An http or https address outside this server, e.g. a Slack "
                                                 "incoming-webhook URL."))
    events = forms.MultipleChoiceField(label=gettext_lazy("Events"), widget=forms.CheckboxSelectMultiple,
                                       choices=list(EVENT_LABELS.items()), required=False)
    slack_format = forms.BooleanField(label=gettext_lazy("Slack-compatible body ({\"text\": …})"), required=False)
    error_fields = {"invalid_events": "events", "events_required": "events"}


def _webhooks_context(request: HttpRequest, slug: str, form: WebhookForm | None = None, **extra) -> dict:
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    webhooks = webhooks_of(actor=actor, use_case=use_case)
    rows = []
    for webhook in webhooks:
        deliveries = list(NotificationDelivery.objects.filter(webhook=webhook).select_related("notification")
                          .order_by("-created_at", "-pk")[:LOG_SIZE])
        rows.append({"webhook": webhook, "log": webhook_delivery_log(deliveries),
                     "events": [EVENT_LABELS.get(event, event) for event in webhook.events]})
    may_manage = bool(roles_of(actor, use_case) & {str(role) for role in WEBHOOK_MANAGERS}) or request.user.is_superuser
    return {"use_case": use_case, "rows": rows, "may_manage": may_manage, "form": form or WebhookForm(),
            "nav_section": "use-cases", "current_use_case_slug": use_case.slug, **extra}


@page(("GET", "POST"))
def webhooks_page(request: HttpRequest, slug: str) -> HttpResponse:
    """A use case's webhooks, their delivery log, and the form to add one (its secret is shown once)."""
    form = WebhookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = actor_of(request)
        try:
            webhook, secret = webhook_create(actor=actor, use_case=use_case_get(actor=actor, slug=slug),
                                             url=form.cleaned_data["url"], events=form.cleaned_data["events"],
                                             slack_format=form.cleaned_data["slack_format"])
        except ApplicationError as exc:
            form.show_error(exc)
        else:
            # Rendered, not redirected: the secret must not travel through a session or a URL.
            return render_page(request, "governance/notifications/webhooks.html",
                               _webhooks_context(request, slug, new_secret=secret, secret_webhook=webhook))
    status = 400 if form.is_bound and form.errors else 200
    return render_page(request, "governance/notifications/webhooks.html", _webhooks_context(request, slug, form=form),
                       status=status)


@page(("POST",))
def webhook_action(request: HttpRequest, slug: str, webhook_id: int) -> HttpResponse:
    """Switch a webhook on or off, rotate its secret (shown once), or remove it."""
    actor = actor_of(request)
    use_case = use_case_get(actor=actor, slug=slug)
    action = request.POST.get("action", "")
    try:
        webhook = webhook_get(actor=actor, use_case=use_case, webhook_id=webhook_id)
        if action == "rotate":
            secret = webhook_rotate_secret(actor=actor, webhook=webhook)
            return render_page(request, "governance/notifications/webhooks.html",
                               _webhooks_context(request, slug, new_secret=secret, secret_webhook=webhook))
        if action == "delete":
            webhook_delete(actor=actor, webhook=webhook)
            messages.success(request, _("The webhook is removed."))
        elif action in ("activate", "deactivate"):
            webhook_update(actor=actor, webhook=webhook, is_active=action == "activate")
            messages.success(request, _("The webhook is switched on.") if action == "activate"
                             else _("The webhook is switched off."))
        else:
            messages.error(request, _("Unknown action."))
    except ApplicationError as exc:
        messages.error(request, refusal_text(exc))
    return redirect("notifications:webhooks", slug=slug)
