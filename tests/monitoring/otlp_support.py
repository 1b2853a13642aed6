"""Building OpenTelemetry GenAI spans with the real SDK, and reading OTLP replies, for the OTLP tests."""
import json
import time
from collections.abc import Sequence

from google.protobuf import json_format
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind


def messages(*pairs: tuple[str, str]) -> str:
    """Return gen_ai.input/output.messages as the conventions record them: a JSON array of messages with parts."""
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in pairs])


def chat_attributes(prompt: str, response: str, *, model: str = "ft-v3", **extra) -> dict:
    """Return the attributes of a chat span with content capture on span attributes."""
    return {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
            "gen_ai.usage.input_tokens": 52, "gen_ai.usage.output_tokens": 47,
            "gen_ai.input.messages": messages(("system", "You are the invoice assistant."), ("user", prompt)),
            "gen_ai.output.messages": messages(("assistant", response)), **extra}


def record_spans(specs: Sequence[dict], *, resource: dict | None = None) -> list[ReadableSpan]:
    """Create finished SDK spans; each spec has `name`, `attributes` and optionally `events` and `error`."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "invoice-bot", **(resource or {})}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("driftgate-tests")
    for spec in specs:
        with tracer.start_as_current_span(spec["name"], kind=SpanKind.CLIENT,
                                          attributes=spec.get("attributes", {})) as span:
            for name, attributes in spec.get("events", []):
                span.add_event(name, attributes)
            if spec.get("error"):
                span.set_status(spec["error"])
            time.sleep(0.001)
    provider.shutdown()
    return list(exporter.get_finished_spans())


def protobuf_body(spans: Sequence[ReadableSpan]) -> bytes:
    """Encode spans exactly as the SDK's OTLP/HTTP exporter does."""
    return encode_spans(spans).SerializeToString()


def error_reason(body: bytes, *, encoding: str = "protobuf") -> tuple[str, Status]:
    """Return Driftgate's stable code (the ErrorInfo reason) and the google.rpc.Status of an OTLP error reply."""
    status = Status()
    if encoding == "protobuf":
        status.ParseFromString(body)
    else:
        json_format.Parse(body, status)
    info = ErrorInfo()
    assert status.details and status.details[0].Unpack(info)
    return info.reason, status
