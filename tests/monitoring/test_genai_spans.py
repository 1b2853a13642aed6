"""Mapping OpenTelemetry GenAI spans to traffic records: where the texts, model and attributes come from (no DB)."""
import base64
import json

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from monitoring.ingest.genai import IgnoredReason, SpanConventions, export_contents, map_span
from monitoring.ingest.otlp import parse_export
from tests.monitoring.otlp_support import chat_attributes, record_spans

TRACE, SPAN = bytes.fromhex("4bf92f3577b34da6a3ce929d0e0e4736"), bytes.fromhex("00f067aa0ba902b7")
CONVENTIONS = SpanConventions()


def _value(value) -> AnyValue:
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, list):
        return AnyValue(array_value=ArrayValue(values=[_value(item) for item in value]))
    if isinstance(value, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=_value(v)) for k, v in value.items()]))
    return AnyValue(string_value=value)


def _span(attributes: dict, events=(), status=Status.STATUS_CODE_UNSET) -> Span:
    span = Span(trace_id=TRACE, span_id=SPAN, name="chat", start_time_unix_nano=1_764_590_400_123_456_789,
                end_time_unix_nano=1_764_590_401_123_456_789, status=Status(code=status))
    span.attributes.extend(KeyValue(key=key, value=_value(value)) for key, value in attributes.items())
    for name, event_attributes in events:
        event = span.events.add(name=name)
        event.attributes.extend(KeyValue(key=k, value=_value(v)) for k, v in event_attributes.items())
    return span


def _record(attributes, events=(), resource=None):
    mapped = map_span(_span(attributes, events), resource=resource or {}, conventions=CONVENTIONS)
    assert not isinstance(mapped, str), mapped
    assert mapped.record is not None, mapped.error_message
    return mapped.record


def test_the_prompt_is_the_last_user_message_without_the_system_prompt():
    history = [{"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
               {"role": "user", "parts": [{"type": "text", "content": "First question"}]},
               {"role": "assistant", "parts": [{"type": "text", "content": "First answer"}]},
               {"role": "user", "parts": [{"type": "text", "content": "Second"}, {"type": "uri", "uri": "x"},
                                          {"type": "text", "content": "question"}]}]
    output = [{"role": "assistant", "parts": [{"type": "text", "content": "Choice one"}]},
              {"role": "assistant", "parts": [{"type": "text", "content": "Choice two"}]}]
    record = _record({"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(history),
                      "gen_ai.output.messages": json.dumps(output)})
    assert (record["prompt"], record["response"]) == ("Second\nquestion", "Choice one")


def test_structured_message_attributes_are_read_like_json_strings():
    record = _record({"gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "Hi"}]}],
                      "gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "text", "content": "Hello"}]}],
                      "gen_ai.request.model": "m"})
    assert (record["prompt"], record["response"]) == ("Hi", "Hello")


def test_messages_on_the_inference_details_event_are_read():
    record = _record({"gen_ai.operation.name": "chat"}, events=[("gen_ai.client.inference.operation.details", {
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Q"}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "A"}]}]),
    })])
    assert (record["prompt"], record["response"]) == ("Q", "A")


def test_the_older_events_may_hold_a_json_message_array():
    prompt = json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Where?"}])
    record = _record({"gen_ai.system": "openai"}, events=[("gen_ai.content.prompt", {"gen_ai.prompt": prompt}),
                                                         ("gen_ai.content.completion", {"gen_ai.completion": "Here."})])
    assert (record["prompt"], record["response"]) == ("Where?", "Here.")


def test_the_older_indexed_attributes_are_read_in_index_order():
    record = _record({"gen_ai.system": "openai", "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "Sys",
                      "gen_ai.prompt.10.role": "user", "gen_ai.prompt.10.content": "Later",
                      "gen_ai.prompt.2.role": "user", "gen_ai.prompt.2.content": "Earlier",
                      "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Answer"})
    assert (record["prompt"], record["response"]) == ("Later", "Answer")


def test_the_model_is_the_response_model_before_the_request_model_and_the_label_attribute_first():
    mapped = map_span(_span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4",
                             "gen_ai.response.model": "gpt-4-0613", "gen_ai.input.messages": "[]"}),
                      resource={"driftgate.model_version": "ft-v3"}, conventions=CONVENTIONS)
    assert mapped.model_names == ("ft-v3", "gpt-4-0613", "gpt-4")


def test_timestamp_ids_and_configured_attributes_fill_the_record():
    record = _record({"gen_ai.input.messages": json.dumps([{"role": "user", "content": "Q"}]),
                      "gen_ai.completion.0.content": "A", "gen_ai.request.model": "m",
                      "driftgate.score": 3, "driftgate.feedback": False}, resource={"driftgate.segment": "nb"})
    assert record["external_id"] == "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7"
    assert record["timestamp"] == "2025-12-01T12:00:00.123456+00:00"
    assert (record["segment"], record["score"], record["feedback"]) == ("nb", 3, -1)
    assert record["metadata"]["duration_ms"] == 1000


def test_other_operations_failed_calls_and_plain_spans_are_ignored_by_reason():
    assert map_span(_span({"gen_ai.operation.name": "execute_tool"}), resource={},
                    conventions=CONVENTIONS) == IgnoredReason.OTHER_OPERATION
    assert map_span(_span({"gen_ai.operation.name": "chat"}, status=Status.STATUS_CODE_ERROR), resource={},
                    conventions=CONVENTIONS) == IgnoredReason.FAILED_CALL
    assert map_span(_span({"http.route": "/"}), resource={}, conventions=CONVENTIONS) == IgnoredReason.NOT_GENAI


def test_a_chat_span_without_captured_content_is_a_row_error():
    mapped = map_span(_span({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}), resource={},
                      conventions=CONVENTIONS)
    assert (mapped.record, mapped.error_code) == (None, "missing_content")


def test_the_resource_attribute_names_the_use_case_before_the_header():
    request = ExportTraceServiceRequest()
    for slug in ("from-resource", None):
        resource_spans = request.resource_spans.add()
        if slug:
            resource_spans.resource.attributes.append(KeyValue(key="driftgate.use_case", value=_value(slug)))
        resource_spans.scope_spans.add().spans.append(_span({"gen_ai.input.messages": "[]"}))
    contents = export_contents(request, conventions=CONVENTIONS, header_use_case="from-header")
    assert {slug: len(spans) for slug, spans in contents.by_use_case.items()} == {"from-resource": 1, "from-header": 1}


def test_otlp_json_reads_to_the_same_records_as_the_sdks_protobuf():
    spans = record_spans([
        {"name": "chat", "attributes": chat_attributes("Why twice?", "Pre-authorisation.",
                                                        **{"driftgate.score": 0.25, "driftgate.feedback": -1,
                                                           "gen_ai.response.finish_reasons": ["stop"]})},
        {"name": "chat", "attributes": {"gen_ai.system": "openai", "gen_ai.request.model": "m"},
         "events": [("gen_ai.content.prompt", {"gen_ai.prompt": "Where?"}),
                    ("gen_ai.content.completion", {"gen_ai.completion": "Here."})]},
    ], resource={"driftgate.use_case": "invoice-bot"})
    protobuf = encode_spans(spans)
    as_json = json_format.MessageToDict(protobuf)
    for resource_spans in as_json["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for name in ("traceId", "spanId"):
                    span[name] = base64.b64decode(span[name]).hex()

    from_json = parse_export(json.dumps(as_json).encode(), media_type="application/json")

    def records(request):
        contents = export_contents(request, conventions=CONVENTIONS)
        return [(span.external_id, span.record, span.model_names) for span in contents.by_use_case["invoice-bot"]]

    assert records(from_json) == records(protobuf)
    assert len(records(protobuf)) == 2
