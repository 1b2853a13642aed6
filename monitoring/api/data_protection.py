"""A use case's data protection: what is redacted at ingest and how long raw traffic is kept."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.models import TokenScope
from governance.permissions import get_visible_use_case, require_member
from monitoring.ingest.redaction import BUILTIN_KINDS
from monitoring.models import DataProtectionPolicy
from monitoring.services.data_protection import data_protection_configure, data_protection_of, data_protection_view


class CustomPatternSerializer(serializers.Serializer):
    """One extra pattern; its finds become `[NAME]` in the stored text."""

    name = serializers.CharField(help_text="Lowercase letters, digits and underscores; the placeholder's name.")
    pattern = serializers.CharField(help_text="A regular expression (Python syntax), at most 500 characters.")


class DataProtectionSerializer(serializers.Serializer):
    """The rules as stored; `configured` is false while the defaults are shown."""

    use_case = serializers.CharField(source="use_case.slug")
    configured = serializers.SerializerMethodField()
    redact_kinds = serializers.ListField(child=serializers.ChoiceField(choices=BUILTIN_KINDS))
    custom_patterns = CustomPatternSerializer(many=True)
    retention_days = serializers.IntegerField()
    updated_at = serializers.DateTimeField(allow_null=True)

    def get_configured(self, policy: DataProtectionPolicy) -> bool:
        return policy.pk is not None


class DataProtectionInputSerializer(serializers.Serializer):
    """Fields left out keep their current value (or the default). Validation is the service's."""

    redact_kinds = serializers.JSONField(required=False)
    custom_patterns = serializers.JSONField(required=False)
    retention_days = serializers.JSONField(required=False)


class DataProtectionView(APIView):
    """GET the rules (members and `monitoring:read` tokens); PUT replaces them (platform or governance owner)."""

    required_scopes = {"GET": TokenScope.MONITORING_READ}

    def _current(self, request: Request, slug: str):
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        require_member(actor=actor, use_case=use_case)
        return actor, use_case, data_protection_of(use_case=use_case)

    @extend_schema(responses=DataProtectionSerializer)
    def get(self, request: Request, slug: str) -> Response:
        _, _, policy = self._current(request, slug)
        return Response(DataProtectionSerializer(policy).data)

    @extend_schema(request=DataProtectionInputSerializer, responses={
        200: DataProtectionSerializer,
        400: OpenApiResponse(description="invalid_redaction_kind, invalid_redaction_pattern, invalid_retention"),
        403: OpenApiResponse(description="missing_role")})
    def put(self, request: Request, slug: str) -> Response:
        actor, use_case, current = self._current(request, slug)
        given = DataProtectionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        values = {**data_protection_view(current), **given.validated_data}
        policy = data_protection_configure(actor=actor, use_case=use_case, redact_kinds=values["redact_kinds"],
                                           custom_patterns=values["custom_patterns"],
                                           retention_days=values["retention_days"])
        return Response(DataProtectionSerializer(policy).data)
