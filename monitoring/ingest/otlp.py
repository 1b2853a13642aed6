"""Reading an OTLP/HTTP trace export: media type, content encoding, size limits, protobuf or JSON.

Every refusal here is a request error (4xx) raised before anything is stored: an unknown media type or content
encoding (415), a body over the limit before or after decompression (413), a body that is not gzip or deflate
as declared, or not an `ExportTraceServiceRequest` in the declared encoding (400).
"""
import binascii
import json
import zlib
from typing import Any

import msgspec
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from rest_framework import status

from driftgate.errors import ApplicationError, PayloadTooLarge, ValidationFailed
from monitoring.ingest.otlp_json import export_from_json

MEDIA_PROTOBUF = "application/x-protobuf"
MEDIA_JSON = "application/json"
SUPPORTED_MEDIA_TYPES = (MEDIA_PROTOBUF, MEDIA_JSON)
SUPPORTED_ENCODINGS = ("gzip", "deflate", "identity")


def otlp_media_type(content_type: str | None) -> str:
    """Return the export's encoding, or refuse anything but OTLP protobuf or OTLP JSON (415)."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type not in SUPPORTED_MEDIA_TYPES:
        raise ApplicationError(
            f"Send traces as {MEDIA_PROTOBUF} or {MEDIA_JSON} (OTLP/HTTP); got {content_type or 'no Content-Type'!r}.",
            code="unsupported_media_type", status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            extra={"supported": list(SUPPORTED_MEDIA_TYPES)})
    return media_type


def otlp_content_encoding(header: str | None) -> str:
    """Return the body's content encoding (identity when absent), or refuse one this server cannot undo (415)."""
    encoding = (header or "identity").strip().lower() or "identity"
    if encoding not in SUPPORTED_ENCODINGS:
        raise ApplicationError(
            f"Content-Encoding {header!r} is not supported; send gzip, deflate or an uncompressed body.",
            code="unsupported_content_encoding", status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            extra={"supported": list(SUPPORTED_ENCODINGS)})
    return encoding


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The export exceeds the limit of {max_bytes} bytes (after decompression); send smaller "
                           "batches (the Collector's batch processor: send_batch_max_size).",
                           code="payload_too_large", extra={"max_bytes": max_bytes})


def decompress(body: bytes, *, encoding: str, max_bytes: int) -> bytes:
    """Undo gzip or deflate, never producing more than max_bytes: a small bomb is refused, not inflated (413)."""
    if encoding == "identity":
        if len(body) > max_bytes:
            raise _too_large(max_bytes)
        return body
    # deflate as HTTP means it (a zlib stream), and raw deflate too, as some clients send it.
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else (zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS)
    inflater = zlib.decompressobj(wbits=wbits)
    try:
        plain = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ValidationFailed(f"The body is not valid {encoding} data: {exc}.", code="malformed_compression",
                               extra={"content_encoding": encoding}) from exc
    if len(plain) > max_bytes or inflater.unconsumed_tail:
        raise _too_large(max_bytes)
    if not inflater.eof:
        raise ValidationFailed(f"The {encoding} body ends before its stream does.", code="malformed_compression",
                               extra={"content_encoding": encoding})
    return plain


def _malformed(message: str) -> ValidationFailed:
    return ValidationFailed(message, code="malformed_otlp")


_FAST = msgspec.json.Decoder()


def _slow_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _malformed(f"The body is not valid JSON: {exc}.") from exc


def parse_export(body: bytes, *, media_type: str) -> ExportTraceServiceRequest:
    """Decode an OTLP protobuf or OTLP JSON body into an ExportTraceServiceRequest (400 malformed_otlp)."""
    request = ExportTraceServiceRequest()
    if media_type == MEDIA_PROTOBUF:
        try:
            request.ParseFromString(body)
        except (DecodeError, RecursionError) as exc:
            raise _malformed(f"The body is not an OTLP ExportTraceServiceRequest in protobuf: {exc}.") from exc
        return request
    try:
        text = body.decode("utf-8").removeprefix("\ufeff") or "null"
    except UnicodeDecodeError as exc:
        raise _malformed(f"The body is not valid UTF-8 (byte {exc.start}).") from exc
    try:
        # msgspec parses in C, several times faster than the json module; what it refuses (NaN, numbers beyond
        # 64 bits, bad JSON) the json module parses again, so errors and values are the json module's.
        value = _FAST.decode(text)
    except (msgspec.DecodeError, RecursionError):
        value = _slow_json(text)
    if not isinstance(value, dict):
        raise _malformed("The body must be an OTLP/JSON ExportTraceServiceRequest object.")
    try:
        return export_from_json(value)
    except (binascii.Error, OverflowError, RecursionError, TypeError, ValueError) as exc:
        raise _malformed(f"The body is not an OTLP/JSON ExportTraceServiceRequest: {exc}.") from exc
