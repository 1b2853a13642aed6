"""POST /api/v1/use-cases/{slug}/traffic through APIClient with real tokens, on PostgreSQL."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.models import TrafficRecord
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture
def version(use_case):
    return ModelVersionFactory(use_case=use_case, label="v1")


@pytest.fixture
def owner(make_user, grant, use_case):
    person = make_user("platform-ana")
    grant(person, use_case, "platform_owner")
    return person


def _token_client(user, system_actor, scopes=("traffic:write",)) -> APIClient:
    _, raw = api_token_create(actor=system_actor, owner_username=user.username, name="serving", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def client(owner, system_actor):
    return _token_client(owner, system_actor)


def _url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}/traffic"


def _record(i: int, **overrides) -> dict:
    stamp = datetime.now(UTC) - timedelta(minutes=30)
    record = {"external_id": f"req-{i}", "timestamp": stamp.isoformat(), "prompt": f"Question number {i}?",
              "response": f"Answer {i}.", "model_version": "v1", "score": 0.5, "feedback": -1 if i % 2 else 1,
              "segment": "web", "metadata": {"i": i}}
    record.update(overrides)
    return record


def _post_json(client, use_case, records, **extra):
    return client.post(_url(use_case), data=json.dumps(records), content_type="application/json", **extra)


def _post_ndjson(client, use_case, lines: list[str]):
    return client.post(_url(use_case), data="\n".join(lines).encode(), content_type="application/x-ndjson")


def test_a_json_array_is_stored_and_counted(client, use_case, version):
    response = _post_json(client, use_case, [_record(i) for i in range(3)])
    assert response.status_code == 200
    assert response.json() == {"accepted": 3, "duplicate": 0, "rejected": 0, "errors": [], "errors_truncated": False}
    stored = TrafficRecord.objects.get(use_case=use_case, external_id="req-1")
    assert (stored.model_version_id, stored.feedback, stored.metadata, stored.score) == (version.pk, -1, {"i": 1}, 0.5)


def test_ingestion_writes_no_audit_events(client, use_case, version):
    before = AuditEvent.objects.count()
    assert _post_json(client, use_case, [_record(1)]).status_code == 200
    assert AuditEvent.objects.count() == before


def test_ndjson_with_a_bad_line_keeps_the_good_lines(client, use_case, version):
    lines = [json.dumps(_record(1)), '{"external_id": "req-2", ', json.dumps(_record(3))]
    response = _post_ndjson(client, use_case, lines)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"][0] | {"message": ""} == {"index": 1, "line": 2, "external_id": None,
                                                   "code": "malformed_json", "message": ""}
    assert set(TrafficRecord.objects.values_list("external_id", flat=True)) == {"req-1", "req-3"}


def test_a_retried_batch_adds_nothing(client, use_case, version):
    records = [_record(i) for i in range(5)]
    assert _post_json(client, use_case, records).json()["accepted"] == 5
    retry = _post_json(client, use_case, records)
    assert retry.status_code == 200
    assert retry.json() | {"errors": []} == {"accepted": 0, "duplicate": 5, "rejected": 0, "errors": [],
                                             "errors_truncated": False}
    assert TrafficRecord.objects.filter(use_case=use_case).count() == 5


def test_a_partly_new_batch_counts_new_and_duplicate_rows(client, use_case, version):
    _post_json(client, use_case, [_record(i) for i in range(3)])
    body = _post_json(client, use_case, [_record(i) for i in range(2, 6)]).json()
    assert (body["accepted"], body["duplicate"]) == (3, 1)


def test_duplicates_inside_a_batch_are_rejected_and_the_first_is_kept(client, use_case, version):
    records = [_record(1, prompt="first"), _record(2), _record(1, prompt="second")]
    body = _post_json(client, use_case, records).json()
    assert (body["accepted"], body["rejected"], body["errors"][0]["code"]) == (2, 1, "duplicate_in_batch")
    assert TrafficRecord.objects.get(external_id="req-1").prompt == "first"


def test_one_bad_row_does_not_drop_the_good_ones(client, use_case, version):
    records = [_record(1), _record(2, model_version="v-unknown"), _record(3)]
    body = _post_json(client, use_case, records).json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert body["errors"] == [{"index": 1, "external_id": "req-2", "code": "unknown_model_version",
                               "field": "model_version",
                               "message": "Model version 'v-unknown' is not registered for this use case."}]


def test_the_same_external_id_may_be_used_by_another_use_case(client, use_case, version, grant, owner):
    other = ModelVersionFactory(label="v1").use_case
    grant(owner, other, "product_owner")
    assert _post_json(client, use_case, [_record(1)]).json()["accepted"] == 1
    assert _post_json(client, other, [_record(1)]).json()["accepted"] == 1


@pytest.mark.parametrize(("overrides", "code"), [
    ({"external_id": None}, "missing_field"),
    ({"prompt": 5}, "invalid_type"),
    ({"timestamp": "not a time"}, "invalid_timestamp"),
    ({"timestamp": "2999-01-01T00:00:00Z"}, "timestamp_in_future"),
    ({"feedback": 2}, "invalid_feedback"),
    ({"model_version": "v2"}, "unknown_model_version"),
    ({"segment": "s" * 101}, "field_too_long"),
    ({"prompt": "a\u0000b"}, "invalid_text"),
])
def test_each_row_error_code_comes_back_in_the_response(client, use_case, version, overrides, code):
    response = _post_json(client, use_case, [_record(1, **overrides)])
    assert response.status_code == 200
    assert response.json()["errors"][0]["code"] == code
    assert not TrafficRecord.objects.exists()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_scores_are_rejected(client, use_case, version, token):
    body = json.dumps([_record(1, score=0.25)]).replace("0.25", token)
    response = client.post(_url(use_case), data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["errors"][0]["code"] == "non_finite_score"


def test_errors_are_capped_and_flagged(client, use_case, version):
    records = [_record(i, feedback=5) for i in range(1005)]
    body = _post_json(client, use_case, records).json()
    assert (body["rejected"], len(body["errors"]), body["errors_truncated"]) == (1005, 1000, True)


def test_invalid_utf8_is_refused(client, use_case, version):
    response = client.post(_url(use_case), data=b'[{"prompt": "\xc3\x28"}]', content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_utf8")


def test_an_unparseable_array_is_refused_and_nothing_is_written(client, use_case, version):
    response = client.post(_url(use_case), data=json.dumps([_record(1)])[:-1], content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "malformed_json")
    assert not TrafficRecord.objects.exists()


def test_other_media_types_are_refused(client, use_case, version):
    response = client.post(_url(use_case), data="external_id=1", content_type="text/csv")
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


@override_settings(DRIFTGATE_TRAFFIC_MAX_BYTES=2048)
def test_an_oversized_body_is_refused(client, use_case, version):
    response = _post_json(client, use_case, [_record(i) for i in range(20)])
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
    assert response.json()["extra"] == {"max_bytes": 2048}
    assert not TrafficRecord.objects.exists()


@override_settings(DRIFTGATE_TRAFFIC_MAX_BYTES=2048)
def test_a_lying_content_length_is_caught_while_reading(client, use_case, version):
    body = json.dumps([_record(i) for i in range(20)]).encode()
    response = client.generic("POST", _url(use_case), data=body, content_type="application/json",
                              CONTENT_LENGTH="100")
    # The test server cuts the body at the declared length, so it arrives truncated or is refused; never stored.
    assert response.status_code in (400, 413)
    assert not TrafficRecord.objects.exists()


@override_settings(DRIFTGATE_TRAFFIC_MAX_RECORDS=3)
def test_too_many_records_are_refused(client, use_case, version):
    response = _post_ndjson(client, use_case, [json.dumps(_record(i)) for i in range(4)])
    assert (response.status_code, response.json()["code"]) == (413, "too_many_records")
    assert not TrafficRecord.objects.exists()


def test_an_unknown_use_case_is_not_found(client, version):
    response = client.post("/api/v1/use-cases/no-such-case/traffic", data="[]", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (404, "use_case_not_found")


def test_a_use_case_the_owner_has_no_role_on_is_not_found(client, version):
    hidden = ModelVersionFactory(label="v1").use_case
    response = _post_json(client, hidden, [_record(1)])
    assert (response.status_code, response.json()["code"]) == (404, "use_case_not_found")


def test_a_token_without_the_traffic_scope_is_refused(owner, system_actor, use_case, version):
    client = _token_client(owner, system_actor, scopes=("monitoring:read",))
    response = _post_json(client, use_case, [_record(1)])
    assert (response.status_code, response.json()["code"]) == (403, "missing_scope")
    assert response.json()["message"] == "This token lacks the traffic:write scope."
    assert response.json()["extra"]["scope"] == "traffic:write"
    assert not TrafficRecord.objects.exists()


def test_a_token_whose_owner_is_only_a_viewer_is_refused(make_user, grant, system_actor, use_case, version):
    viewer = make_user("viewer-vic")
    grant(viewer, use_case, "viewer")
    response = _post_json(_token_client(viewer, system_actor), use_case, [_record(1)])
    assert (response.status_code, response.json()["code"]) == (403, "missing_role")


def test_a_product_owner_signed_in_may_post(make_user, grant, use_case, version):
    person = make_user("product-pia")
    grant(person, use_case, "product_owner")
    client = APIClient()
    client.force_login(person)
    response = _post_json(client, use_case, [_record(1)])
    assert (response.status_code, response.json()["accepted"]) == (200, 1)


def test_an_anonymous_request_is_refused(use_case, version):
    response = _post_json(APIClient(), use_case, [_record(1)])
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")
