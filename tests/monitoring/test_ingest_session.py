"""A signed-in person posts traffic with the session and its CSRF token, in both formats, as tokens do."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.utils.crypto import get_random_string
from rest_framework.test import APIClient

from monitoring.models import TrafficRecord
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture
def session(make_user, grant, use_case):
    ModelVersionFactory(use_case=use_case, label="v1")
    person = make_user("platform-sam")
    grant(person, use_case, "platform_owner")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(person)
    return client


def _csrf(client) -> dict:
    secret = get_random_string(32)
    client.cookies["csrftoken"] = secret
    return {"HTTP_X_CSRFTOKEN": secret}


def _records(n: int) -> list[dict]:
    stamp = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
    return [{"external_id": f"s-{i}", "timestamp": stamp, "prompt": f"Where is invoice {i}?",
             "response": "In the portal.", "model_version": "v1"} for i in range(n)]


def test_a_session_posts_a_json_array(session, use_case):
    response = session.post(f"/api/v1/use-cases/{use_case.slug}/traffic", data=json.dumps(_records(3)),
                            content_type="application/json", **_csrf(session))

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 3
    assert TrafficRecord.objects.filter(use_case=use_case).count() == 3


def test_a_session_posts_ndjson(session, use_case):
    body = "\n".join(json.dumps(record) for record in _records(2)).encode()

    response = session.post(f"/api/v1/use-cases/{use_case.slug}/traffic", data=body,
                            content_type="application/x-ndjson", **_csrf(session))

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 2


def test_a_session_without_the_csrf_token_is_refused_and_nothing_is_stored(session, use_case):
    response = session.post(f"/api/v1/use-cases/{use_case.slug}/traffic", data=json.dumps(_records(2)),
                            content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not TrafficRecord.objects.filter(use_case=use_case).exists()
