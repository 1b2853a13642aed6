"""The outbox and the e-mail channel, against a real SMTP server: who is told, when, with what, and exactly once."""
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from governance.models import (
    Channel,
    DeliveryStatus,
    Gate,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    Obligation,
)
from governance.notifications.delivery import deliveries_due, delivery_attempt
from governance.notifications.inbox import email_failures_of
from governance.notifications.reminders import notification_reminders_send
from governance.notifications.tasks import notification_deliver_task
from governance.services.decisions import decision_sign, gate_decide
from governance.services.gates import gate_open, gate_request_decision
from governance.services.obligations import obligations_flag_overdue
from monitoring.services.alerts import alert_raise
from tests.factories import PASSWORD, DriftRunFactory, DriftSignalFactory, MonitoringPolicyFactory
from tests.governance.gates_setup import complete_required_items, gate_in_review, monitoring_ready


def _opened_gate(team) -> Gate:
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    return gate


def _emails(event: str):
    return NotificationDelivery.objects.filter(notification__event=event, channel=Channel.EMAIL).order_by("pk")


def test_a_decision_request_emails_the_signers_after_commit_with_a_link_to_the_page(
        team, smtp, settings, django_capture_on_commit_callbacks):
    settings.DRIFTGATE_BASE_URL = "https://driftgate.example"
    gate = _opened_gate(team)

    with django_capture_on_commit_callbacks(execute=True):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)

    # Gate 1 is signed by the governance owner and reviewers; the product owner asked, so is not told.
    recipients = sorted(address for entry in smtp.messages for address in entry["to"])
    assert recipients == sorted([team.governance_owner.email, team.reviewer.email, team.second_reviewer.email])
    message = smtp.messages[0]["message"]
    assert message["Subject"] == f"[Driftgate] Decision requested: gate 1 of {team.use_case.name}"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content()
    assert f"https://driftgate.example/gates/{gate.pk}/decide/" in body
    assert team.product_owner.get_full_name() in body and "Governance owner" in body
    assert "https://driftgate.example/notifications/preferences/" in body
    assert set(_emails("decision_requested").values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_inbox_entries_are_written_with_the_change_and_emails_wait_for_the_commit(
        team, smtp, django_capture_on_commit_callbacks):
    gate = _opened_gate(team)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)

    inbox = NotificationDelivery.objects.filter(notification__event="decision_requested", channel=Channel.INBOX)
    assert sorted(inbox.values_list("recipient_id", flat=True)) == sorted(
        [team.governance_owner.pk, team.reviewer.pk, team.second_reviewer.pk])
    assert set(inbox.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(_emails("decision_requested").values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    assert smtp.messages == [] and len(callbacks) == 1


def test_a_change_that_rolls_back_notifies_no_one(team, smtp, django_capture_on_commit_callbacks):
    gate = _opened_gate(team)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            gate_request_decision(actor=team.actor("product_owner"), gate=gate)
            raise RuntimeError("the request fails after the change")

    assert not Notification.objects.exists() and smtp.messages == []


def test_a_redelivered_task_sends_nothing_a_second_time(team, smtp, django_capture_on_commit_callbacks):
    gate = _opened_gate(team)
    with django_capture_on_commit_callbacks(execute=False):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    delivery = _emails("decision_requested").first()

    first = notification_deliver_task.apply(args=[delivery.pk]).get()
    again = notification_deliver_task.apply(args=[delivery.pk]).get()

    assert (first, again) == ("sent", "skipped")
    assert [entry["to"] for entry in smtp.messages] == [[delivery.recipient.email]]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 1 and delivery.sent_at is not None


def test_a_refusing_server_is_retried_with_growing_waits_and_the_delivery_ends_failed_and_shown(
        team, smtp, settings, django_capture_on_commit_callbacks):
    settings.DRIFTGATE_NOTIFY_MAX_ATTEMPTS = 3
    settings.DRIFTGATE_NOTIFY_RETRY_BASE_SECONDS = 30
    smtp.refuse_next = 100
    gate = _opened_gate(team)
    with django_capture_on_commit_callbacks(execute=False):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    delivery = _emails("decision_requested").first()

    waits = []
    for _attempt in range(3):
        outcome = delivery_attempt(delivery_id=delivery.pk)
        waits.append(outcome.retry_in)
        # Not due yet: an early message (or a duplicate) does nothing.
        assert delivery_attempt(delivery_id=delivery.pk).result == "skipped"
        NotificationDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(1))

    assert waits == [30.0, 60.0, None]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3 and "451" in delivery.last_error
    assert smtp.messages == []
    recipient = Actor.for_user(delivery.recipient)
    assert email_failures_of(actor=recipient, notification_ids=[delivery.notification_id]) == {
        delivery.notification_id: delivery.last_error}


def test_a_server_that_refuses_once_gets_the_message_on_the_retry(
        team, smtp, fast_retries, django_capture_on_commit_callbacks):
    smtp.refuse_next = 1
    gate = _opened_gate(team)

    with django_capture_on_commit_callbacks(execute=True):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)

    assert len(smtp.messages) == 3
    attempts = sorted(_emails("decision_requested").values_list("attempts", flat=True))
    assert attempts == [1, 1, 2]
    assert set(_emails("decision_requested").values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_a_person_who_turned_an_event_off_by_email_still_finds_it_in_the_inbox(
        team, smtp, django_capture_on_commit_callbacks):
    NotificationPreference.objects.create(user=team.reviewer, event="decision_requested", channel="email",
                                          enabled=False)
    gate = _opened_gate(team)

    with django_capture_on_commit_callbacks(execute=True):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)

    assert team.reviewer.email not in [address for entry in smtp.messages for address in entry["to"]]
    assert NotificationDelivery.objects.filter(recipient=team.reviewer, channel=Channel.INBOX).exists()


def test_a_proposed_decision_asks_the_missing_roles_to_sign_and_the_last_signature_announces_it_final(
        team, smtp, monkeypatch, django_capture_on_commit_callbacks):
    monitoring_ready(monkeypatch)
    gate = gate_in_review(team)
    with django_capture_on_commit_callbacks(execute=True):
        decision = gate_decide(actor=team.actor("governance_owner"), gate=gate, outcome="go", rationale="Met.",
                               role="governance_owner", password=PASSWORD)
    needed = Notification.objects.get(event="signature_needed")
    assert needed.payload["missing_roles"] == ["reviewer"]
    assert sorted(needed.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True)) == sorted(
        [team.reviewer.pk, team.second_reviewer.pk])
    assert needed.link == f"/decisions/{decision.pk}/"

    with django_capture_on_commit_callbacks(execute=True):
        decision_sign(actor=team.actor("reviewer"), decision=decision, role="reviewer", password=PASSWORD)

    final = Notification.objects.get(event="decision_final")
    assert final.payload["outcome"] == "go" and final.payload["gate_status"] == "approved"
    told = set(final.deliveries.filter(channel="email").values_list("recipient_id", flat=True))
    assert told == {team.product_owner.pk, team.platform_owner.pk, team.governance_owner.pk, team.reviewer.pk,
                    team.second_reviewer.pk}
    assert any(entry["message"]["Subject"].startswith("[Driftgate] Decision final") for entry in smtp.messages)


def test_a_stop_alert_that_halts_tells_governance_and_platform_owners_of_both_at_once(
        team, smtp, django_capture_on_commit_callbacks):
    run = DriftRunFactory(use_case=team.use_case, severity="stop")
    signals = [DriftSignalFactory(run=run, name="quality_drop", effect_size=0.22, severity="stop")]

    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise(run=run, signals=signals,
                            policy=MonitoringPolicyFactory(use_case=team.use_case, auto_halt=True))

    owners = {team.governance_owner.pk, team.platform_owner.pk}
    for event in ("stop_alert", "use_case_halted"):
        notification = Notification.objects.get(event=event)
        assert set(notification.deliveries.filter(channel="email", status="sent")
                   .values_list("recipient_id", flat=True)) == owners
    assert Notification.objects.get(event="stop_alert").link == f"/alerts/{alert.pk}/"
    assert len(smtp.messages) == 4


def test_a_review_alert_goes_to_the_triagers(team, django_capture_on_commit_callbacks):
    run = DriftRunFactory(use_case=team.use_case, severity="review")
    signals = [DriftSignalFactory(run=run, name="prompt_drift", severity="review")]

    with django_capture_on_commit_callbacks(execute=True):
        alert_raise(run=run, signals=signals, policy=None)

    notification = Notification.objects.get(event="review_alert")
    assert set(notification.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True)) == {
        team.platform_owner.pk, team.governance_owner.pk, team.reviewer.pk, team.second_reviewer.pk}
    assert "prompt_drift" in notification.body


def test_reminders_and_overdue_obligations_are_announced_once_per_state(team, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    soon = Obligation.objects.create(use_case=team.use_case, title="Retrain monthly", owner=team.platform_owner,
                                     due_date=today + timedelta(days=5))
    Obligation.objects.create(use_case=team.use_case, title="Later", owner=team.platform_owner,
                              due_date=today + timedelta(days=10))
    late = Obligation.objects.create(use_case=team.use_case, title="Late report", owner=team.reviewer,
                                     due_date=today - timedelta(days=1))
    gate = Gate.objects.create(use_case=team.use_case, number=3, status="approved", required_roles=[],
                               expires_at=timezone.now() + timedelta(days=20))

    with django_capture_on_commit_callbacks(execute=True):
        first = notification_reminders_send(today=today)
        again = notification_reminders_send(today=today)
        obligations_flag_overdue(today=today)
        obligations_flag_overdue(today=today)

    assert first == {"obligation_due": 1, "approval_expiring": 1} and again == {"obligation_due": 0,
                                                                                "approval_expiring": 0}
    due = Notification.objects.get(event="obligation_due")
    assert due.payload["obligation"] == soon.pk
    assert list(due.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True)) == [
        team.platform_owner.pk]
    overdue = Notification.objects.get(event="obligation_overdue")
    assert overdue.payload["obligation"] == late.pk
    assert set(overdue.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True)) == {
        team.reviewer.pk, team.governance_owner.pk}
    expiring = Notification.objects.get(event="approval_expiring")
    assert expiring.payload["gate"] == gate.pk
    assert set(expiring.deliveries.filter(channel="inbox").values_list("recipient_id", flat=True)) == {
        team.governance_owner.pk, team.product_owner.pk}


def test_the_sweep_finds_deliveries_whose_message_was_lost_and_leaves_claimed_and_sent_ones(
        team, django_capture_on_commit_callbacks):
    gate = _opened_gate(team)
    with django_capture_on_commit_callbacks(execute=False):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    lost, claimed, sent = list(_emails("decision_requested"))
    long_ago = timezone.now() - timedelta(minutes=10)
    NotificationDelivery.objects.filter(pk__in=[lost.pk, claimed.pk, sent.pk]).update(next_attempt_at=long_ago)
    NotificationDelivery.objects.filter(pk=claimed.pk).update(claimed_until=timezone.now() + timedelta(minutes=1))
    NotificationDelivery.objects.filter(pk=sent.pk).update(status=DeliveryStatus.SENT)

    assert deliveries_due() == [lost.pk]
    # A claim whose lease ran out belongs to a dead worker: the sweep hands the delivery on.
    NotificationDelivery.objects.filter(pk=claimed.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert sorted(deliveries_due()) == sorted([lost.pk, claimed.pk])
