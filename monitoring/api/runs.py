"""Drift runs of a use case and one run with its signals."""
import math
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from driftgate.actors import Actor
from driftgate.datetimes import query_datetime
from driftgate.errors import ValidationFailed
from driftgate.models import TokenScope
from governance.permissions import get_visible_use_case, require_member
from monitoring.models import DriftRun, DriftSignal, Severity
from monitoring.selectors.runs import run_get_visible, runs_for_use_case


class FiniteFloatField(serializers.FloatField):
    """A float that renders NaN and infinity as null: strict JSON has neither."""

    def to_representation(self, value):
        value = super().to_representation(value)
        return value if math.isfinite(value) else None


class SignalSerializer(serializers.ModelSerializer):
    """One signal: statistic, p-value, Holm-adjusted p, effect size in the seed's units, tier."""

    statistic = FiniteFloatField(read_only=True)
    p_value = FiniteFloatField(read_only=True)
    p_adjusted = FiniteFloatField(read_only=True, allow_null=True)
    effect_size = FiniteFloatField(read_only=True)

    class Meta:
        model = DriftSignal
        fields = ["name", "statistic", "p_value", "p_adjusted", "effect_size", "effect_unit", "severity", "details"]
        read_only_fields = fields


class RunSerializer(serializers.ModelSerializer):
    """A run without its signals (lists)."""

    use_case: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    alert = serializers.SerializerMethodField()

    class Meta:
        model = DriftRun
        fields = ["id", "use_case", "baseline", "window_start", "window_end", "status", "n", "severity", "seed",
                  "error", "started_at", "finished_at", "duration_ms", "alert"]
        read_only_fields = fields

    def get_alert(self, run: DriftRun) -> int | None:
        alert = getattr(run, "alert", None)
        return alert.pk if alert is not None else None


class RunDetailSerializer(RunSerializer):
    """A run with every signal."""

    signals = SignalSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "signals"]
        read_only_fields = fields


def query_choice(request, name: str, choices: list[str], code: str):
    """Return a query parameter that must be one of `choices`, or refuse it with `code`."""
    raw = request.query_params.get(name)
    if raw and raw not in choices:
        raise ValidationFailed(f"{name} must be one of {', '.join(choices)}.", code=code,
                               extra={"parameter": name, "value": raw, "valid": choices})
    return raw or None


@extend_schema(parameters=[
    OpenApiParameter("severity", OpenApiTypes.STR, enum=Severity.values),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Windows ending after this time"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Windows starting before this time"),
])
class UseCaseRunsView(generics.ListAPIView):
    """The use case's drift runs, newest window first."""

    serializer_class = RunSerializer
    required_scope = TokenScope.MONITORING_READ

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The OpenAPI generator calls this without a request or URL; it only needs the model.
            return DriftRun.objects.none()
        actor = Actor.from_request(self.request)
        use_case = get_visible_use_case(actor=actor, slug=self.kwargs["slug"])
        require_member(actor=actor, use_case=use_case)
        return runs_for_use_case(
            use_case=use_case,
            severity=query_choice(self.request, "severity", Severity.values, "invalid_severity"),
            since=query_datetime(self.request, "since"),
            until=query_datetime(self.request, "until"),
        ).select_related("alert")


class RunDetailView(generics.RetrieveAPIView):
    """One run with its signals."""

    serializer_class = RunDetailSerializer
    required_scope = TokenScope.MONITORING_READ

    def get_object(self) -> DriftRun:
        return run_get_visible(actor=Actor.from_request(self.request), run_id=self.kwargs["pk"])
