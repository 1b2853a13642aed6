"""Turning OpenTelemetry GenAI spans into traffic records, the shape the JSON endpoint accepts.

Pure: no ORM. A span is GenAI when it carries `gen_ai.operation.name` or any `gen_ai.*` attribute or event; it
is one exchange (one record) when its operation is one of the configured operations (chat, text_completion,
generate_content by default) or it names none. Everything else is ignored and counted by reason.

Where the text comes from, first found wins (the semantic conventions moved it twice):
1. `gen_ai.input.messages` / `gen_ai.output.messages` on the span (JSON strings of messages with parts, or the
   same as structured attributes), then on any of its events (`gen_ai.client.inference.operation.details`);
2. the older events `gen_ai.content.prompt` / `gen_ai.content.completion` with `gen_ai.prompt` /
   `gen_ai.completion` (a JSON message array or plain text);
3. the older indexed attributes `gen_ai.prompt.<n>.content` / `gen_ai.completion.<n>.content` (with `.role`).
The prompt is the last user message (the question the drift tests should compare, without the system prompt
that is the same in every request); the response is the first output message (the first choice).
"""
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"
OPERATION_NAME = "gen_ai.operation.name"
PROMPT_EVENT, PROMPT_ATTRIBUTE = "gen_ai.content.prompt", "gen_ai.prompt"
COMPLETION_EVENT, COMPLETION_ATTRIBUTE = "gen_ai.content.completion", "gen_ai.completion"
_INDEXED = re.compile(r"^gen_ai\.(prompt|completion)\.(\d+)\.content$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_METADATA_TEXT = 200
_MAX_SAFE_INTEGER = 2**53


class IgnoredReason:
    """Why a span is not a record (the counts the response and the log report)."""

    NOT_GENAI = "not_genai"
    OTHER_OPERATION = "other_operation"
    FAILED_CALL = "failed_call"


@dataclass(frozen=True)
class SpanConventions:
    """The attribute names a deployment configured for what the GenAI conventions do not define."""

    use_case_attribute: str = "driftgate.use_case"
    model_version_attribute: str = "driftgate.model_version"
    segment_attribute: str = "driftgate.segment"
    score_attribute: str = "driftgate.score"
    feedback_attribute: str = "driftgate.feedback"
    operations: frozenset[str] = frozenset({"chat", "text_completion", "generate_content"})


@dataclass
class MappedSpan:
    """One GenAI exchange: the record for validation, or why it cannot be one, and the model names it gave."""

    external_id: str
    record: dict | None = None
    error_code: str = ""
    error_message: str = ""
    model_names: tuple[str, ...] = ()


@dataclass
class ExportContents:
    """The exchanges of one export grouped by use case slug, and the spans that are not records."""

    by_use_case: dict[str, list[MappedSpan]] = field(default_factory=dict)
    without_use_case: int = 0
    ignored: Counter = field(default_factory=Counter)
    spans: int = 0

    @property
    def exchanges(self) -> int:
        """Return how many spans are GenAI exchanges (with a use case or not)."""
        return sum(len(spans) for spans in self.by_use_case.values()) + self.without_use_case


def any_value(value: AnyValue) -> Any:
    """Return an OTLP attribute value as plain Python (str, bool, int, float, bytes, list, dict or None)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: any_value(item.value) for item in value.kvlist_value.values}
    return getattr(value, kind)


def _attributes(items) -> dict[str, Any]:
    return {item.key: any_value(item.value) for item in items}


def _parts_text(parts: Any) -> list[str]:
    texts = []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict) or part.get("type", "text") != "text":
            continue
        # "content" in the GenAI conventions' parts, "text" in OpenAI-style content lists.
        content = part.get("content", part.get("text"))
        if isinstance(content, str):
            texts.append(content)
    return texts


def message_text(message: dict) -> str:
    """Return a message's text parts joined by newlines (tool calls, blobs and files carry no text)."""
    texts = _parts_text(message.get("parts"))
    content = message.get("content")
    if isinstance(content, str):
        texts.append(content)
    else:
        texts.extend(_parts_text(content))
    return "\n".join(texts)


def _as_messages(value: Any, *, plain_text_role: str | None = None) -> list[dict] | None:
    """Return a message list from a JSON string or a structured attribute; plain text becomes one message."""
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (ValueError, RecursionError):
            decoded = None
        if isinstance(decoded, (list, dict)):
            value = decoded
        elif plain_text_role is not None:
            return [{"role": plain_text_role, "content": value}]
        else:
            return None
    if isinstance(value, dict):
        value = [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return None


def pick_prompt(messages: list[dict]) -> str | None:
    """Return the last user message's text, else the last message with text; None when none has any."""
    for role_wanted in ("user", None):
        for message in reversed(messages):
            if role_wanted is not None and message.get("role") != role_wanted:
                continue
            text = message_text(message)
            if text:
                return text
    return None


def pick_response(messages: list[dict]) -> str | None:
    """Return the first output message's text (the first choice); "" for an output without text."""
    if not messages:
        return None
    return message_text(messages[0])


def _indexed_messages(attributes: dict[str, Any], kind: str) -> list[dict] | None:
    found = []
    for key, value in attributes.items():
        match = _INDEXED.match(key)
        if match and match.group(1) == kind and isinstance(value, str):
            index = int(match.group(2))
            role = attributes.get(f"gen_ai.{kind}.{index}.role")
            found.append((index, {"role": role if isinstance(role, str) else "", "content": value}))
    return [message for _, message in sorted(found, key=lambda pair: pair[0])] or None


def _messages_of(attributes: dict, events: list[tuple[str, dict]], *, modern: str, event_name: str,
                 event_attribute: str, indexed: str, plain_role: str) -> list[dict] | None:
    if modern in attributes:
        return _as_messages(attributes[modern])
    for _, event_attributes in events:
        if modern in event_attributes:
            return _as_messages(event_attributes[modern])
    for name, event_attributes in events:
        if name == event_name and event_attribute in event_attributes:
            return _as_messages(event_attributes[event_attribute], plain_text_role=plain_role)
    return _indexed_messages(attributes, indexed)


def _is_genai(attributes: dict[str, Any], events: list[tuple[str, dict]]) -> bool:
    return (any(key.startswith("gen_ai.") for key in attributes)
            or any(name.startswith("gen_ai.") or any(key.startswith("gen_ai.") for key in event_attributes)
                   for name, event_attributes in events))


def _timestamp(nanos: int) -> str | None:
    if not nanos:
        return None
    try:
        return (_EPOCH + timedelta(microseconds=nanos // 1000)).isoformat()
    except OverflowError:
        return ""


def _metadata(span: Span, attributes: dict, resource: dict) -> dict:
    candidates = {
        "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(), "span_name": span.name,
        "operation": attributes.get(OPERATION_NAME),
        "provider": attributes.get("gen_ai.provider.name", attributes.get("gen_ai.system")),
        "service": resource.get("service.name"),
        "request_model": attributes.get("gen_ai.request.model"),
        "response_model": attributes.get("gen_ai.response.model"),
        "response_id": attributes.get("gen_ai.response.id"),
        "input_tokens": attributes.get("gen_ai.usage.input_tokens"),
        "output_tokens": attributes.get("gen_ai.usage.output_tokens"),
        "duration_ms": (span.end_time_unix_nano - span.start_time_unix_nano) // 1_000_000
        if span.end_time_unix_nano >= span.start_time_unix_nano else None,
    }
    metadata: dict[str, Any] = {}
    for key, value in candidates.items():
        # Only what jsonb and every JSON reader hold exactly, and short: metadata is for filtering, not payloads.
        if isinstance(value, str) and value:
            metadata[key] = value[:_MAX_METADATA_TEXT]
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) <= _MAX_SAFE_INTEGER:
            metadata[key] = value
    return metadata


def _lookup(name: str, attributes: dict, resource: dict) -> Any:
    return attributes[name] if name in attributes else resource.get(name)


def _feedback(value: Any) -> Any:
    # A boolean thumbs-up/-down is the natural attribute; the JSON endpoint's 1/-1 pass through unchanged.
    if isinstance(value, bool):
        return 1 if value else -1
    return value


def map_span(span: Span, *, resource: dict, conventions: SpanConventions) -> MappedSpan | str:
    """Return the span as a record (or a row error), or the IgnoredReason it is not one."""
    attributes = _attributes(span.attributes)
    events = [(event.name, _attributes(event.attributes)) for event in span.events]
    if not _is_genai(attributes, events):
        return IgnoredReason.NOT_GENAI
    operation = attributes.get(OPERATION_NAME)
    if operation is not None and operation not in conventions.operations:
        return IgnoredReason.OTHER_OPERATION
    if span.status.code == Status.STATUS_CODE_ERROR:
        # A call that failed has no response to monitor; its error belongs to the application's own tracing.
        return IgnoredReason.FAILED_CALL
    external_id = f"{span.trace_id.hex()}:{span.span_id.hex()}"
    if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id) or not any(span.span_id):
        return MappedSpan(external_id=external_id, error_code="invalid_span_id",
                          error_message="The span needs a 16-byte trace id and an 8-byte span id, not all zero.")
    names = [_lookup(conventions.model_version_attribute, attributes, resource),
             attributes.get("gen_ai.response.model"), attributes.get("gen_ai.request.model")]
    model_names = tuple(dict.fromkeys(name for name in names if isinstance(name, str) and name))
    inputs = _messages_of(attributes, events, modern=INPUT_MESSAGES, event_name=PROMPT_EVENT,
                          event_attribute=PROMPT_ATTRIBUTE, indexed="prompt", plain_role="user")
    outputs = _messages_of(attributes, events, modern=OUTPUT_MESSAGES, event_name=COMPLETION_EVENT,
                           event_attribute=COMPLETION_ATTRIBUTE, indexed="completion", plain_role="assistant")
    prompt = pick_prompt(inputs) if inputs is not None else None
    response = pick_response(outputs) if outputs is not None else None
    if prompt is None or response is None:
        missing = "prompt" if prompt is None else "response"
        return MappedSpan(external_id=external_id, model_names=model_names, error_code="missing_content",
                          error_message=f"The span carries no {missing} text ({INPUT_MESSAGES if prompt is None else OUTPUT_MESSAGES}"
                                        " or the older gen_ai.prompt / gen_ai.completion); turn on message content "
                                        "capture in the instrumentation (for example "
                                        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).")
    record = {
        "external_id": external_id,
        "timestamp": _timestamp(span.start_time_unix_nano),
        "prompt": prompt,
        "response": response,
        "model_version": model_names[0] if model_names else None,
        "segment": _lookup(conventions.segment_attribute, attributes, resource),
        "score": _lookup(conventions.score_attribute, attributes, resource),
        "feedback": _feedback(_lookup(conventions.feedback_attribute, attributes, resource)),
        "metadata": _metadata(span, attributes, resource),
    }
    return MappedSpan(external_id=external_id, record=record, model_names=model_names)


def export_contents(request: ExportTraceServiceRequest, *, conventions: SpanConventions,
                    header_use_case: str = "") -> ExportContents:
    """Map every span of an export, grouping the exchanges by the use case their resource (or the header) names."""
    contents = ExportContents()
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        named = resource.get(conventions.use_case_attribute)
        slug = named if isinstance(named, str) and named else header_use_case
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                contents.spans += 1
                mapped = map_span(span, resource=resource, conventions=conventions)
                if isinstance(mapped, str):
                    contents.ignored[mapped] += 1
                elif not slug:
                    contents.without_use_case += 1
                else:
                    contents.by_use_case.setdefault(slug, []).append(mapped)
    return contents
