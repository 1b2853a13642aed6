"""Webhooks against a real local HTTP receiver: Standard Webhooks headers a receiver can verify, the Slack body,
retries until success or failure, the delivery log, and the URLs that are refused."""
import base64
import hashlib
import hmac
import json

import pytest
from django.db import transaction

from driftgate.errors import PermissionRefused, ValidationFailed
from governance.models import AuditEvent, Channel, DeliveryStatus, NotificationDelivery, Webhook, WebhookAttempt
from governance.notifications import actions
from governance.notifications.configuration import (
    webhook_create,
    webhook_delete,
    webhook_rotate_secret,
    webhook_update,
)
from governance.notifications.signing import decrypt_secret
from governance.notifications.webhooks import webhook_url_check
from governance.services.gates import gate_open, gate_request_decision
from tests.governance.gates_setup import complete_required_items
from tests.governance.notifications.receivers import webhook_receiver


def _receiver_verifies(secret: str, request: dict) -> bool:
    """Verify as a receiver would, written from the Standard Webhooks specification rather than the code."""
    headers = request["headers"]
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + request["body"]
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(part == f"v1,{expected}" for part in headers["webhook-signature"].split(" "))


def _request_decision(team, django_capture_on_commit_callbacks):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    with django_capture_on_commit_callbacks(execute=True):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    return gate


def test_a_subscribed_webhook_receives_a_signed_standard_webhooks_message(
        team, receiver, fast_retries, django_capture_on_commit_callbacks):
    webhook, secret = webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case, url=receiver.url,
                                     events=["decision_requested", "decision_final"])

    gate = _request_decision(team, django_capture_on_commit_callbacks)

    assert secret.startswith("whsec_") and secret not in webhook.secret_encrypted
    assert decrypt_secret(webhook.secret_encrypted) == secret
    [request] = receiver.requests
    assert request["path"] == "/hooks/driftgate" and request["headers"]["content-type"] == "application/json"
    assert request["headers"]["webhook-id"].startswith("msg_")
    assert _receiver_verifies(secret, request)
    assert not _receiver_verifies("whsec_" + base64.b64encode(b"another secret, another sender.").decode(), request)
    body = json.loads(request["body"])
    assert body["type"] == "driftgate.decision_requested"
    assert body["data"]["use_case"] == team.use_case.slug and body["data"]["gate"] == gate.pk
    assert body["data"]["url"] == f"http://driftgate.example/gates/{gate.pk}/decide/"
    attempt = WebhookAttempt.objects.get(webhook=webhook)
    assert (attempt.attempt, attempt.status_code, attempt.error) == (1, 204, "")


def test_a_tampered_body_fails_the_receivers_check(team, receiver, fast_retries, django_capture_on_commit_callbacks):
    _webhook, secret = webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case,
                                      url=receiver.url, events=["decision_requested"])
    _request_decision(team, django_capture_on_commit_callbacks)

    request = dict(receiver.requests[0])
    request["body"] = request["body"].replace(b"decision_requested", b"decision_final")

    assert not _receiver_verifies(secret, request)


def test_an_endpoint_that_does_not_subscribe_to_the_event_receives_nothing(
        team, receiver, fast_retries, django_capture_on_commit_callbacks):
    webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case, url=receiver.url,
                   events=["stop_alert"])

    _request_decision(team, django_capture_on_commit_callbacks)

    assert receiver.requests == [] and not NotificationDelivery.objects.filter(channel=Channel.WEBHOOK).exists()


def test_the_slack_body_is_a_text_with_the_link(team, receiver, fast_retries, django_capture_on_commit_callbacks):
    webhook_create(actor=team.actor("platform_owner"), use_case=team.use_case, url=receiver.url,
                   events=["decision_requested"], slack_format=True)

    gate = _request_decision(team, django_capture_on_commit_callbacks)

    [body] = receiver.bodies()
    assert list(body) == ["text"]
    assert body["text"].startswith("*Decision requested: gate 1 of")
    assert f"<http://driftgate.example/gates/{gate.pk}/decide/|Open in Driftgate>" in body["text"]


def test_a_receiver_that_fails_twice_gets_the_message_on_the_third_attempt(
        team, fast_retries, django_capture_on_commit_callbacks):
    with webhook_receiver(fail_first=2) as receiver:
        webhook, secret = webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case,
                                         url=receiver.url, events=["decision_requested"])
        _request_decision(team, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 3 and all(_receiver_verifies(secret, r) for r in receiver.requests)
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1
    delivery = NotificationDelivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert list(webhook.attempts.order_by("attempt").values_list("attempt", "status_code")) == [
        (1, 500), (2, 500), (3, 204)]


def test_a_receiver_that_never_answers_2xx_ends_failed_after_the_last_attempt(
        team, fast_retries, django_capture_on_commit_callbacks):
    fast_retries.DRIFTGATE_NOTIFY_MAX_ATTEMPTS = 4
    with webhook_receiver(fail_first=100) as receiver:
        webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case, url=receiver.url,
                       events=["decision_requested"])
        _request_decision(team, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 4
    delivery = NotificationDelivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.status == DeliveryStatus.FAILED and "HTTP 500" in delivery.last_error


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(
        team, fast_retries, django_capture_on_commit_callbacks):
    fast_retries.DRIFTGATE_NOTIFY_MAX_ATTEMPTS = 1
    with webhook_receiver(status_after=302) as receiver:
        webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case, url=receiver.url,
                       events=["decision_requested"])
        _request_decision(team, django_capture_on_commit_callbacks)

    assert len(receiver.requests) == 1
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code == 302
    assert NotificationDelivery.objects.get(channel=Channel.WEBHOOK).status == DeliveryStatus.FAILED


def test_a_deleted_webhook_leaves_its_pending_deliveries_failed_not_gone(
        team, receiver, fast_retries, django_capture_on_commit_callbacks):
    webhook, _secret = webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case,
                                      url=receiver.url, events=["decision_requested"])
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    with django_capture_on_commit_callbacks(execute=False):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)

    webhook_delete(actor=team.actor("governance_owner"), webhook=webhook)

    delivery = NotificationDelivery.objects.get(channel=Channel.WEBHOOK)
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == "the webhook was deleted"
    event = AuditEvent.objects.get(action=actions.WEBHOOK_DELETED)
    assert event.after == {"pending_deliveries_failed": 1} and event.before["url"] == receiver.url


def test_every_configuration_change_is_audited_without_the_secret(team, receiver, fast_retries):
    owner = team.actor("governance_owner")
    webhook, secret = webhook_create(actor=owner, use_case=team.use_case, url=receiver.url, events=["stop_alert"])
    webhook_update(actor=owner, webhook=webhook, events=["stop_alert", "use_case_halted"], slack_format=True)
    rotated = webhook_rotate_secret(actor=owner, webhook=webhook)
    webhook_delete(actor=owner, webhook=webhook)

    events = list(AuditEvent.objects.filter(action__startswith="webhook.").order_by("sequence"))
    assert [event.action for event in events] == [actions.WEBHOOK_CREATED, actions.WEBHOOK_UPDATED,
                                                  actions.WEBHOOK_SECRET_ROTATED, actions.WEBHOOK_DELETED]
    assert events[1].before["events"] == ["stop_alert"] and events[1].after["slack_format"] is True
    assert rotated != secret
    for event in events:
        stored = bytes(event.canonical).decode() if not isinstance(event.canonical, str) else event.canonical
        assert secret not in stored and rotated not in stored


def test_only_governance_and_platform_owners_set_up_webhooks(team, receiver, fast_retries):
    with pytest.raises(PermissionRefused) as refused:
        webhook_create(actor=team.actor("product_owner"), use_case=team.use_case, url=receiver.url,
                       events=["stop_alert"])
    assert refused.value.code == "missing_role" and not Webhook.objects.exists()


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://hooks.example.com/x", "webhook_url_not_http"),
    ("file:///etc/passwd", "webhook_url_not_http"),
    ("hooks.example.com/x", "webhook_url_not_http"),
    ("http://", "webhook_url_invalid"),
    ("https://user:pw@hooks.example.com/x", "webhook_url_invalid"),
    ("http://driftgate.example/api/v1/", "webhook_url_points_to_server"),
    ("https://DRIFTGATE.example:8443/x", "webhook_url_points_to_server"),
    ("http://testserver/x", "webhook_url_points_to_server"),
    ("http://127.0.0.1:9999/x", "webhook_url_points_to_server"),
    ("http://[::1]:9999/x", "webhook_url_points_to_server"),
    ("http://169.254.169.254/latest/meta-data/", "webhook_url_forbidden_address"),
    ("http://0.0.0.0:9999/x", "webhook_url_forbidden_address"),
    ("http://hooks.invalid/x", "webhook_url_unresolvable"),
])
def test_urls_that_are_not_http_or_reach_this_server_are_refused_with_a_stable_code(settings, url, code):
    settings.DRIFTGATE_BASE_URL = "http://driftgate.example"
    settings.ALLOWED_HOSTS = ["driftgate.example", "testserver"]
    settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK = False

    with pytest.raises(ValidationFailed) as refused:
        webhook_url_check(url)

    assert refused.value.code == code and refused.value.extra["fields"]["url"]


def test_loopback_is_admitted_only_when_the_setting_allows_it_and_never_on_the_sites_own_port(settings):
    settings.DRIFTGATE_BASE_URL = "http://localhost:8000"
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
    settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK = True

    assert webhook_url_check(" http://127.0.0.1:9999/hook ") == "http://127.0.0.1:9999/hook"
    for own in ("http://localhost:8000/x", "http://127.0.0.1:8000/x"):
        with pytest.raises(ValidationFailed) as refused:
            webhook_url_check(own)
        assert refused.value.code == "webhook_url_points_to_server"


def test_a_webhook_switched_off_receives_nothing_and_its_change_is_audited(
        team, receiver, fast_retries, django_capture_on_commit_callbacks):
    webhook, _secret = webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case,
                                      url=receiver.url, events=["decision_requested"])
    with transaction.atomic():
        webhook_update(actor=team.actor("platform_owner"), webhook=webhook, is_active=False)

    _request_decision(team, django_capture_on_commit_callbacks)

    assert receiver.requests == []
    assert AuditEvent.objects.get(action=actions.WEBHOOK_UPDATED).after["is_active"] is False
