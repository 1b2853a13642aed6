"""Notification endpoints: the person's inbox and preferences, and a use case's webhooks with their delivery log.

The inbox and preferences belong to a person: sessions only. Webhooks are configured by people too (a token cannot
create an endpoint that receives a use case's events); the services decide who may.
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.pagination import Pagination
from governance.models import Channel, NotificationDelivery, NotificationEvent, Webhook
from governance.notifications.configuration import (
    preferences_of,
    preferences_set,
    webhook_create,
    webhook_delete,
    webhook_get,
    webhook_rotate_secret,
    webhook_update,
    webhooks_of,
)
from governance.notifications.email import absolute_link
from governance.notifications.inbox import (
    email_failures_of,
    inbox_mark_all_read,
    inbox_mark_read,
    inbox_of,
    inbox_unread_count,
)
from governance.notifications.selectors import webhook_delivery_log
from governance.permissions import get_visible_use_case


def _validated(serializer_class: type[serializers.Serializer], request: Request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class InboxEntryOutput(serializers.Serializer):
    """One notification in the person's inbox; `email_error` says when its e-mail to them failed for good."""

    id = serializers.IntegerField()
    event = serializers.ChoiceField(choices=NotificationEvent.choices)
    subject = serializers.CharField()
    body = serializers.CharField()
    url = serializers.CharField()
    use_case = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    email_error = serializers.CharField(allow_null=True)


def _entry_data(entry: NotificationDelivery, failures: dict[int, str]) -> dict:
    notification = entry.notification
    return {"id": entry.pk, "event": notification.event, "subject": notification.subject,
            "body": notification.body, "url": absolute_link(notification.link) if notification.link else "",
            "use_case": notification.use_case.slug if notification.use_case else None,
            "created_at": notification.created_at, "read_at": entry.read_at,
            "email_error": failures.get(notification.pk)}


class _PageOutput(serializers.Serializer):
    """A page of results (`?page=N&page_size=M`)."""

    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)


class InboxPageOutput(_PageOutput):
    """A page of the inbox, with the count of unread notifications."""

    results = InboxEntryOutput(many=True)
    unread = serializers.IntegerField()


_PAGE_PARAMETERS = [OpenApiParameter("page", OpenApiTypes.INT), OpenApiParameter("page_size", OpenApiTypes.INT)]


class InboxView(APIView):
    """The signed-in person's notifications, newest first (`?unread=true` for the unread only)."""

    @extend_schema(parameters=[OpenApiParameter("unread", OpenApiTypes.BOOL), *_PAGE_PARAMETERS],
                   responses=InboxPageOutput)
    def get(self, request: Request) -> Response:
        actor = Actor.from_request(request)
        unread = str(request.query_params.get("unread", "")).lower() in {"1", "true", "yes"}
        paginator = Pagination()
        page = paginator.paginate_queryset(inbox_of(actor=actor, unread_only=unread), request, view=self) or []
        failures = email_failures_of(actor=actor, notification_ids=[entry.notification_id for entry in page])
        response = paginator.get_paginated_response([_entry_data(entry, failures) for entry in page])
        response.data["unread"] = inbox_unread_count(actor=actor)
        return response


class InboxReadView(APIView):
    """Mark one notification read."""

    @extend_schema(request=None, responses=InboxEntryOutput)
    def post(self, request: Request, entry_id: int) -> Response:
        actor = Actor.from_request(request)
        entry = inbox_mark_read(actor=actor, entry_id=entry_id)
        failures = email_failures_of(actor=actor, notification_ids=[entry.notification_id])
        return Response(_entry_data(entry, failures))


class MarkedOutput(serializers.Serializer):
    """How many notifications were marked read."""

    marked = serializers.IntegerField()


class InboxReadAllView(APIView):
    """Mark every unread notification read."""

    @extend_schema(request=None, responses=MarkedOutput)
    def post(self, request: Request) -> Response:
        return Response({"marked": inbox_mark_all_read(actor=Actor.from_request(request))})


class ChannelChoices(serializers.Serializer):
    """Whether the event reaches the person in the inbox and by e-mail."""

    inbox = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class PreferencesInput(serializers.Serializer):
    """{"preferences": {event: {"inbox": bool, "email": bool}}}; events and channels left out stay as they are."""

    preferences = serializers.DictField(child=ChannelChoices())


class PreferencesOutput(serializers.Serializer):
    """Every event with its channels on or off."""

    preferences = serializers.DictField(child=serializers.DictField(child=serializers.BooleanField()))


class PreferencesView(APIView):
    """Read or change which events reach the signed-in person on which channel (changes are audited)."""

    @extend_schema(responses=PreferencesOutput)
    def get(self, request: Request) -> Response:
        return Response({"preferences": preferences_of(user_id=request.user.pk)})

    @extend_schema(request=PreferencesInput, responses=PreferencesOutput)
    def put(self, request: Request) -> Response:
        data = _validated(PreferencesInput, request)
        return Response({"preferences": preferences_set(actor=Actor.from_request(request),
                                                        choices=data["preferences"])})


class WebhookOutput(serializers.Serializer):
    """A webhook of the use case; the secret is never shown again after creation or rotation."""

    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=NotificationEvent.choices))
    slack_format = serializers.BooleanField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookSecretOutput(WebhookOutput):
    """A webhook with its secret (`whsec_...`), returned once."""

    secret = serializers.CharField()


class WebhookInput(serializers.Serializer):
    """Where to send which events, and whether as a Slack-compatible body."""

    url = serializers.CharField(max_length=1000)
    events = serializers.ListField(child=serializers.CharField(max_length=40), max_length=50)
    slack_format = serializers.BooleanField(default=False)


class WebhookPatchInput(serializers.Serializer):
    """The fields to change."""

    url = serializers.CharField(max_length=1000, required=False)
    events = serializers.ListField(child=serializers.CharField(max_length=40), max_length=50, required=False)
    slack_format = serializers.BooleanField(required=False)
    is_active = serializers.BooleanField(required=False)


def _webhook_data(webhook: Webhook) -> dict:
    return {"id": webhook.pk, "url": webhook.url, "events": webhook.events, "slack_format": webhook.slack_format,
            "is_active": webhook.is_active, "created_at": webhook.created_at, "updated_at": webhook.updated_at}


class UseCaseWebhooksView(APIView):
    """List a use case's webhooks (its owners) or add one (governance or platform owner; the secret is shown once)."""

    @extend_schema(responses=WebhookOutput(many=True))
    def get(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        return Response([_webhook_data(webhook) for webhook in webhooks_of(actor=actor, use_case=use_case)])

    @extend_schema(request=WebhookInput, responses={201: WebhookSecretOutput})
    def post(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        data = _validated(WebhookInput, request)
        webhook, secret = webhook_create(actor=actor, use_case=use_case, url=data["url"], events=data["events"],
                                         slack_format=data["slack_format"])
        return Response({**_webhook_data(webhook), "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    """Read, change or remove one webhook."""

    def _webhook(self, request: Request, slug: str, webhook_id: int) -> tuple[Actor, Webhook]:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        return actor, webhook_get(actor=actor, use_case=use_case, webhook_id=webhook_id)

    @extend_schema(responses=WebhookOutput)
    def get(self, request: Request, slug: str, webhook_id: int) -> Response:
        _actor, webhook = self._webhook(request, slug, webhook_id)
        return Response(_webhook_data(webhook))

    @extend_schema(request=WebhookPatchInput, responses=WebhookOutput)
    def patch(self, request: Request, slug: str, webhook_id: int) -> Response:
        actor, webhook = self._webhook(request, slug, webhook_id)
        data = _validated(WebhookPatchInput, request)
        webhook = webhook_update(actor=actor, webhook=webhook, url=data.get("url"), events=data.get("events"),
                                 slack_format=data.get("slack_format"), is_active=data.get("is_active"))
        return Response(_webhook_data(webhook))

    @extend_schema(responses={204: OpenApiResponse(description="Removed; pending deliveries are marked failed.")})
    def delete(self, request: Request, slug: str, webhook_id: int) -> Response:
        actor, webhook = self._webhook(request, slug, webhook_id)
        webhook_delete(actor=actor, webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretView(APIView):
    """Replace a webhook's secret; the new one is returned this once and signs from now on."""

    @extend_schema(request=None, responses=WebhookSecretOutput)
    def post(self, request: Request, slug: str, webhook_id: int) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        webhook = webhook_get(actor=actor, use_case=use_case, webhook_id=webhook_id)
        secret = webhook_rotate_secret(actor=actor, webhook=webhook)
        webhook.refresh_from_db()
        return Response({**_webhook_data(webhook), "secret": secret})


class AttemptOutput(serializers.Serializer):
    """One HTTP attempt."""

    attempt = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class WebhookDeliveryOutput(serializers.Serializer):
    """One message to the webhook: its state (pending, sent, failed) and every attempt."""

    id = serializers.IntegerField()
    message_id = serializers.CharField()
    event = serializers.ChoiceField(choices=NotificationEvent.choices)
    subject = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    last_error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    sent_at = serializers.DateTimeField(allow_null=True)
    log = AttemptOutput(many=True)


class WebhookDeliveryPageOutput(_PageOutput):
    """A page of the delivery log."""

    results = WebhookDeliveryOutput(many=True)


class WebhookDeliveriesView(APIView):
    """The webhook's delivery log, newest first (the use case's product, platform and governance owners)."""

    @extend_schema(parameters=_PAGE_PARAMETERS, responses=WebhookDeliveryPageOutput)
    def get(self, request: Request, slug: str, webhook_id: int) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        webhook = webhook_get(actor=actor, use_case=use_case, webhook_id=webhook_id)
        paginator = Pagination()
        deliveries = (NotificationDelivery.objects.filter(webhook=webhook, channel=Channel.WEBHOOK)
                      .select_related("notification").order_by("-created_at", "-pk"))
        page = paginator.paginate_queryset(deliveries, request, view=self) or []
        return paginator.get_paginated_response(webhook_delivery_log(page))
