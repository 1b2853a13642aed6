"""Traffic ingestion endpoint: `POST /api/v1/use-cases/{slug}/traffic` with a JSON array or NDJSON body."""
import logging
from typing import NoReturn

from django.conf import settings
from django.db import InterfaceError, OperationalError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.errors import IngestRateLimited, error_body
from driftgate.models import TokenScope
from driftgate.permissions import IsAuthenticatedActor
from driftgate.throttling import TrafficIngestThrottle, default_ingest_rate
from governance.permissions import get_visible_use_case
from monitoring.ingest.parsing import ingest_media_type, read_bounded
from monitoring.models import MonitoringPolicy
from monitoring.services.traffic import traffic_ingest, traffic_ingest_authorize

logger = logging.getLogger(__name__)
# Seconds a client should wait before retrying when the database is away (a restart, a fail-over).
DATABASE_RETRY_AFTER_SECONDS = 2


class RowErrorSerializer(serializers.Serializer):
    """Why one row was rejected."""

    index = serializers.IntegerField(help_text="0-based position of the record in the batch.")
    line = serializers.IntegerField(required=False, help_text="1-based line of the body (NDJSON only).")
    external_id = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    field = serializers.CharField(required=False)
    message = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    """Counts of a batch; rows are accepted or rejected one by one."""

    accepted = serializers.IntegerField()
    duplicate = serializers.IntegerField(help_text="Valid rows whose external_id the use case already had.")
    rejected = serializers.IntegerField()
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class
    errors_truncated = serializers.BooleanField()


class TrafficIngestView(APIView):
    """Post a batch of prompt/response records; idempotent on (use case, external_id)."""

    required_scope = TokenScope.TRAFFIC_WRITE
    # The scope is checked by the service so a token without it gets the stable code `missing_scope`.
    permission_classes = [IsAuthenticatedActor]
    throttle_classes = [TrafficIngestThrottle]

    def ingest_rate_per_minute(self, request: Request) -> int:
        """Return the batches per token per minute this use case allows (its policy's, else the default)."""
        rate = (MonitoringPolicy.objects.filter(use_case__slug=self.kwargs.get("slug", ""))
                .values_list("ingest_rate_per_minute", flat=True).first())
        return rate or default_ingest_rate()

    def throttled(self, request: Request, wait: float | None) -> NoReturn:
        raise IngestRateLimited(wait=wait)

    def handle_exception(self, exc: Exception) -> Response:
        """Answer 503 with a stable code when the database is unreachable, so the serving layer retries."""
        if isinstance(exc, (OperationalError, InterfaceError)):
            # The batch's transaction did not commit (or its commit's outcome is unknown): either way a retry is
            # safe, because ingestion is idempotent on external_id. Covers the token look-up too.
            logger.warning("traffic ingestion: database unavailable: %s", exc)
            return Response(error_body("database_unavailable",
                                       "The database is unavailable, so the batch was not stored (or its commit is "
                                       "unconfirmed). Retry it: a batch is never stored twice.",
                                       {"retry_after": DATABASE_RETRY_AFTER_SECONDS}),
                            status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)})
        return super().handle_exception(exc)

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT, "application/x-ndjson": OpenApiTypes.STR},
        responses={200: IngestResultSerializer, 400: OpenApiResponse(description="invalid_utf8, malformed_json"),
                   403: OpenApiResponse(description="missing_scope, missing_role"),
                   404: OpenApiResponse(description="use_case_not_found"),
                   413: OpenApiResponse(description="payload_too_large, too_many_records"),
                   415: OpenApiResponse(description="unsupported_media_type"),
                   503: OpenApiResponse(description="database_unavailable (retry after Retry-After seconds; "
                                                    "a retried batch is never stored twice)"),
                   429: OpenApiResponse(description="ingest_rate_limited, token_failures_throttled (Retry-After)")},
    )
    def post(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        # Refuse early so a client without the right, or with the wrong format, is not read in full.
        traffic_ingest_authorize(actor=actor, use_case=use_case)
        ingest_media_type(request.content_type)
        body = read_bounded(request.stream, content_length=request.META.get("CONTENT_LENGTH"),
                            max_bytes=settings.DRIFTGATE_TRAFFIC_MAX_BYTES)
        result = traffic_ingest(actor=actor, use_case=use_case, body=body, content_type=request.content_type)
        return Response(result.as_dict())
