"""Read-only audit log endpoints and the chain check."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.datetimes import query_datetime
from driftgate.models import TokenScope
from governance.audit import audit_verify_chain
from governance.models import AuditEvent
from governance.selectors.audit import audit_events_visible_to


class AuditEventSerializer(serializers.ModelSerializer):
    """An audit event as stored, with the use case's slug."""

    use_case = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["sequence", "created_at", "actor_kind", "actor_user", "actor_token", "actor_display", "action",
                  "object_type", "object_id", "use_case", "before", "after", "reason", "request_id", "prev_hash",
                  "hash"]
        read_only_fields = fields


@extend_schema(parameters=[
    OpenApiParameter("use_case", OpenApiTypes.STR, description="Use case slug"),
    OpenApiParameter("action", OpenApiTypes.STR, description="Action code; a trailing dot matches a family (gate.)"),
    OpenApiParameter("object_type", OpenApiTypes.STR),
    OpenApiParameter("object_id", OpenApiTypes.STR),
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
])
class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit log, newest first. Read-only: nothing can change or remove an event."""

    serializer_class = AuditEventSerializer
    required_scope = TokenScope.GOVERNANCE_READ
    lookup_field = "sequence"

    def get_queryset(self):
        params = self.request.query_params
        return audit_events_visible_to(
            actor=Actor.from_request(self.request),
            use_case_slug=params.get("use_case"),
            action=params.get("action"),
            object_type=params.get("object_type"),
            object_id=params.get("object_id"),
            since=query_datetime(self.request, "since"),
            until=query_datetime(self.request, "until"),
        )


class ChainVerificationSerializer(serializers.Serializer):
    """Result of walking the chain."""

    ok = serializers.BooleanField()
    count = serializers.IntegerField()
    head_hash = serializers.CharField()
    first_bad_sequence = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()


class AuditVerifyView(APIView):
    """Walk the whole chain and report whether it is intact."""

    required_scope = TokenScope.GOVERNANCE_READ

    @extend_schema(responses=ChainVerificationSerializer)
    def get(self, request: Request) -> Response:
        return Response(audit_verify_chain().as_dict())
