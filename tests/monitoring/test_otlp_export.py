"""The real OpenTelemetry SDK and its OTLP/HTTP exporter sending GenAI spans to the live server, on PostgreSQL."""
import gzip
import json
from datetime import UTC, datetime

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Status, StatusCode

from driftgate.actors import Actor
from governance.services.tokens import api_token_create
from monitoring.models import TrafficRecord
from tests.factories import MembershipFactory, ModelVersionFactory, UseCaseFactory, UserFactory
from tests.monitoring.otlp_support import chat_attributes, messages, protobuf_body, record_spans

pytestmark = [pytest.mark.usefixtures("postgres_only"), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(live_server):
    """A use case with model version ft-v3, its platform owner's traffic:write token, and the endpoint URL."""
    use_case = UseCaseFactory(slug="invoice-bot")
    version = ModelVersionFactory(use_case=use_case, label="ft-v3")
    owner = UserFactory(username="serving")
    MembershipFactory(use_case=use_case, user=owner, role="platform_owner")
    _, token = api_token_create(actor=Actor.system("tests"), owner_username="serving", name="otel",
                                scopes=["traffic:write"])
    return {"use_case": use_case, "version": version, "token": token, "url": f"{live_server.url}/v1/traces"}


def _exporter(world, **kwargs) -> OTLPSpanExporter:
    return OTLPSpanExporter(endpoint=world["url"], headers={"Authorization": f"Bearer {world['token']}"},
                            timeout=20, **kwargs)


def _mixed_spans(resource=None):
    return record_spans([
        {"name": "chat ft-v3", "attributes": chat_attributes("Why was I charged twice?", "A pre-authorisation.",
                                                              **{"driftgate.segment": "web", "driftgate.score": 0.82,
                                                                 "driftgate.feedback": True})},
        # The older conventions: content in span events, the model only in gen_ai.request.model.
        {"name": "chat ft-v3", "attributes": {"gen_ai.system": "openai", "gen_ai.request.model": "ft-v3"},
         "events": [("gen_ai.content.prompt", {"gen_ai.prompt": "Where is my invoice?"}),
                    ("gen_ai.content.completion", {"gen_ai.completion": "In the billing portal."})]},
        {"name": "GET /invoices", "attributes": {"http.request.method": "GET"}},
        {"name": "embeddings", "attributes": {"gen_ai.operation.name": "embeddings",
                                              "gen_ai.request.model": "minilm"}},
    ], resource={"driftgate.use_case": "invoice-bot", **(resource or {})})


def test_the_sdk_exporter_sends_genai_spans_that_become_traffic_records(world):
    spans = _mixed_spans()

    result = _exporter(world, compression=Compression.Gzip).export(spans)

    assert result == SpanExportResult.SUCCESS
    stored = {row.prompt: row for row in TrafficRecord.objects.filter(use_case=world["use_case"])}
    assert set(stored) == {"Why was I charged twice?", "Where is my invoice?"}
    chat = stored["Why was I charged twice?"]
    first = spans[0]
    assert chat.external_id == f"{first.context.trace_id:032x}:{first.context.span_id:016x}"
    assert (chat.response, chat.model_version_id, chat.segment, chat.score, chat.feedback) == (
        "A pre-authorisation.", world["version"].pk, "web", 0.82, 1)
    assert chat.timestamp == datetime.fromtimestamp(first.start_time // 1000 / 1e6, UTC)
    assert chat.metadata | {"duration_ms": 0, "span_id": "", "trace_id": ""} == {
        "trace_id": "", "span_id": "", "span_name": "chat ft-v3", "operation": "chat", "provider": "openai",
        "service": "invoice-bot", "request_model": "ft-v3", "input_tokens": 52, "output_tokens": 47,
        "duration_ms": 0}
    assert stored["Where is my invoice?"].response == "In the billing portal."


def test_a_re_export_of_the_same_spans_stores_nothing_twice(world):
    spans = _mixed_spans()
    exporter = _exporter(world)

    assert exporter.export(spans) == SpanExportResult.SUCCESS
    assert exporter.export(spans) == SpanExportResult.SUCCESS

    assert TrafficRecord.objects.filter(use_case=world["use_case"]).count() == 2


def test_the_reply_counts_rejected_spans_and_warns_of_ignored_ones(world):
    spans = _mixed_spans() + record_spans([
        {"name": "chat gpt-4", "attributes": chat_attributes("Cancel my plan.", "Done.", model="gpt-4")},
        {"name": "chat ft-v3", "attributes": chat_attributes("Hello?", "Hi.")},
        {"name": "chat ft-v3", "attributes": chat_attributes("Timeout?", ""),
         "error": Status(StatusCode.ERROR, "timeout")},
    ], resource={"driftgate.use_case": "invoice-bot"})

    response = requests.post(world["url"], data=protobuf_body(spans), timeout=20,
                             headers={"Authorization": f"Bearer {world['token']}",
                                      "Content-Type": "application/x-protobuf"})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-protobuf"
    reply = ExportTraceServiceResponse.FromString(response.content)
    assert reply.partial_success.rejected_spans == 1
    message = reply.partial_success.error_message
    assert "unknown_model_version x1" in message and "'gpt-4'" in message
    assert "Ignored 3 span(s)" in message and "failed_call x1" in message and "not_genai x1" in message
    assert "other_operation x1" in message
    assert TrafficRecord.objects.filter(use_case=world["use_case"]).count() == 3


def test_the_use_case_header_names_the_use_case_when_the_resource_does_not(world):
    spans = record_spans([{"name": "chat", "attributes": chat_attributes("Refund?", "Issued.")}])
    exporter = OTLPSpanExporter(endpoint=world["url"], timeout=20,
                                headers={"Authorization": f"Bearer {world['token']}",
                                         "X-Driftgate-Use-Case": "invoice-bot"})

    assert exporter.export(spans) == SpanExportResult.SUCCESS

    assert TrafficRecord.objects.get(use_case=world["use_case"]).prompt == "Refund?"


def test_otlp_json_with_hex_ids_and_gzip_is_accepted_and_answered_in_json(world):
    start = int(datetime.now(UTC).timestamp() * 1e9) - 60_000_000_000
    export = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "driftgate.use_case", "value": {"stringValue": "invoice-bot"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat ft-v3",
             "kind": 3, "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 900_000_000),
             "attributes": [
                 {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                 {"key": "gen_ai.request.model", "value": {"stringValue": "ft-v3"}},
                 {"key": "gen_ai.input.messages", "value": {"stringValue": messages(("user", "VAT on fees?"))}},
                 {"key": "gen_ai.output.messages", "value": {"stringValue": messages(("assistant", "25%."))}},
                 {"key": "driftgate.score", "value": {"doubleValue": 0.5}},
                 {"key": "driftgate.feedback", "value": {"intValue": "-1"}}]},
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "name": "db",
             "startTimeUnixNano": str(start), "endTimeUnixNano": str(start)}]}]}]}

    response = requests.post(world["url"], data=gzip.compress(json.dumps(export).encode()), timeout=20,
                             headers={"Authorization": f"Bearer {world['token']}", "Content-Type": "application/json",
                                      "Content-Encoding": "gzip"})

    assert response.status_code == 200, response.content
    assert response.json() == {"partialSuccess": {
        "errorMessage": "Ignored 1 span(s) that are not GenAI exchanges (not_genai x1)."}}
    stored = TrafficRecord.objects.get(use_case=world["use_case"])
    assert (stored.external_id, stored.prompt, stored.response, stored.score, stored.feedback) == (
        "5b8efff798038103d269b633813fc60c:eee19b7ec3c1b174", "VAT on fees?", "25%.", 0.5, -1)
