"""Configuring notifications: webhooks per use case and each person's preferences; every change is audited.

Webhooks are set up by the use case's governance and platform owners (who answer for where its events go) and
read, with their delivery log, by its product, platform and governance owners. A secret is returned only by the
call that creates or rotates it; the audit log records that it changed, never the secret.
"""
from collections.abc import Iterable, Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor, ActorKind
from driftgate.errors import NotFound, PermissionRefused, ValidationFailed
from governance.audit import audit_record
from governance.models import (
    Channel,
    DeliveryStatus,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    Role,
    UseCase,
    Webhook,
)
from governance.notifications import actions
from governance.notifications.signing import encrypt_secret, new_secret
from governance.notifications.webhooks import webhook_url_check
from governance.permissions import require_role

WEBHOOK_MANAGERS = (Role.GOVERNANCE_OWNER, Role.PLATFORM_OWNER)
WEBHOOK_READERS = (Role.PRODUCT_OWNER, Role.PLATFORM_OWNER, Role.GOVERNANCE_OWNER)
PERSON_CHANNELS = (Channel.INBOX, Channel.EMAIL)


def webhook_view(webhook: Webhook) -> dict:
    """Return the webhook's fields as recorded in audit events (never the secret)."""
    return {"url": webhook.url, "events": webhook.events, "slack_format": webhook.slack_format,
            "is_active": webhook.is_active}


def _clean_events(events: Iterable[str] | None) -> list[str]:
    if events is None or isinstance(events, str | bytes) or not isinstance(events, Iterable):
        raise ValidationFailed("Choose the events as a list of event codes.", code="invalid_events",
                               extra={"valid": NotificationEvent.values, "fields": {"events": ["A list is needed."]}})
    chosen = [str(event) for event in events]
    unknown = sorted(set(chosen) - set(NotificationEvent.values))
    if unknown:
        raise ValidationFailed(f"Unknown events: {', '.join(unknown)}.", code="invalid_events",
                               extra={"unknown": unknown, "valid": NotificationEvent.values,
                                      "fields": {"events": [f"Unknown events: {', '.join(unknown)}."]}})
    if not chosen:
        raise ValidationFailed("Choose at least one event.", code="events_required",
                               extra={"fields": {"events": ["Choose at least one event."]}})
    return [event for event in NotificationEvent.values if event in set(chosen)]


def _require_person(actor: Actor, what: str) -> AbstractBaseUser:
    if actor.kind != ActorKind.USER or actor.user is None:
        raise PermissionRefused(f"Only a signed-in person can {what}.", code="person_required")
    return actor.user


def webhook_create(*, actor: Actor, use_case: UseCase, url: str, events: Iterable[str],
                   slack_format: bool = False) -> tuple[Webhook, str]:
    """Add a webhook to a use case; return it with its secret, which is shown this once."""
    person = _require_person(actor, "set up webhooks")
    require_role(actor=actor, use_case=use_case, roles=WEBHOOK_MANAGERS, action="set up webhooks")
    url = webhook_url_check(url)
    chosen = _clean_events(events)
    secret = new_secret()
    with transaction.atomic():
        webhook = Webhook.objects.create(use_case=use_case, url=url, events=chosen, slack_format=bool(slack_format),
                                         secret_encrypted=encrypt_secret(secret), created_by_id=person.pk)
        audit_record(actor=actor, action=actions.WEBHOOK_CREATED, obj=webhook, use_case=use_case,
                     after=webhook_view(webhook))
    return webhook, secret


def _locked(webhook: Webhook) -> Webhook:
    return Webhook.objects.select_for_update().select_related("use_case").get(pk=webhook.pk)


def webhook_update(*, actor: Actor, webhook: Webhook, url: str | None = None, events: Iterable[str] | None = None,
                   slack_format: bool | None = None, is_active: bool | None = None) -> Webhook:
    """Change a webhook's URL, events, body format or whether it is active."""
    _require_person(actor, "change webhooks")
    require_role(actor=actor, use_case=webhook.use_case, roles=WEBHOOK_MANAGERS, action="change webhooks")
    clean_url = webhook_url_check(url) if url is not None else None
    chosen = _clean_events(events) if events is not None else None
    with transaction.atomic():
        webhook = _locked(webhook)
        before = webhook_view(webhook)
        if clean_url is not None:
            webhook.url = clean_url
        if chosen is not None:
            webhook.events = chosen
        if slack_format is not None:
            webhook.slack_format = bool(slack_format)
        if is_active is not None:
            webhook.is_active = bool(is_active)
        if webhook_view(webhook) != before:
            webhook.save()
            audit_record(actor=actor, action=actions.WEBHOOK_UPDATED, obj=webhook, use_case=webhook.use_case,
                         before=before, after=webhook_view(webhook))
    return webhook


def webhook_rotate_secret(*, actor: Actor, webhook: Webhook) -> str:
    """Replace the webhook's secret and return the new one, shown this once; the old one stops signing at once."""
    _require_person(actor, "rotate webhook secrets")
    require_role(actor=actor, use_case=webhook.use_case, roles=WEBHOOK_MANAGERS, action="rotate webhook secrets")
    secret = new_secret()
    with transaction.atomic():
        webhook = _locked(webhook)
        webhook.secret_encrypted = encrypt_secret(secret)
        webhook.save(update_fields=["secret_encrypted", "updated_at"])
        audit_record(actor=actor, action=actions.WEBHOOK_SECRET_ROTATED, obj=webhook, use_case=webhook.use_case,
                     after={"url": webhook.url, "rotated_at": timezone.now()})
    return secret


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    """Remove a webhook; its deliveries still pending end as failed, so none disappears unseen."""
    _require_person(actor, "remove webhooks")
    require_role(actor=actor, use_case=webhook.use_case, roles=WEBHOOK_MANAGERS, action="remove webhooks")
    with transaction.atomic():
        webhook = _locked(webhook)
        before = webhook_view(webhook)
        abandoned = (NotificationDelivery.objects.filter(webhook=webhook, status=DeliveryStatus.PENDING)
                     .update(status=DeliveryStatus.FAILED, last_error="the webhook was deleted",
                             claimed_until=None, updated_at=timezone.now()))
        audit_record(actor=actor, action=actions.WEBHOOK_DELETED, obj=webhook, use_case=webhook.use_case,
                     before=before, after={"pending_deliveries_failed": abandoned})
        webhook.delete()


def webhooks_of(*, actor: Actor, use_case: UseCase) -> list[Webhook]:
    """Return the use case's webhooks for its owners."""
    require_role(actor=actor, use_case=use_case, roles=WEBHOOK_READERS, action="see its webhooks")
    return list(Webhook.objects.filter(use_case=use_case).order_by("pk"))


def webhook_get(*, actor: Actor, use_case: UseCase, webhook_id: int) -> Webhook:
    """Return one webhook of the use case for its owners, or NotFound."""
    require_role(actor=actor, use_case=use_case, roles=WEBHOOK_READERS, action="see its webhooks")
    webhook = Webhook.objects.filter(use_case=use_case, pk=webhook_id).select_related("use_case").first()
    if webhook is None:
        raise NotFound(f"Webhook {webhook_id} does not exist on {use_case.slug!r}.", code="webhook_not_found",
                       extra={"webhook": webhook_id})
    return webhook


def preferences_of(*, user_id: int | None) -> dict[str, dict[str, bool]]:
    """Return {event: {channel: enabled}} for the person; without a saved choice, every channel is on."""
    rows = NotificationPreference.objects.filter(user_id=user_id) if user_id is not None else []
    saved = {(p.event, p.channel): p.enabled for p in rows}
    return {event: {channel: saved.get((event, channel), True) for channel in PERSON_CHANNELS}
            for event in NotificationEvent.values}


def preferences_set(*, actor: Actor, choices: Mapping[str, Mapping[str, bool]]) -> dict[str, dict[str, bool]]:
    """Save the person's choices ({event: {channel: enabled}}, partial allowed) and audit what changed."""
    user = _require_person(actor, "choose notifications")
    if not isinstance(choices, Mapping):
        raise ValidationFailed("Preferences are an object of events to channels.", code="invalid_preferences")
    cleaned: dict[tuple[str, str], bool] = {}
    for event, channels in choices.items():
        if event not in NotificationEvent.values or not isinstance(channels, Mapping):
            raise ValidationFailed(f"Unknown event {event!r}.", code="invalid_preferences",
                                   extra={"event": str(event), "valid": NotificationEvent.values})
        for channel, enabled in channels.items():
            if channel not in PERSON_CHANNELS or not isinstance(enabled, bool):
                raise ValidationFailed(f"{event}: the channels are inbox and email, each true or false.",
                                       code="invalid_preferences", extra={"event": event, "channel": str(channel)})
            cleaned[(event, channel)] = enabled
    with transaction.atomic():
        # The person's row is the lock: two saves at once apply one after the other, each audited against the last.
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        before = preferences_of(user_id=user.pk)
        changed = {key: value for key, value in cleaned.items() if before[key[0]][key[1]] != value}
        for (event, channel), enabled in changed.items():
            NotificationPreference.objects.update_or_create(user_id=user.pk, event=event, channel=channel,
                                                            defaults={"enabled": enabled})
        after = preferences_of(user_id=user.pk)
        if changed:
            audit_record(actor=actor, action=actions.PREFERENCES_CHANGED, object_type=user._meta.label_lower,
                         object_id=user.pk,
                         before={f"{event}.{channel}": before[event][channel] for event, channel in changed},
                         after={f"{event}.{channel}": enabled for (event, channel), enabled in changed.items()})
    return after
