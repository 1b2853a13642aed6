"""Baseline endpoints: list and request baselines of a use case, read one baseline."""
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.models import TokenScope
from driftgate.pagination import Pagination
from governance.permissions import get_visible_use_case
from monitoring.models import Baseline
from monitoring.selectors.baselines import baseline_get, baselines_for_use_case
from monitoring.services.baselines import MAX_BASELINE_RECORDS, baseline_create
from monitoring.tasks.embedding import enqueue_baseline

# Summary entries too large for an API response (centroids, vocabularies); the response gives their size instead.
_HEAVY_SUMMARY_KEYS = ("prompt_clusters", "response_clusters", "tfidf")


def _size_of(value: dict | None) -> dict | None:
    if not value:
        return None
    if "centroids" in value:
        return {"k": len(value["centroids"])}
    if "terms" in value:
        return {"terms": len(value["terms"]), "n_documents": value.get("n_documents")}
    return {"keys": sorted(value)}


class BaselineSerializer(serializers.ModelSerializer):
    """A baseline without its artifact; the summary lists statistics and the size of the fitted models."""

    use_case: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    model_version: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="label",
                                                                                       read_only=True)
    created_by: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="username",
                                                                                    read_only=True)
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Baseline
        fields = ["id", "use_case", "status", "start", "end", "model_version", "embedding_model", "n_records",
                  "artifact_sha256", "summary", "created_by", "created_at", "frozen_at", "replaced_by"]
        read_only_fields = fields

    def get_summary(self, baseline: Baseline) -> dict:
        summary = dict(baseline.summary or {})
        for key in _HEAVY_SUMMARY_KEYS:
            if key in summary:
                summary[key] = _size_of(summary[key])
        return summary


class BaselineRequestSerializer(serializers.Serializer):
    """What to build: a time range (default: the active model version's first 30 days) and a sample size."""

    start = serializers.DateTimeField(required=False)
    end = serializers.DateTimeField(required=False)
    sample_size = serializers.IntegerField(required=False, default=MAX_BASELINE_RECORDS, min_value=1)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000,
                                   help_text="Why; required when it will replace the frozen baseline.")


class UseCaseBaselinesView(APIView):
    """A use case's baselines (GET), or a request to build and freeze a new one (POST, people only)."""

    # Tokens may read; building a baseline is a governance act and is left to people.
    required_scopes = {"GET": TokenScope.MONITORING_READ}
    # Declared on the view so the OpenAPI schema describes the paginated list.
    pagination_class = Pagination

    @extend_schema(responses=BaselineSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(baselines_for_use_case(actor=actor, use_case=use_case), request, view=self)
        return paginator.get_paginated_response(BaselineSerializer(page, many=True).data)

    @extend_schema(
        request=BaselineRequestSerializer,
        responses={202: BaselineSerializer,
                   400: OpenApiResponse(description="baseline_too_small, invalid_range, invalid_sample_size, "
                                                    "no_active_model_version, reason_required, validation_error"),
                   403: OpenApiResponse(description="missing_role, permission_denied"),
                   404: OpenApiResponse(description="use_case_not_found")},
    )
    def post(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        params = BaselineRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        baseline = baseline_create(actor=actor, use_case=use_case, **params.validated_data)
        # With a broker this queues the work on the `embed` queue; without one it runs here, before the reply.
        enqueue_baseline(baseline, request_id=actor.request_id)
        baseline = baseline_get(actor=actor, baseline_id=baseline.pk)
        return Response(BaselineSerializer(baseline).data, status=status.HTTP_202_ACCEPTED)


class BaselineDetailView(APIView):
    """One baseline, with its statistics."""

    required_scope = TokenScope.MONITORING_READ

    @extend_schema(responses={200: BaselineSerializer, 404: OpenApiResponse(description="baseline_not_found")})
    def get(self, request: Request, baseline_id: int) -> Response:
        baseline = baseline_get(actor=Actor.from_request(request), baseline_id=int(baseline_id))
        return Response(BaselineSerializer(baseline).data)
