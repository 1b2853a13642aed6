"""Alerts: the use case's list, one alert, and the human steps (triage, confirm a stop, classify an incident)."""
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.datetimes import parse_aware_datetime
from driftgate.errors import ValidationFailed
from driftgate.models import TokenScope
from governance.permissions import get_visible_use_case, require_member
from monitoring.api.runs import query_choice
from monitoring.models import Alert, AlertStatus, IncidentClass, Resolution, Severity, TriageVerdict
from monitoring.selectors.alerts import alert_get_visible, alerts_for_use_case
from monitoring.services.alerts import (
    alert_confirm_stop,
    alert_mark_incident,
    alert_resolve,
    alert_triage,
    incident_report_deadline,
)


class AlertSerializer(serializers.ModelSerializer):
    """An alert with what raised it, who acted on it and, for a serious incident, the reporting deadline."""

    use_case: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    window_start = serializers.DateTimeField(source="run.window_start", read_only=True)
    window_end = serializers.DateTimeField(source="run.window_end", read_only=True)
    incident_report_deadline = serializers.SerializerMethodField()
    # Not triaged (or not an incident) yet: null, which the schema allows, rather than "", which no enum holds.
    verdict = serializers.ChoiceField(choices=TriageVerdict.choices, read_only=True, allow_null=True)
    resolution = serializers.ChoiceField(choices=Resolution.choices, read_only=True, allow_null=True)
    incident_class = serializers.ChoiceField(choices=IncidentClass.choices, read_only=True, allow_null=True)
    # The ids stay for existing clients; people read the usernames.
    triaged_by_username = serializers.CharField(source="triaged_by.username", read_only=True, allow_null=True,
                                                default=None)
    stop_confirmed_by_username = serializers.CharField(source="stop_confirmed_by.username", read_only=True,
                                                       allow_null=True, default=None)

    class Meta:
        model = Alert
        fields = ["id", "use_case", "run", "window_start", "window_end", "severity", "status", "summary",
                  "halt_applied", "stop_confirmed_by", "stop_confirmed_by_username", "stop_confirmed_at", "verdict",
                  "resolution", "note", "triaged_by", "triaged_by_username", "triaged_at", "resolved_at", "incident_class", "incident_aware_at",
                  "incident_report_deadline", "created_at"]
        read_only_fields = fields

    def to_representation(self, alert: Alert) -> dict:
        data = super().to_representation(alert)
        for name in ("verdict", "resolution", "incident_class"):
            if data.get(name) == "":
                data[name] = None
        return data

    def get_incident_report_deadline(self, alert: Alert) -> str | None:
        if not alert.incident_class or alert.incident_aware_at is None:
            return None
        deadline = incident_report_deadline(incident_class=alert.incident_class, aware_at=alert.incident_aware_at)
        return deadline.isoformat() if deadline is not None else None


class TriageSerializer(serializers.Serializer):
    """What the triager found and what is to be done; the service checks the values."""

    verdict = serializers.CharField(required=False, allow_blank=True, default="")
    resolution = serializers.CharField(required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ConfirmStopSerializer(serializers.Serializer):
    """Why the use case is halted (defaults to the alert's signals), with the password re-entered."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     style={"input_type": "password"},
                                     help_text="Re-entered at every stop confirmation, as at signing; "
                                               "a token cannot confirm a stop.")


class IncidentSerializer(serializers.Serializer):
    """The Art. 73 class and when the provider became aware."""

    incident_class = serializers.CharField(required=False, allow_blank=True, default="")
    aware_at = serializers.CharField(required=False, allow_blank=True, default="")


class ResolveSerializer(serializers.Serializer):
    """A closing note."""

    note = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(parameters=[
    OpenApiParameter("status", OpenApiTypes.STR, enum=AlertStatus.values),
    OpenApiParameter("severity", OpenApiTypes.STR, enum=[Severity.REVIEW, Severity.STOP]),
])
class UseCaseAlertsView(generics.ListAPIView):
    """The use case's alerts, newest first; `?status=open&severity=review` is the review queue."""

    serializer_class = AlertSerializer
    required_scope = TokenScope.MONITORING_READ

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The OpenAPI generator calls this without a request or URL; it only needs the model.
            return Alert.objects.none()
        actor = Actor.from_request(self.request)
        use_case = get_visible_use_case(actor=actor, slug=self.kwargs["slug"])
        require_member(actor=actor, use_case=use_case)
        return alerts_for_use_case(
            use_case=use_case,
            status=query_choice(self.request, "status", AlertStatus.values, "invalid_status"),
            severity=query_choice(self.request, "severity", [Severity.REVIEW, Severity.STOP], "invalid_severity"),
        )


class AlertDetailView(generics.RetrieveAPIView):
    """One alert."""

    serializer_class = AlertSerializer
    required_scope = TokenScope.MONITORING_READ

    def get_object(self) -> Alert:
        return alert_get_visible(actor=Actor.from_request(self.request), alert_id=self.kwargs["pk"])


class _AlertActionView(APIView):
    """A POST on one alert by a person; tokens are refused because no scope is declared."""

    input_serializer: type[serializers.Serializer]

    def _input(self, request: Request) -> tuple[Actor, Alert, dict]:
        actor = Actor.from_request(request)
        alert = alert_get_visible(actor=actor, alert_id=self.kwargs["pk"])
        given = self.input_serializer(data=request.data)
        given.is_valid(raise_exception=True)
        return actor, alert, given.validated_data


class AlertTriageView(_AlertActionView):
    """Triage an open alert: verdict, resolution, note."""

    input_serializer = TriageSerializer

    @extend_schema(request=TriageSerializer, responses=AlertSerializer)
    def post(self, request: Request, pk: int) -> Response:
        actor, alert, data = self._input(request)
        alert = alert_triage(actor=actor, alert=alert, verdict=data["verdict"], resolution=data["resolution"],
                             note=data["note"])
        return Response(AlertSerializer(alert).data)


class AlertConfirmStopView(_AlertActionView):
    """Confirm a stop recommendation: the use case is halted."""

    input_serializer = ConfirmStopSerializer

    @extend_schema(request=ConfirmStopSerializer, responses=AlertSerializer)
    def post(self, request: Request, pk: int) -> Response:
        actor, alert, data = self._input(request)
        alert = alert_confirm_stop(actor=actor, alert=alert, reason=data["reason"], password=data["password"])
        return Response(AlertSerializer(alert).data)


class AlertResolveView(_AlertActionView):
    """Close a triaged alert."""

    input_serializer = ResolveSerializer

    @extend_schema(request=ResolveSerializer, responses=AlertSerializer)
    def post(self, request: Request, pk: int) -> Response:
        actor, alert, data = self._input(request)
        alert = alert_resolve(actor=actor, alert=alert, note=data["note"])
        return Response(AlertSerializer(alert).data)


class AlertIncidentView(_AlertActionView):
    """Classify the alert as an EU AI Act Art. 73 serious incident."""

    input_serializer = IncidentSerializer

    @extend_schema(request=IncidentSerializer, responses=AlertSerializer)
    def post(self, request: Request, pk: int) -> Response:
        actor, alert, data = self._input(request)
        aware_at = parse_aware_datetime(data["aware_at"])
        if aware_at is None or aware_at.tzinfo is None:
            raise ValidationFailed("aware_at is an ISO 8601 date-time with a time zone.", code="invalid_aware_at",
                                   extra={"value": data["aware_at"]})
        alert = alert_mark_incident(actor=actor, alert=alert, incident_class=data["incident_class"],
                                    aware_at=aware_at)
        return Response(AlertSerializer(alert).data)
