"""Model probes over REST: golden sets and versions, endpoints, the probe policy, runs and their results.

Reads take people or `monitoring:read` tokens; writes are for people. Views parse input and call one
service; the services decide permissions and validate.
"""
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.errors import NotFound, ValidationFailed
from driftgate.models import TokenScope
from governance.models import ModelVersion
from governance.permissions import get_visible_use_case, require_member
from monitoring.api.runs import query_choice
from monitoring.models import (
    EndpointTarget,
    GoldenItem,
    GoldenSet,
    ModelEndpoint,
    ProbeOutcome,
    ProbePolicy,
    ProbeResult,
    ProbeRun,
    ProbeTrigger,
)
from monitoring.selectors.probes import (
    current_version,
    golden_set_get_visible,
    golden_sets_for,
    probe_run_get_visible,
    probe_runs_for,
)
from monitoring.services.probes import (
    golden_set_create,
    golden_set_revise,
    model_endpoint_set,
    probe_policy_configure,
    probe_policy_defaults,
    probe_run_request,
)


class GoldenSetSerializer(serializers.ModelSerializer):
    """A set with its newest version number."""

    # Built-in sets belong to no use case: null.
    use_case: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="slug", read_only=True,
                                                                                  allow_null=True)
    current_version = serializers.SerializerMethodField()
    item_count = serializers.SerializerMethodField()

    class Meta:
        model = GoldenSet
        fields = ["id", "use_case", "key", "title", "description", "builtin", "current_version", "item_count",
                  "created_at"]
        read_only_fields = fields

    def get_current_version(self, golden_set: GoldenSet) -> int | None:
        versions = sorted(golden_set.versions.all(), key=lambda version: version.number)
        return versions[-1].number if versions else None

    def get_item_count(self, golden_set: GoldenSet) -> int:
        version = current_version(golden_set)
        return version.items.count() if version else 0


class GoldenItemSerializer(serializers.ModelSerializer):
    """One item as stored."""

    config = serializers.JSONField(source="grader_config")

    class Meta:
        model = GoldenItem
        fields = ["key", "category", "messages", "reference", "grader", "config", "digest"]
        read_only_fields = fields


class GoldenSetVersionInfoSerializer(serializers.Serializer):
    """Which version the items are of."""

    number = serializers.IntegerField()
    content_sha256 = serializers.CharField()
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class GoldenSetDetailSerializer(GoldenSetSerializer):
    """A set with one version's items (documents the detail and write responses)."""

    version = GoldenSetVersionInfoSerializer(allow_null=True)
    items = GoldenItemSerializer(many=True)

    class Meta(GoldenSetSerializer.Meta):
        fields = [*GoldenSetSerializer.Meta.fields, "version", "items"]
        read_only_fields = fields


class GoldenSetInputSerializer(serializers.Serializer):
    """A new set: key, title and items (`prompt` or `messages`, `reference`, `grader`, `config`)."""

    key = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    items = serializers.JSONField()


class GoldenSetVersionInputSerializer(serializers.Serializer):
    """The complete new list of items, and a note on what changed."""

    note = serializers.CharField(required=False, allow_blank=True, default="")
    items = serializers.JSONField()


def _visible_use_case(request: Request, slug: str):
    actor = Actor.from_request(request)
    use_case = get_visible_use_case(actor=actor, slug=slug)
    require_member(actor=actor, use_case=use_case)
    return actor, use_case


def _version_body(golden_set: GoldenSet, version) -> dict:
    items = GoldenItemSerializer(version.items.order_by("position"), many=True).data if version else []
    return {**GoldenSetSerializer(golden_set).data,
            "version": {"number": version.number, "content_sha256": version.content_sha256, "note": version.note,
                        "created_at": version.created_at} if version else None,
            "items": items}


class UseCaseGoldenSetsView(APIView):
    """GET the use case's sets and the built-in ones; POST a new set (product or platform owner)."""

    required_scopes = {"GET": TokenScope.MONITORING_READ}

    @extend_schema(responses=GoldenSetSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        _, use_case = _visible_use_case(request, slug)
        return Response(GoldenSetSerializer(golden_sets_for(use_case=use_case), many=True).data)

    @extend_schema(request=GoldenSetInputSerializer, responses={201: GoldenSetDetailSerializer})
    def post(self, request: Request, slug: str) -> Response:
        actor, use_case = _visible_use_case(request, slug)
        given = GoldenSetInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        version = golden_set_create(actor=actor, use_case=use_case, **given.validated_data)
        return Response(_version_body(version.golden_set, version), status=status.HTTP_201_CREATED)


@extend_schema(parameters=[OpenApiParameter("version", OpenApiTypes.INT, description="A version number "
                                                                                       "(default: the newest)")])
class GoldenSetDetailView(APIView):
    """A set with the items of one version."""

    required_scope = TokenScope.MONITORING_READ

    @extend_schema(responses=GoldenSetDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        golden_set = golden_set_get_visible(actor=Actor.from_request(request), golden_set_id=pk)
        raw = request.query_params.get("version")
        if raw is None:
            version = current_version(golden_set)
        else:
            if not raw.isdigit():
                raise ValidationFailed("version is a whole number.", code="invalid_version")
            version = golden_set.versions.filter(number=int(raw)).first()
            if version is None:
                raise NotFound(f"Golden set {golden_set.key!r} has no version {raw}.", code="version_not_found")
        return Response(_version_body(golden_set, version))


class GoldenSetVersionsView(APIView):
    """POST a new version of a set: the complete list of items (every change is a new, audited version)."""

    @extend_schema(request=GoldenSetVersionInputSerializer, responses={201: GoldenSetDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        actor = Actor.from_request(request)
        golden_set = golden_set_get_visible(actor=actor, golden_set_id=pk)
        given = GoldenSetVersionInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        version = golden_set_revise(actor=actor, golden_set=golden_set, **given.validated_data)
        return Response(_version_body(golden_set, version), status=status.HTTP_201_CREATED)


class EndpointSerializer(serializers.ModelSerializer):
    """Where a model is served and where its key is kept (the key itself is never stored)."""

    class Meta:
        model = ModelEndpoint
        fields = ["target", "url", "model_name", "key_env", "key_file", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs: dict[str, dict[str, Any]] = {"url": {"validators": []}}


def _model_version(use_case, model_version_id: int) -> ModelVersion:
    version = ModelVersion.objects.filter(use_case=use_case, pk=model_version_id).first()
    if version is None:
        raise NotFound(f"Model version {model_version_id} does not exist on {use_case.slug!r}.",
                       code="model_version_not_found")
    return version


class ModelVersionEndpointsView(APIView):
    """GET the endpoints of a model version (its own and its base model's)."""

    required_scope = TokenScope.MONITORING_READ

    @extend_schema(responses=EndpointSerializer(many=True))
    def get(self, request: Request, slug: str, model_version_id: int) -> Response:
        _, use_case = _visible_use_case(request, slug)
        version = _model_version(use_case, model_version_id)
        return Response(EndpointSerializer(version.endpoints.order_by("target"), many=True).data)


class EndpointInputSerializer(serializers.Serializer):
    """An OpenAI-compatible chat-completions URL, the model name, and the key's environment variable or file."""

    url = serializers.CharField()
    model_name = serializers.CharField()
    key_env = serializers.CharField(required=False, allow_blank=True, default="")
    key_file = serializers.CharField(required=False, allow_blank=True, default="")


class ModelVersionEndpointView(APIView):
    """PUT registers or replaces the endpoint of `model` (the version) or `base` (its base model)."""

    @extend_schema(request=EndpointInputSerializer, responses=EndpointSerializer)
    def put(self, request: Request, slug: str, model_version_id: int, target: str) -> Response:
        actor, use_case = _visible_use_case(request, slug)
        version = _model_version(use_case, model_version_id)
        given = EndpointInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        endpoint = model_endpoint_set(actor=actor, model_version=version, target=target, **given.validated_data)
        return Response(EndpointSerializer(endpoint).data)


class ProbePolicySerializer(serializers.ModelSerializer):
    """How often the use case is probed, with what, and what its gates ask."""

    configured = serializers.SerializerMethodField()

    class Meta:
        model = ProbePolicy
        fields = ["configured", "enabled", "interval_hours", "builtin_sets", "include_base", "pass_target",
                  "max_age_days", "gate_alpha", "call_budget", "concurrency", "timeout_seconds", "max_retries",
                  "updated_at"]
        read_only_fields = fields

    def get_configured(self, policy: ProbePolicy) -> bool:
        return policy.pk is not None


class ProbePolicyView(APIView):
    """GET the probe policy (defaults with `configured: false` before the first PUT); PUT changes named fields."""

    required_scopes = {"GET": TokenScope.MONITORING_READ}

    @extend_schema(responses=ProbePolicySerializer)
    def get(self, request: Request, slug: str) -> Response:
        _, use_case = _visible_use_case(request, slug)
        policy = ProbePolicy.objects.filter(use_case=use_case).first() or probe_policy_defaults(use_case=use_case)
        return Response(ProbePolicySerializer(policy).data)

    @extend_schema(request=OpenApiTypes.OBJECT, responses=ProbePolicySerializer)
    def put(self, request: Request, slug: str) -> Response:
        actor, use_case = _visible_use_case(request, slug)
        if not isinstance(request.data, dict):
            raise ValidationFailed("The probe policy is a JSON object.", code="invalid_probe_policy")
        policy = probe_policy_configure(actor=actor, use_case=use_case, values=dict(request.data))
        return Response(ProbePolicySerializer(policy).data)


class ProbeRunSerializer(serializers.ModelSerializer):
    """A run: what it probed, its pass rates, comparisons, flaky items and the severity of its signals."""

    use_case: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    model_version: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="label",
                                                                                       read_only=True)
    sets = serializers.SerializerMethodField()
    severity = serializers.SerializerMethodField()
    signal_run: "serializers.PrimaryKeyRelatedField[Any]" = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = ProbeRun
        fields = ["id", "use_case", "model_version", "target", "endpoint_url", "endpoint_model", "status",
                  "trigger", "scheduled_for", "sets", "seed", "call_budget", "calls_made", "summary",
                  "comparisons", "flaky_items", "signal_run", "severity", "error", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields

    def get_sets(self, run: ProbeRun) -> dict:
        return {key: number for key, number in run.set_versions.values_list("golden_set__key", "number")}

    def get_severity(self, run: ProbeRun) -> str | None:
        return run.signal_run.severity if run.signal_run else None


class ProbeRunInputSerializer(serializers.Serializer):
    """Which version (label; default: the newest candidate or active one) and which endpoint to probe."""

    model_version = serializers.CharField(required=False)
    target = serializers.CharField(required=False, default=EndpointTarget.MODEL)


@extend_schema(parameters=[OpenApiParameter("target", OpenApiTypes.STR, enum=EndpointTarget.values)])
class UseCaseProbeRunsView(generics.ListAPIView):
    """GET the use case's probe runs, newest first; POST queues one on the `probes` queue."""

    serializer_class = ProbeRunSerializer
    required_scopes = {"GET": TokenScope.MONITORING_READ}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProbeRun.objects.none()
        _, use_case = _visible_use_case(self.request, self.kwargs["slug"])
        target = query_choice(self.request, "target", EndpointTarget.values, "invalid_target")
        return probe_runs_for(use_case=use_case, target=target)

    @extend_schema(request=ProbeRunInputSerializer, responses={202: ProbeRunSerializer})
    def post(self, request: Request, slug: str) -> Response:
        actor, use_case = _visible_use_case(request, slug)
        given = ProbeRunInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        label = given.validated_data.get("model_version")
        version = None
        if label:
            version = ModelVersion.objects.filter(use_case=use_case, label=label).first()
            if version is None:
                raise NotFound(f"Model version {label!r} does not exist on {slug!r}.", code="model_version_not_found")
        run = probe_run_request(actor=actor, use_case=use_case, model_version=version,
                                target=given.validated_data["target"], trigger=ProbeTrigger.API)
        run.refresh_from_db()
        return Response(ProbeRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ProbeRunDetailView(generics.RetrieveAPIView):
    """One probe run."""

    serializer_class = ProbeRunSerializer
    required_scope = TokenScope.MONITORING_READ

    def get_object(self) -> ProbeRun:
        return probe_run_get_visible(actor=Actor.from_request(self.request), run_id=self.kwargs["pk"])


class ProbeResultSerializer(serializers.ModelSerializer):
    """One item of a run: request and response as sent and received, latency, tokens, verdict."""

    set = serializers.CharField(source="item.version.golden_set.key")
    item = serializers.CharField(source="item.key")
    category = serializers.CharField(source="item.category")
    grader = serializers.CharField(source="item.grader")

    class Meta:
        model = ProbeResult
        fields = ["set", "item", "category", "grader", "outcome", "answer", "finish_reason", "error",
                  "error_message", "http_status", "attempts", "latency_ms", "prompt_tokens", "completion_tokens",
                  "request", "response", "grade_detail"]
        read_only_fields = fields


@extend_schema(parameters=[OpenApiParameter("outcome", OpenApiTypes.STR, enum=ProbeOutcome.values)])
class ProbeRunResultsView(generics.ListAPIView):
    """The run's per-item results, paginated."""

    serializer_class = ProbeResultSerializer
    required_scope = TokenScope.MONITORING_READ

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ProbeResult.objects.none()
        run = probe_run_get_visible(actor=Actor.from_request(self.request), run_id=self.kwargs["pk"])
        outcome = query_choice(self.request, "outcome", ProbeOutcome.values, "invalid_outcome")
        queryset = run.results.select_related("item__version__golden_set").order_by(
            "item__version__golden_set__key", "item__position")
        return queryset.filter(outcome=outcome) if outcome else queryset
