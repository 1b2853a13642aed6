"""POST /v1/traces refuses bad exports with a 4xx, a stable code in the Status's ErrorInfo, and stores nothing."""
import gzip
import json
import zlib

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from rest_framework.test import APIClient

from governance.services.tokens import api_token_create
from monitoring.models import TrafficRecord
from tests.factories import ModelVersionFactory, MonitoringPolicyFactory, UseCaseFactory
from tests.monitoring.otlp_support import chat_attributes, error_reason, protobuf_body, record_spans

pytestmark = pytest.mark.usefixtures("postgres_only")
URL = "/v1/traces"


@pytest.fixture
def use_case(db):
    use_case = UseCaseFactory(slug="invoice-bot")
    ModelVersionFactory(use_case=use_case, label="ft-v3")
    return use_case


@pytest.fixture
def owner(make_user, grant, use_case):
    person = make_user("serving")
    grant(person, use_case, "platform_owner")
    return person


def _client(user, system_actor, scopes=("traffic:write",)) -> APIClient:
    _, raw = api_token_create(actor=system_actor, owner_username=user.username, name="otel", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def client(owner, system_actor):
    return _client(owner, system_actor)


def _body(slug="invoice-bot", n=2) -> bytes:
    return protobuf_body(record_spans([{"name": "chat", "attributes": chat_attributes(f"Question {i}?", "Yes.")}
                                       for i in range(n)], resource={"driftgate.use_case": slug} if slug else {}))


def _post(client, body, content_type="application/x-protobuf", **headers):
    return client.post(URL, data=body, content_type=content_type, **headers)


def _refused(response, status, code, encoding="protobuf"):
    assert response.status_code == status, response.content
    reason, rpc_status = error_reason(response.content, encoding=encoding)
    assert reason == code, rpc_status.message
    assert TrafficRecord.objects.count() == 0
    return rpc_status


def test_a_body_that_is_not_protobuf_is_refused(client, use_case):
    _refused(_post(client, b"\xff\xff\xff not protobuf"), 400, "malformed_otlp")


def test_a_body_that_is_not_json_is_refused_in_json(client, use_case):
    status = _refused(_post(client, b'{"resourceSpans": [', content_type="application/json"), 400,
                      "malformed_otlp", encoding="json")
    assert status.code == 3  # INVALID_ARGUMENT


def test_json_whose_ids_are_not_hex_is_refused(client, use_case):
    export = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "not-hex", "spanId": "00f067aa0ba902b7"}]}]}]}
    _refused(_post(client, json.dumps(export), content_type="application/json"), 400, "malformed_otlp", "json")


def test_json_of_the_wrong_shape_is_refused(client, use_case):
    _refused(_post(client, json.dumps({"resourceSpans": "many"}), content_type="application/json"), 400,
             "malformed_otlp", "json")


def test_an_unknown_use_case_refuses_the_whole_export(client, use_case):
    known = record_spans([{"name": "chat", "attributes": chat_attributes("Known?", "Yes.")}],
                         resource={"driftgate.use_case": "invoice-bot"})
    unknown = record_spans([{"name": "chat", "attributes": chat_attributes("Unknown?", "Yes.")}],
                           resource={"driftgate.use_case": "no-such-use-case"})
    status = _refused(_post(client, protobuf_body(known + unknown)), 404, "use_case_not_found")
    assert status.code == 5  # NOT_FOUND


def test_genai_spans_without_a_use_case_are_refused(client, use_case):
    _refused(_post(client, _body(slug="")), 400, "use_case_missing")


def test_spans_that_are_not_genai_need_no_use_case(client, use_case):
    body = protobuf_body(record_spans([{"name": "GET /", "attributes": {"http.request.method": "GET"}}]))
    assert _post(client, body).status_code == 200


def test_a_media_type_other_than_otlp_is_refused(client, use_case):
    _refused(_post(client, _body(), content_type="text/plain"), 415, "unsupported_media_type", "json")


def test_an_unsupported_content_encoding_is_refused(client, use_case):
    _refused(_post(client, _body(), HTTP_CONTENT_ENCODING="br"), 415, "unsupported_content_encoding")


def test_a_body_that_is_not_the_gzip_it_claims_is_refused(client, use_case):
    _refused(_post(client, _body(), HTTP_CONTENT_ENCODING="gzip"), 400, "malformed_compression")


def test_a_truncated_gzip_body_is_refused(client, use_case):
    _refused(_post(client, gzip.compress(_body())[:-12], HTTP_CONTENT_ENCODING="gzip"), 400, "malformed_compression")


def test_deflate_is_accepted(client, use_case):
    assert _post(client, zlib.compress(_body()), HTTP_CONTENT_ENCODING="deflate").status_code == 200
    assert TrafficRecord.objects.count() == 2


def test_an_oversized_body_is_refused(client, use_case, settings):
    settings.DRIFTGATE_OTLP_MAX_BYTES = 1024
    _refused(_post(client, _body(n=12)), 413, "payload_too_large")


def test_a_small_gzip_body_that_inflates_past_the_limit_is_refused(client, use_case, settings):
    settings.DRIFTGATE_OTLP_MAX_BYTES = 64 * 1024
    bomb = gzip.compress(b"\n" + b"\x00" * (10 * 1024 * 1024))
    assert len(bomb) < 64 * 1024
    _refused(_post(client, bomb, HTTP_CONTENT_ENCODING="gzip"), 413, "payload_too_large")


def test_more_genai_spans_than_a_batch_may_hold_are_refused(client, use_case, settings):
    settings.DRIFTGATE_TRAFFIC_MAX_RECORDS = 3
    _refused(_post(client, _body(n=4)), 413, "too_many_records")


def test_a_request_without_a_token_is_unauthenticated(use_case):
    response = _post(APIClient(), _body())
    _refused(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_without_traffic_write_is_refused(owner, system_actor, use_case):
    _refused(_post(_client(owner, system_actor, scopes=("status:read",)), _body()), 403, "missing_scope")


def test_the_tokens_owner_needs_a_posting_role_on_the_use_case(make_user, grant, system_actor, use_case):
    viewer = make_user("watcher")
    grant(viewer, use_case, "viewer")
    _refused(_post(_client(viewer, system_actor), _body()), 403, "missing_role")


def test_the_use_cases_ingest_rate_applies_to_exports(client, use_case):
    MonitoringPolicyFactory(use_case=use_case, ingest_rate_per_minute=1)
    assert _post(client, _body()).status_code == 200
    TrafficRecord.objects.all().delete()

    response = _post(client, _body())

    _refused(response, 429, "ingest_rate_limited")
    assert int(response["Retry-After"]) >= 1


def test_a_span_without_content_is_rejected_alone_with_a_reason(client, use_case):
    spans = record_spans([
        {"name": "chat", "attributes": {"gen_ai.operation.name": "chat", "gen_ai.request.model": "ft-v3"}},
        {"name": "chat", "attributes": chat_attributes("Kept?", "Yes.")},
    ], resource={"driftgate.use_case": "invoice-bot"})

    response = _post(client, protobuf_body(spans))

    assert response.status_code == 200
    reply = ExportTraceServiceResponse.FromString(response.content)
    assert reply.partial_success.rejected_spans == 1
    assert "missing_content x1" in reply.partial_success.error_message
    assert TrafficRecord.objects.get().prompt == "Kept?"
