"""The monitoring policy of a use case: read it (people and `monitoring:read` tokens), replace it (people)."""
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.models import TokenScope
from governance.permissions import get_visible_use_case, require_member
from monitoring.models import MonitoringPolicy
from monitoring.selectors.power import detectable_share
from monitoring.services.policies import policy_configure, policy_defaults, policy_view


class DetectableShareSerializer(serializers.Serializer):
    """Smallest share of a window of `window_records` that is detected 90% of the time, per kind of shift."""

    window_records = serializers.IntegerField()
    detection_rate = serializers.FloatField()
    alpha = serializers.FloatField()
    new_topic = serializers.FloatField(allow_null=True)
    style = serializers.FloatField(allow_null=True)  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class
    language = serializers.FloatField(allow_null=True)
    quality_drop = serializers.FloatField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class


class PolicySerializer(serializers.Serializer):
    """A policy as stored; `configured` is false while the seed defaults are shown."""

    use_case = serializers.CharField(source="use_case.slug")
    configured = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    auto_halt = serializers.BooleanField()
    window_hours = serializers.IntegerField()
    sample_size = serializers.IntegerField()
    material_degradation = serializers.FloatField()
    ingest_rate_per_minute = serializers.IntegerField(
        allow_null=True, help_text="Traffic batches per token per minute; null: the platform's default.")
    embedding_tier = serializers.CharField(
        help_text="Embedding model of the next baseline: `default` or `static` (docs/benchmarks-embeddings.md).")
    config = serializers.JSONField()
    updated_at = serializers.DateTimeField(allow_null=True)
    detectable_share = serializers.SerializerMethodField()

    @extend_schema_field(DetectableShareSerializer)
    def get_detectable_share(self, policy: MonitoringPolicy) -> dict:
        # A window is sampled down to sample_size records, the size the statistics see.
        return DetectableShareSerializer(detectable_share(sample_size=policy.sample_size)).data

    def get_configured(self, policy: MonitoringPolicy) -> bool:
        return policy.pk is not None


class PolicyInputSerializer(serializers.Serializer):
    """Fields left out keep their current value (or the seed default); `config` keys are merged the same way."""

    enabled = serializers.BooleanField(required=False)
    auto_halt = serializers.BooleanField(required=False)
    window_hours = serializers.IntegerField(required=False)
    sample_size = serializers.IntegerField(required=False)
    material_degradation = serializers.FloatField(required=False)
    ingest_rate_per_minute = serializers.IntegerField(required=False, allow_null=True)
    # A plain string: the service names an unknown tier with its own code (`invalid_embedding_tier`).
    embedding_tier = serializers.CharField(required=False)
    config = serializers.JSONField(required=False)


class PolicyView(APIView):
    """GET the policy (seed defaults with `configured: false` before the first PUT); PUT replaces it."""

    required_scopes = {"GET": TokenScope.MONITORING_READ}

    def _current(self, request: Request, slug: str):
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        require_member(actor=actor, use_case=use_case)
        policy = MonitoringPolicy.objects.filter(use_case=use_case).first()
        return actor, use_case, policy or policy_defaults(use_case=use_case)

    @extend_schema(responses=PolicySerializer)
    def get(self, request: Request, slug: str) -> Response:
        _, _, policy = self._current(request, slug)
        return Response(PolicySerializer(policy).data)

    @extend_schema(request=PolicyInputSerializer, responses=PolicySerializer)
    def put(self, request: Request, slug: str) -> Response:
        actor, use_case, current = self._current(request, slug)
        given = PolicyInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        values = {**policy_view(current), **given.validated_data}
        config = given.validated_data.get("config", {})
        if isinstance(config, dict):
            config = {**current.config, **config}
        policy = policy_configure(actor=actor, use_case=use_case, config=config, auto_halt=values["auto_halt"],
                                  window_hours=values["window_hours"], sample_size=values["sample_size"],
                                  material_degradation=values["material_degradation"], enabled=values["enabled"],
                                  ingest_rate_per_minute=values["ingest_rate_per_minute"],
                                  embedding_tier=values["embedding_tier"])
        return Response(PolicySerializer(policy).data)
