"""Delivery on a real Celery worker and Redis broker: duplicated and redelivered messages send once, and a webhook
that fails twice is retried by the worker after its backoff until it succeeds."""
import os

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from governance.models import Channel, DeliveryStatus, NotificationDelivery, WebhookAttempt
from governance.notifications import outbox
from governance.notifications.configuration import webhook_create
from governance.notifications.tasks import notification_deliver_task
from governance.services.gates import gate_open, gate_request_decision
from tests.governance.gates_setup import complete_required_items, make_team
from tests.governance.notifications.receivers import webhook_receiver
from tests.monitoring.worker_support import emptied_broker, finished_task_ids, production_like_app, wait_for

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgres_only")]


@pytest.fixture
def worker_app():
    """A Celery app configured like production on an emptied test broker."""
    with emptied_broker(REDIS_URL) as url, production_like_app("driftgate-notify-tests", url) as app:
        yield app


@pytest.fixture
def finished_tasks():
    with finished_task_ids() as done:
        yield done


@pytest.fixture(autouse=True)
def messages_sent_by_the_test(monkeypatch):
    """The test process runs tasks eagerly; here the after-commit messages are dropped and the test sends them
    to the worker's broker itself (duplicates included)."""
    monkeypatch.setattr(outbox, "queue_deliveries", lambda delivery_ids: None)


def _requested_gate(team):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    with transaction.atomic():
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    return gate


def test_duplicated_and_redelivered_messages_send_one_email(worker_app, smtp, finished_tasks, settings):
    settings.DRIFTGATE_NOTIFY_MAX_ATTEMPTS = 1  # no retry message could hide a duplicate send
    team = make_team()
    _requested_gate(team)
    delivery = NotificationDelivery.objects.filter(channel=Channel.EMAIL, recipient=team.reviewer).get()
    NotificationDelivery.objects.filter(channel=Channel.EMAIL).exclude(pk=delivery.pk).update(
        status=DeliveryStatus.SENT)
    task = worker_app.tasks[notification_deliver_task.name]

    with start_worker(worker_app, pool="threads", concurrency=2, perform_ping_check=False, queues=["notify"],
                      shutdown_timeout=30):
        first = task.apply_async(args=[delivery.pk])
        task.apply_async(args=[delivery.pk])
        task.apply_async(args=[delivery.pk], task_id=first.id)  # the broker redelivering the same message
        wait_for(finished_tasks, 3, timeout=60, what="deliveries")

    assert [entry["to"] for entry in smtp.messages] == [[team.reviewer.email]]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1


def test_the_worker_retries_a_webhook_that_fails_twice_until_it_answers(worker_app, finished_tasks, settings):
    settings.DRIFTGATE_NOTIFY_RETRY_BASE_SECONDS = 0.2
    settings.DRIFTGATE_WEBHOOK_ALLOW_LOOPBACK = True
    team = make_team()
    with webhook_receiver(fail_first=2) as receiver:
        webhook, _secret = webhook_create(actor=team.actor("governance_owner"), use_case=team.use_case,
                                          url=receiver.url, events=["decision_requested"])
        _requested_gate(team)
        delivery = NotificationDelivery.objects.get(channel=Channel.WEBHOOK)
        task = worker_app.tasks[notification_deliver_task.name]

        with start_worker(worker_app, pool="threads", concurrency=2, perform_ping_check=False, queues=["notify"],
                          shutdown_timeout=30):
            task.apply_async(args=[delivery.pk])
            wait_for(finished_tasks, 3, timeout=60, what="attempts")

    assert len(receiver.requests) == 3
    # One message across its retries: the receiver de-duplicates on webhook-id.
    assert len({request["headers"]["webhook-id"] for request in receiver.requests}) == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert list(WebhookAttempt.objects.filter(webhook=webhook).order_by("attempt")
                .values_list("attempt", "status_code")) == [(1, 500), (2, 500), (3, 204)]
