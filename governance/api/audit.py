"""Read-only audit log endpoints, the chain check, signed checkpoints and their proofs."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.datetimes import query_datetime
from driftgate.errors import NotFound, ValidationFailed
from driftgate.models import TokenScope
from governance.audit import audit_verify_chain
from governance.auditlog.checkpoints import (
    audit_checkpoint_request,
    audit_consistency_proof,
    audit_inclusion_proof,
    checkpoint_document,
)
from governance.models import AuditCheckpoint, AuditEvent, UseCase
from governance.selectors.audit import audit_events_visible_to


class AuditEventSerializer(serializers.ModelSerializer):
    """An audit event as stored, with the use case's slug."""

    use_case: "serializers.SlugRelatedField[UseCase]" = serializers.SlugRelatedField(slug_field="slug",
                                                                                      read_only=True)

    class Meta:
        model = AuditEvent
        fields = ["sequence", "created_at", "actor_kind", "actor_user", "actor_token", "actor_display", "action",
                  "object_type", "object_id", "use_case", "before", "after", "reason", "request_id", "prev_hash",
                  "hash", "canonical", "mac", "key_id"]
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


class BreakSerializer(serializers.Serializer):
    """One break: its kind, the events it names (a range) and why."""

    kind = serializers.CharField()
    first_sequence = serializers.IntegerField(allow_null=True)
    last_sequence = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField()
    detail = serializers.CharField()


class CheckedSerializer(serializers.Serializer):
    """What the walk looked at."""

    events = serializers.IntegerField()
    keyed_events = serializers.IntegerField()
    legacy_events = serializers.IntegerField()
    checkpoints = serializers.IntegerField()


class AnchorSerializer(serializers.Serializer):
    """The latest external checkpoint the chain was checked against."""

    tree_size = serializers.IntegerField()
    root = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class
    timestamp = serializers.CharField()
    key_id = serializers.CharField()


class ChainVerificationSerializer(serializers.Serializer):
    """Result of walking the chain: intact or every break."""

    ok = serializers.BooleanField()
    intact = serializers.BooleanField()
    count = serializers.IntegerField()
    head_hash = serializers.CharField()
    head_sequence = serializers.IntegerField()
    first_bad_sequence = serializers.IntegerField(allow_null=True)
    problem = serializers.CharField()
    breaks = BreakSerializer(many=True)
    checked = CheckedSerializer()
    external_checkpoint = AnchorSerializer(allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())


class AuditVerifyView(APIView):
    """Walk the whole chain against its signed checkpoints and list every break."""

    required_scope = TokenScope.GOVERNANCE_READ

    @extend_schema(responses=ChainVerificationSerializer)
    def get(self, request: Request) -> Response:
        return Response(audit_verify_chain().as_dict())


class CheckpointSerializer(serializers.Serializer):
    """A signed checkpoint: the signed text and its fields."""

    format = serializers.CharField()
    tree_size = serializers.IntegerField()
    root = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class
    timestamp = serializers.CharField()
    key_id = serializers.CharField()
    body = serializers.CharField(help_text="The exact text signed with Ed25519.")
    signature = serializers.CharField(help_text="Base64 Ed25519 signature over body.")


class AuditCheckpointListView(APIView):
    """Signed checkpoints of the chain, newest first; POST signs one now (platform administrators)."""

    required_scope = TokenScope.GOVERNANCE_READ

    @extend_schema(responses=CheckpointSerializer(many=True),
                   parameters=[OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (100)")])
    def get(self, request: Request) -> Response:
        try:
            limit = min(max(int(request.query_params.get("limit", 100)), 1), 1000)
        except ValueError as error:
            raise ValidationFailed("limit must be an integer.", code="invalid_limit") from error
        rows = AuditCheckpoint.objects.order_by("-tree_size")[:limit]
        return Response([checkpoint_document(row) for row in rows])

    @extend_schema(request=None, responses={201: CheckpointSerializer})
    def post(self, request: Request) -> Response:
        checkpoint = audit_checkpoint_request(actor=Actor.from_request(request))
        return Response(checkpoint_document(checkpoint), status=status.HTTP_201_CREATED)


class InclusionProofSerializer(serializers.Serializer):
    """An event's exact bytes and its audit path to a signed checkpoint's root."""

    sequence = serializers.IntegerField()
    leaf_index = serializers.IntegerField()
    canonical = serializers.CharField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()
    inclusion_proof = serializers.ListField(child=serializers.CharField())
    checkpoint = CheckpointSerializer()


class AuditEventProofView(APIView):
    """The inclusion proof of one event the actor may read, under the oldest checkpoint covering it."""

    required_scope = TokenScope.GOVERNANCE_READ

    @extend_schema(responses=InclusionProofSerializer,
                   parameters=[OpenApiParameter("tree_size", OpenApiTypes.INT, description="A stored checkpoint")])
    def get(self, request: Request, sequence: int) -> Response:
        if not audit_events_visible_to(actor=Actor.from_request(request)).filter(sequence=sequence).exists():
            raise NotFound(f"Audit event #{sequence} does not exist.", code="audit_event_not_found",
                           extra={"sequence": sequence})
        raw = request.query_params.get("tree_size")
        if raw is not None and not raw.isdigit():
            raise ValidationFailed("tree_size must be a positive integer.", code="invalid_tree_sizes")
        return Response(audit_inclusion_proof(sequence=int(sequence), tree_size=int(raw) if raw else None))


class ConsistencySerializer(serializers.Serializer):
    """Two signed checkpoints and the proof that the second extends the first (RFC 9162 §2.1.4)."""

    first = CheckpointSerializer()
    second = CheckpointSerializer()
    consistency_proof = serializers.ListField(child=serializers.CharField())


class AuditConsistencyView(APIView):
    """The consistency proof between two stored checkpoints: the log only grew between them."""

    required_scope = TokenScope.GOVERNANCE_READ

    @extend_schema(responses=ConsistencySerializer, parameters=[
        OpenApiParameter("first", OpenApiTypes.INT, required=True),
        OpenApiParameter("second", OpenApiTypes.INT, required=True)])
    def get(self, request: Request) -> Response:
        try:
            first, second = int(request.query_params["first"]), int(request.query_params["second"])
        except (KeyError, ValueError) as error:
            raise ValidationFailed("first and second must be tree sizes.", code="invalid_tree_sizes") from error
        return Response(audit_consistency_proof(first=first, second=second))
