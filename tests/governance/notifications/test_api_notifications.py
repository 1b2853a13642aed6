"""The notification API: inbox with unread count and mark read, preferences, and webhooks with their delivery log."""
import pytest
from rest_framework.test import APIClient

from driftgate.actors import Actor
from driftgate.models import ApiToken
from governance.models import AuditEvent, Channel, DeliveryStatus, NotificationDelivery
from governance.notifications import actions
from governance.services.gates import gate_open, gate_request_decision
from governance.services.tokens import api_token_create
from tests.governance.gates_setup import complete_required_items


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _request_decision(team, capture):
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    with capture(execute=True):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    return gate


def test_the_inbox_lists_a_persons_notifications_with_the_unread_count_and_marks_them_read(
        team, django_capture_on_commit_callbacks):
    gate = _request_decision(team, django_capture_on_commit_callbacks)
    client = _client(team.reviewer)

    listed = client.get("/api/v1/notifications/?unread=true")

    assert listed.status_code == 200 and listed.json()["unread"] == 1
    [entry] = listed.json()["results"]
    assert entry["event"] == "decision_requested" and entry["use_case"] == team.use_case.slug
    assert entry["url"].endswith(f"/gates/{gate.pk}/decide/") and entry["read_at"] is None
    read = client.post(f"/api/v1/notifications/{entry['id']}/read")
    assert read.status_code == 200 and read.json()["read_at"] is not None
    assert client.get("/api/v1/notifications/?unread=true").json()["results"] == []
    assert client.get("/api/v1/notifications/").json()["unread"] == 0


def test_another_persons_notification_cannot_be_marked_read(team, django_capture_on_commit_callbacks):
    _request_decision(team, django_capture_on_commit_callbacks)
    theirs = NotificationDelivery.objects.filter(recipient=team.reviewer, channel=Channel.INBOX).get()

    response = _client(team.platform_owner).post(f"/api/v1/notifications/{theirs.pk}/read")

    assert response.status_code == 404 and response.json()["code"] == "notification_not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_marks_every_unread_entry(team, django_capture_on_commit_callbacks):
    _request_decision(team, django_capture_on_commit_callbacks)

    response = _client(team.governance_owner).post("/api/v1/notifications/read-all")

    assert response.status_code == 200 and response.json() == {"marked": 1}


def test_preferences_are_read_changed_and_audited(team):
    client = _client(team.reviewer)
    assert client.get("/api/v1/notifications/preferences").json()["preferences"]["review_alert"] == {
        "inbox": True, "email": True}

    response = client.put("/api/v1/notifications/preferences",
                          {"preferences": {"review_alert": {"email": False}}}, format="json")

    assert response.status_code == 200
    assert response.json()["preferences"]["review_alert"] == {"inbox": True, "email": False}
    event = AuditEvent.objects.get(action=actions.PREFERENCES_CHANGED)
    assert event.actor_user == team.reviewer
    assert event.before == {"review_alert.email": True} and event.after == {"review_alert.email": False}
    # Saving the same choice again changes nothing and audits nothing.
    client.put("/api/v1/notifications/preferences", {"preferences": {"review_alert": {"email": False}}},
               format="json")
    assert AuditEvent.objects.filter(action=actions.PREFERENCES_CHANGED).count() == 1


def test_an_unknown_event_in_the_preferences_is_refused_with_its_code(team):
    response = _client(team.reviewer).put("/api/v1/notifications/preferences",
                                          {"preferences": {"weather": {"email": False}}}, format="json")

    assert response.status_code == 400 and response.json()["code"] == "invalid_preferences"


def test_an_api_token_cannot_read_the_inbox(team):
    token, raw = api_token_create(actor=Actor.system("tests"), owner_username=team.reviewer.username, name="ci",
                                  scopes=["governance:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = client.get("/api/v1/notifications/")

    assert isinstance(token, ApiToken) and response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_webhook_is_created_with_its_secret_shown_once_and_its_log_read_by_the_owners(
        team, receiver, fast_retries, django_capture_on_commit_callbacks):
    base = f"/api/v1/use-cases/{team.use_case.slug}/webhooks"
    created = _client(team.platform_owner).post(base, {"url": receiver.url, "events": ["decision_requested"]},
                                                format="json")
    assert created.status_code == 201, created.json()
    webhook = created.json()
    assert webhook["secret"].startswith("whsec_")
    assert "secret" not in _client(team.governance_owner).get(f"{base}/{webhook['id']}").json()

    _request_decision(team, django_capture_on_commit_callbacks)
    log = _client(team.product_owner).get(f"{base}/{webhook['id']}/deliveries")

    assert log.status_code == 200
    [delivery] = log.json()["results"]
    assert delivery["status"] == DeliveryStatus.SENT and delivery["event"] == "decision_requested"
    assert [(a["attempt"], a["status_code"]) for a in delivery["log"]] == [(1, 204)]
    assert delivery["message_id"] == receiver.requests[0]["headers"]["webhook-id"]


def test_a_reviewer_neither_creates_webhooks_nor_reads_their_log(team, receiver, fast_retries):
    base = f"/api/v1/use-cases/{team.use_case.slug}/webhooks"

    created = _client(team.reviewer).post(base, {"url": receiver.url, "events": ["stop_alert"]}, format="json")
    listed = _client(team.reviewer).get(base)

    assert created.status_code == 403 and created.json()["code"] == "missing_role"
    assert listed.status_code == 403 and listed.json()["code"] == "missing_role"


@pytest.mark.parametrize(("url", "code"), [("ftp://hooks.example.com/x", "webhook_url_not_http"),
                                           ("http://localhost:8000/api/v1/", "webhook_url_points_to_server")])
def test_a_refused_url_answers_400_with_its_code_and_nothing_is_stored(team, settings, url, code):
    settings.DRIFTGATE_BASE_URL = "http://localhost:8000"
    response = _client(team.governance_owner).post(f"/api/v1/use-cases/{team.use_case.slug}/webhooks",
                                                   {"url": url, "events": ["stop_alert"]}, format="json")

    assert response.status_code == 400 and response.json()["code"] == code
    assert not team.use_case.webhooks.exists()


def test_unknown_events_are_refused(team, receiver, fast_retries):
    response = _client(team.governance_owner).post(f"/api/v1/use-cases/{team.use_case.slug}/webhooks",
                                                   {"url": receiver.url, "events": ["everything"]}, format="json")

    assert response.status_code == 400 and response.json()["code"] == "invalid_events"


def test_a_webhook_is_changed_rotated_and_removed_through_the_api(team, receiver, fast_retries):
    client = _client(team.governance_owner)
    base = f"/api/v1/use-cases/{team.use_case.slug}/webhooks"
    webhook = client.post(base, {"url": receiver.url, "events": ["stop_alert"]}, format="json").json()

    patched = client.patch(f"{base}/{webhook['id']}", {"slack_format": True, "events": ["use_case_halted"]},
                           format="json")
    rotated = client.post(f"{base}/{webhook['id']}/rotate-secret")
    removed = client.delete(f"{base}/{webhook['id']}")

    assert patched.status_code == 200 and patched.json()["slack_format"] is True
    assert patched.json()["events"] == ["use_case_halted"]
    assert rotated.status_code == 200 and rotated.json()["secret"] != webhook["secret"]
    assert removed.status_code == 204 and client.get(f"{base}/{webhook['id']}").status_code == 404
    assert list(AuditEvent.objects.filter(action__startswith="webhook.").order_by("sequence")
                .values_list("action", flat=True)) == [actions.WEBHOOK_CREATED, actions.WEBHOOK_UPDATED,
                                                       actions.WEBHOOK_SECRET_ROTATED, actions.WEBHOOK_DELETED]
