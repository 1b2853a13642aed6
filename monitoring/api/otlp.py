"""OTLP/HTTP trace receiver: `POST /v1/traces` turns OpenTelemetry GenAI spans into traffic records.

Speaks OTLP/HTTP rather than Driftgate's own error shape, so exporters and the Collector understand it: the
response is an `ExportTraceServiceResponse` in the request's encoding (protobuf or JSON), and an error is a
`google.rpc.Status` in that encoding whose `google.rpc.ErrorInfo` detail carries Driftgate's stable code
(`reason`) and its extra data (`metadata`). A request whose encoding is unknown gets the Status as JSON.
"""
import json
import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from google.protobuf import json_format
from google.protobuf.any_pb2 import Any as AnyMessage
from google.protobuf.message import Message
from google.rpc.error_details_pb2 import ErrorInfo
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.errors import IngestRateLimited, exception_handler
from driftgate.models import TokenScope
from driftgate.permissions import IsAuthenticatedActor
from driftgate.throttling import default_ingest_rate, ingest_batch_wait
from governance.permissions import require_scope
from monitoring.ingest.genai import export_contents
from monitoring.ingest.otlp import (
    MEDIA_JSON,
    MEDIA_PROTOBUF,
    SUPPORTED_MEDIA_TYPES,
    decompress,
    otlp_content_encoding,
    otlp_media_type,
    parse_export,
)
from monitoring.ingest.parsing import read_bounded
from monitoring.models import MonitoringPolicy
from monitoring.services.otlp import USE_CASE_HEADER, otlp_conventions, otlp_export_authorize, otlp_export_ingest

logger = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_SECONDS = 2
ERROR_DOMAIN = "driftgate"
# google.rpc.Code for the HTTP statuses this endpoint answers (the mapping gRPC's HTTP gateway uses).
_RPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 10, 413: 8, 415: 3, 429: 8, 503: 14}


def _encoding_of(content_type: str | None) -> str:
    media_type = (content_type or "").partition(";")[0].strip().lower()
    return media_type if media_type in SUPPORTED_MEDIA_TYPES else MEDIA_JSON


def otlp_reply(message: Message, *, media_type: str, status: int = 200,
               headers: dict[str, str] | None = None) -> HttpResponse:
    """Return a protobuf message as an HTTP response in the request's encoding."""
    if media_type == MEDIA_PROTOBUF:
        body = message.SerializeToString()
    else:
        body = json_format.MessageToJson(message, indent=None).encode("utf-8")
    response = HttpResponse(body, status=status, content_type=media_type)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_status(code: str, message: str, extra: dict, *, http_status: int) -> Status:
    """Return the OTLP error body: a google.rpc.Status carrying Driftgate's code as an ErrorInfo reason."""
    info = ErrorInfo(reason=code, domain=ERROR_DOMAIN,
                     metadata={key: value if isinstance(value, str) else json.dumps(value, default=str)
                               for key, value in extra.items()})
    detail = AnyMessage()
    detail.Pack(info)
    return Status(code=_RPC_CODES.get(http_status, 2), message=message, details=[detail])


class _AnyAccept(BaseContentNegotiation):
    """Content negotiation that never refuses: the reply's encoding follows the request's, not its Accept."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), MEDIA_JSON


class OtlpTracesView(APIView):
    """Receive an OTLP/HTTP trace export and store its GenAI spans as the named use cases' traffic."""

    required_scope = TokenScope.TRAFFIC_WRITE
    permission_classes = [IsAuthenticatedActor]
    content_negotiation_class = _AnyAccept
    # Counted per use case once the export names them (they are in the body, not in the URL).
    throttle_classes: list = []

    # A plain HttpResponse, not DRF's Response: the body is protobuf or OTLP JSON, encoded here, not by a renderer.
    def handle_exception(self, exc: Exception) -> HttpResponse:  # type: ignore[override]
        """Answer every refusal as an OTLP Status in the request's encoding, with Driftgate's stable code."""
        media_type = _encoding_of(self.request.META.get("CONTENT_TYPE"))
        if isinstance(exc, (OperationalError, InterfaceError)):
            # Nothing committed (or the commit is unconfirmed): exporters retry 503, and a retry stores nothing twice.
            logger.warning("otlp export: database unavailable: %s", exc)
            status = error_status("database_unavailable", "The database is unavailable; retry the export.",
                                  {"retry_after": DATABASE_RETRY_AFTER_SECONDS}, http_status=503)
            return otlp_reply(status, media_type=media_type, status=503,
                              headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
        if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            # As DRF's own handler does, so the 401 names the Bearer scheme.
            exc.auth_header = self.get_authenticate_header(self.request)  # type: ignore[union-attr]
        response = exception_handler(exc, self.get_exception_handler_context())
        if response is None:
            self.raise_uncaught_exception(exc)
        assert response is not None
        data = response.data or {}
        status = error_status(data.get("code", "error"), data.get("message", ""), data.get("extra", {}),
                              http_status=response.status_code)
        headers = {name: response[name] for name in ("Retry-After", "WWW-Authenticate") if response.has_header(name)}
        return otlp_reply(status, media_type=media_type, status=response.status_code, headers=headers)

    def _ingest_rate(self, slug: str) -> int:
        rate = (MonitoringPolicy.objects.filter(use_case__slug=slug)
                .values_list("ingest_rate_per_minute", flat=True).first())
        return rate or default_ingest_rate()

    @extend_schema(exclude=True)
    def post(self, request: Request) -> HttpResponse:
        actor = Actor.from_request(request)
        # Refused before the body is read: the wrong token, media type or encoding costs no parsing.
        require_scope(actor=actor, scope=TokenScope.TRAFFIC_WRITE)
        media_type = otlp_media_type(request.META.get("CONTENT_TYPE"))
        encoding = otlp_content_encoding(request.META.get("HTTP_CONTENT_ENCODING"))
        limit = settings.DRIFTGATE_OTLP_MAX_BYTES
        body = read_bounded(request.stream, content_length=request.META.get("CONTENT_LENGTH"), max_bytes=limit)
        export = parse_export(decompress(body, encoding=encoding, max_bytes=limit), media_type=media_type)
        contents = export_contents(export, conventions=otlp_conventions(),
                                   header_use_case=request.headers.get(USE_CASE_HEADER, "").strip())
        use_cases = otlp_export_authorize(actor=actor, contents=contents)
        for slug in use_cases:
            wait = ingest_batch_wait(request, slug=slug, rate=self._ingest_rate(slug))
            if wait:
                raise IngestRateLimited(wait=wait)
        result = otlp_export_ingest(actor=actor, contents=contents, use_cases=use_cases)
        reply = ExportTraceServiceResponse()
        message = result.message()
        if message:
            # Rejected spans are counted; ignored ones only warn (rejected_spans 0 with a message, as OTLP allows).
            reply.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=result.rejected,
                                                                     error_message=message))
        return otlp_reply(reply, media_type=media_type)
