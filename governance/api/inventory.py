"""Inventory endpoints: use cases, halt and resume, members, model versions, effect goals and measurements.

Views are thin: serializers check the shape of the request, services and selectors apply every rule.
Reads accept tokens with `governance:read`; writes are for signed-in people only.
"""
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from driftgate.actors import Actor
from driftgate.models import TokenScope
from governance.models import (
    AdapterMethod,
    Approach,
    Direction,
    EffectGoal,
    EffectMeasurement,
    Membership,
    ModelVersion,
    RegulatoryScope,
    RiskTier,
    Role,
    Stage,
    UseCase,
)
from governance.selectors.inventory import (
    effect_goal_get,
    effect_goal_list,
    effect_measurement_list,
    membership_get,
    membership_list,
    model_version_get,
    model_version_list,
    use_case_get,
    use_case_list,
)
from governance.services.inventory import (
    effect_goal_create,
    effect_goal_delete,
    effect_goal_update,
    effect_measurement_record,
    membership_grant_by_username,
    membership_revoke,
    model_version_activate,
    model_version_register,
    model_version_roll_back,
    use_case_create,
    use_case_halt,
    use_case_resume,
    use_case_update,
)

SLUG = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Use case slug")
MEMBERSHIP_ID = OpenApiParameter("membership_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MODEL_VERSION_ID = OpenApiParameter("model_version_id", OpenApiTypes.INT, OpenApiParameter.PATH)
GOAL_ID = OpenApiParameter("goal_id", OpenApiTypes.INT, OpenApiParameter.PATH)
REASON = OpenApiParameter("reason", OpenApiTypes.STR, description="Why (recorded in the audit log)")
READ_SCOPES = {"GET": TokenScope.GOVERNANCE_READ}


# --- serializers: shapes only --------------------------------------------------------------------------------

class UseCaseSerializer(serializers.ModelSerializer):
    """A use case as the inventory shows it."""

    class Meta:
        model = UseCase
        fields = ["slug", "name", "purpose", "approach", "base_model", "risk_tier", "regulatory_scopes", "stage",
                  "halted", "halted_reason", "halted_at", "created_at", "updated_at"]
        read_only_fields = fields


class UseCaseCreateSerializer(serializers.Serializer):
    """The fields to register a use case with."""

    slug = serializers.CharField()
    name = serializers.CharField()
    purpose = serializers.CharField()
    approach = serializers.ChoiceField(choices=Approach.choices)
    base_model = serializers.CharField()
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, default=RiskTier.MINIMAL)
    regulatory_scopes = serializers.ListField(child=serializers.ChoiceField(choices=RegulatoryScope.choices),
                                              default=list)


class UseCaseUpdateSerializer(serializers.Serializer):
    """The descriptive fields a PATCH may change; stage and halt state have their own endpoints."""

    name = serializers.CharField(required=False)
    purpose = serializers.CharField(required=False)
    approach = serializers.ChoiceField(choices=Approach.choices, required=False)
    base_model = serializers.CharField(required=False)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    regulatory_scopes = serializers.ListField(child=serializers.ChoiceField(choices=RegulatoryScope.choices),
                                              required=False)


class UseCaseFilterSerializer(serializers.Serializer):
    """Query parameters of the use-case list."""

    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    halted = serializers.BooleanField(required=False, allow_null=True, default=None)


class ReasonSerializer(serializers.Serializer):
    """A reason for the audit log; the service decides whether one is required."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ResumeSerializer(ReasonSerializer):
    """A reason and the re-entered password: lifting a halt is a decision, as a signature is."""

    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     style={"input_type": "password"},
                                     help_text="Re-entered at every resume, as at signing; a token cannot resume.")


class MembershipSerializer(serializers.ModelSerializer):
    """A person's role on a use case."""

    username = serializers.CharField(source="user.username", read_only=True)
    full_name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "username", "full_name", "role", "created_at"]
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    """Whom to give which role."""

    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


class ModelVersionSerializer(serializers.ModelSerializer):
    """A model version with its lineage, evaluation and status."""

    class Meta:
        model = ModelVersion
        fields = ["id", "label", "base_model", "adapter_method", "training_data_ref", "training_data_sha256",
                  "evaluation", "status", "activated_at", "created_at"]
        read_only_fields = fields


class ModelVersionCreateSerializer(serializers.Serializer):
    """A candidate version to register."""

    label = serializers.CharField()  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class
    base_model = serializers.CharField()
    adapter_method = serializers.ChoiceField(choices=AdapterMethod.choices, default=AdapterMethod.LORA)
    training_data_ref = serializers.CharField(required=False, allow_blank=True, default="")
    training_data_sha256 = serializers.CharField(required=False, allow_blank=True, default="")
    evaluation = serializers.JSONField(required=False, default=dict,
                                       help_text='{"task_metrics": {"exact_match": 0.81}, '
                                                 '"general_capability_regression": -0.02}')


class EffectGoalSerializer(serializers.ModelSerializer):
    """An effect goal with its latest measured value and whether that value meets the target."""

    latest_value = serializers.FloatField(read_only=True, allow_null=True)
    latest_measured_at = serializers.DateTimeField(read_only=True, allow_null=True)
    met = serializers.SerializerMethodField()

    class Meta:
        model = EffectGoal
        fields = ["id", "metric", "unit", "target", "direction", "description", "created_at", "latest_value",
                  "latest_measured_at", "met"]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_met(self, goal: EffectGoal) -> bool | None:
        latest = goal.latest_value  # type: ignore[attr-defined]  # annotated by the selector's query
        return None if latest is None else goal.is_met_by(latest)


class EffectGoalCreateSerializer(serializers.Serializer):
    """A measurable effect to define."""

    metric = serializers.CharField()
    target = serializers.FloatField()
    direction = serializers.ChoiceField(choices=Direction.choices, default=Direction.AT_LEAST)
    unit = serializers.CharField(required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")


class EffectGoalUpdateSerializer(serializers.Serializer):
    """The fields of an effect goal a PATCH may change."""

    metric = serializers.CharField(required=False)
    target = serializers.FloatField(required=False)
    direction = serializers.ChoiceField(choices=Direction.choices, required=False)
    unit = serializers.CharField(required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)


class EffectMeasurementSerializer(serializers.ModelSerializer):
    """One measured value of a goal."""

    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True, allow_null=True, default=None)

    class Meta:
        model = EffectMeasurement
        fields = ["id", "value", "measured_at", "source", "note", "recorded_by"]
        read_only_fields = fields


class EffectMeasurementCreateSerializer(serializers.Serializer):
    """A measured value to record; `measured_at` defaults to now."""

    value = serializers.FloatField()
    measured_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    source = serializers.CharField(required=False, allow_blank=True, default="")  # type: ignore[assignment]  # a field named like a Field attribute; DRF's metaclass takes it off the class
    note = serializers.CharField(required=False, allow_blank=True, default="")


def _valid(serializer_class: type[serializers.Serializer], data: Any, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _changes(serializer_class: type[serializers.Serializer], data: Any) -> dict:
    """Return a PATCH's validated fields plus any fields the serializer does not know, for the service to refuse."""
    changes = _valid(serializer_class, data, partial=True)
    unknown = {key: data[key] for key in data if key not in serializer_class().fields}
    return {**changes, **unknown}


def _reason(request: Request) -> str:
    """Read a DELETE's reason from the JSON body or the query string."""
    if isinstance(request.data, dict) and request.data.get("reason"):
        return _valid(ReasonSerializer, request.data)["reason"]
    return request.query_params.get("reason", "")


# --- views --------------------------------------------------------------------------------------------------

class _UseCaseScoped(GenericAPIView):
    """A view under /use-cases/{slug}/; the selector hides use cases the actor may not see."""

    required_scopes = READ_SCOPES

    def use_case(self, request: Request, slug: str) -> UseCase:
        return use_case_get(actor=Actor.from_request(request), slug=slug)

    def paginated(self, queryset, serializer_class: type[serializers.Serializer]) -> Response:
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(serializer_class(page, many=True).data)


class UseCaseListView(_UseCaseScoped):
    """List the use cases visible to you, or register a new one (you become its product owner)."""

    queryset = UseCase.objects.none()  # only tells the schema generator the model; selectors do the reading
    serializer_class = UseCaseSerializer

    @extend_schema(summary="List visible use cases", parameters=[UseCaseFilterSerializer],
                   responses=UseCaseSerializer(many=True))
    def get(self, request: Request) -> Response:
        filters = _valid(UseCaseFilterSerializer, request.query_params)
        return self.paginated(use_case_list(actor=Actor.from_request(request), **filters), UseCaseSerializer)

    @extend_schema(summary="Register a use case", request=UseCaseCreateSerializer, responses={201: UseCaseSerializer})
    def post(self, request: Request) -> Response:
        use_case = use_case_create(actor=Actor.from_request(request), **_valid(UseCaseCreateSerializer, request.data))
        return Response(UseCaseSerializer(use_case).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[SLUG])
class UseCaseDetailView(_UseCaseScoped):
    """Read a use case, or change its descriptive fields."""

    serializer_class = UseCaseSerializer

    @extend_schema(summary="Read a use case", responses=UseCaseSerializer)
    def get(self, request: Request, slug: str) -> Response:
        return Response(UseCaseSerializer(self.use_case(request, slug)).data)

    @extend_schema(summary="Change a use case's descriptive fields", request=UseCaseUpdateSerializer,
                   responses=UseCaseSerializer)
    def patch(self, request: Request, slug: str) -> Response:
        use_case = use_case_update(actor=Actor.from_request(request), use_case=self.use_case(request, slug),
                                   changes=_changes(UseCaseUpdateSerializer, request.data))
        return Response(UseCaseSerializer(use_case).data)


@extend_schema(parameters=[SLUG], request=ReasonSerializer, responses=UseCaseSerializer)
class UseCaseHaltView(_UseCaseScoped):
    """Halt a use case at once (platform or governance owner); CI status turns red."""

    serializer_class = ReasonSerializer

    def post(self, request: Request, slug: str) -> Response:
        use_case = use_case_halt(actor=Actor.from_request(request), use_case=self.use_case(request, slug),
                                 reason=_valid(ReasonSerializer, request.data)["reason"])
        return Response(UseCaseSerializer(use_case).data)


@extend_schema(parameters=[SLUG], request=ResumeSerializer, responses=UseCaseSerializer)
class UseCaseResumeView(_UseCaseScoped):
    """Lift a halt (governance or platform owner), with a reason and the password re-entered."""

    serializer_class = ResumeSerializer

    def post(self, request: Request, slug: str) -> Response:
        data = _valid(ResumeSerializer, request.data)
        use_case = use_case_resume(actor=Actor.from_request(request), use_case=self.use_case(request, slug),
                                   reason=data["reason"], password=data["password"])
        return Response(UseCaseSerializer(use_case).data)


@extend_schema(parameters=[SLUG])
class MembershipListView(_UseCaseScoped):
    """List who holds which role, or give someone a role."""

    queryset = Membership.objects.none()  # only tells the schema generator the model; selectors do the reading
    serializer_class = MembershipSerializer

    @extend_schema(summary="List members and their roles", responses=MembershipSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.paginated(membership_list(use_case=self.use_case(request, slug)), MembershipSerializer)

    @extend_schema(summary="Grant a role", request=MembershipCreateSerializer, responses={201: MembershipSerializer})
    def post(self, request: Request, slug: str) -> Response:
        membership = membership_grant_by_username(actor=Actor.from_request(request),
                                                  use_case=self.use_case(request, slug),
                                                  **_valid(MembershipCreateSerializer, request.data))
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[SLUG, MEMBERSHIP_ID])
class MembershipDetailView(_UseCaseScoped):
    """Take a role away (the last governance owner stays)."""

    serializer_class = MembershipSerializer

    @extend_schema(summary="Revoke a role", parameters=[REASON], request=None, responses={204: None})
    def delete(self, request: Request, slug: str, membership_id: int) -> Response:
        membership = membership_get(use_case=self.use_case(request, slug), membership_id=membership_id)
        membership_revoke(actor=Actor.from_request(request), membership=membership, reason=_reason(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[SLUG])
class ModelVersionListView(_UseCaseScoped):
    """List model versions, newest first, or register a candidate (platform owner)."""

    queryset = ModelVersion.objects.none()  # only tells the schema generator the model; selectors do the reading
    serializer_class = ModelVersionSerializer

    @extend_schema(summary="List model versions", responses=ModelVersionSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.paginated(model_version_list(use_case=self.use_case(request, slug)), ModelVersionSerializer)

    @extend_schema(summary="Register a candidate model version", request=ModelVersionCreateSerializer,
                   responses={201: ModelVersionSerializer})
    def post(self, request: Request, slug: str) -> Response:
        version = model_version_register(actor=Actor.from_request(request), use_case=self.use_case(request, slug),
                                         **_valid(ModelVersionCreateSerializer, request.data))
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[SLUG, MODEL_VERSION_ID], request=None, responses=ModelVersionSerializer)
class ModelVersionActivateView(_UseCaseScoped):
    """Put a version into service; the one it replaces is retired."""

    serializer_class = ModelVersionSerializer

    def post(self, request: Request, slug: str, model_version_id: int) -> Response:
        version = model_version_get(use_case=self.use_case(request, slug), model_version_id=model_version_id)
        return Response(ModelVersionSerializer(model_version_activate(actor=Actor.from_request(request),
                                                                      model_version=version)).data)


@extend_schema(parameters=[SLUG, MODEL_VERSION_ID], request=ReasonSerializer, responses=ModelVersionSerializer)
class ModelVersionRollBackView(_UseCaseScoped):
    """Roll the active version back; the previously active one returns to service."""

    serializer_class = ReasonSerializer

    def post(self, request: Request, slug: str, model_version_id: int) -> Response:
        version = model_version_get(use_case=self.use_case(request, slug), model_version_id=model_version_id)
        version = model_version_roll_back(actor=Actor.from_request(request), model_version=version,
                                          reason=_valid(ReasonSerializer, request.data)["reason"])
        return Response(ModelVersionSerializer(version).data)


@extend_schema(parameters=[SLUG])
class EffectGoalListView(_UseCaseScoped):
    """List effect goals with their latest measurement, or define one (product owner)."""

    queryset = EffectGoal.objects.none()  # only tells the schema generator the model; selectors do the reading
    serializer_class = EffectGoalSerializer

    @extend_schema(summary="List effect goals", responses=EffectGoalSerializer(many=True))
    def get(self, request: Request, slug: str) -> Response:
        return self.paginated(effect_goal_list(use_case=self.use_case(request, slug)), EffectGoalSerializer)

    @extend_schema(summary="Define an effect goal", request=EffectGoalCreateSerializer,
                   responses={201: EffectGoalSerializer})
    def post(self, request: Request, slug: str) -> Response:
        use_case = self.use_case(request, slug)
        goal = effect_goal_create(actor=Actor.from_request(request), use_case=use_case,
                                  **_valid(EffectGoalCreateSerializer, request.data))
        goal = effect_goal_get(use_case=use_case, goal_id=goal.pk)
        return Response(EffectGoalSerializer(goal).data, status=status.HTTP_201_CREATED)


@extend_schema(parameters=[SLUG, GOAL_ID])
class EffectGoalDetailView(_UseCaseScoped):
    """Read, change or delete one effect goal."""

    serializer_class = EffectGoalSerializer

    @extend_schema(summary="Read an effect goal", responses=EffectGoalSerializer)
    def get(self, request: Request, slug: str, goal_id: int) -> Response:
        return Response(EffectGoalSerializer(effect_goal_get(use_case=self.use_case(request, slug),
                                                             goal_id=goal_id)).data)

    @extend_schema(summary="Change an effect goal", request=EffectGoalUpdateSerializer, responses=EffectGoalSerializer)
    def patch(self, request: Request, slug: str, goal_id: int) -> Response:
        use_case = self.use_case(request, slug)
        goal = effect_goal_get(use_case=use_case, goal_id=goal_id)
        effect_goal_update(actor=Actor.from_request(request), goal=goal,
                           changes=_changes(EffectGoalUpdateSerializer, request.data))
        return Response(EffectGoalSerializer(effect_goal_get(use_case=use_case, goal_id=goal_id)).data)

    @extend_schema(summary="Delete an unmeasured effect goal", parameters=[REASON], request=None, responses={204: None})
    def delete(self, request: Request, slug: str, goal_id: int) -> Response:
        goal = effect_goal_get(use_case=self.use_case(request, slug), goal_id=goal_id)
        effect_goal_delete(actor=Actor.from_request(request), goal=goal, reason=_reason(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[SLUG, GOAL_ID])
class EffectMeasurementListView(_UseCaseScoped):
    """List a goal's measurements, newest first, or record one (product or platform owner)."""

    queryset = EffectMeasurement.objects.none()  # only tells the schema generator the model; selectors do the reading
    serializer_class = EffectMeasurementSerializer

    @extend_schema(summary="List a goal's measurements", responses=EffectMeasurementSerializer(many=True))
    def get(self, request: Request, slug: str, goal_id: int) -> Response:
        goal = effect_goal_get(use_case=self.use_case(request, slug), goal_id=goal_id)
        return self.paginated(effect_measurement_list(goal=goal), EffectMeasurementSerializer)

    @extend_schema(summary="Record a measurement", request=EffectMeasurementCreateSerializer,
                   responses={201: EffectMeasurementSerializer})
    def post(self, request: Request, slug: str, goal_id: int) -> Response:
        goal = effect_goal_get(use_case=self.use_case(request, slug), goal_id=goal_id)
        measurement = effect_measurement_record(actor=Actor.from_request(request), goal=goal,
                                                **_valid(EffectMeasurementCreateSerializer, request.data))
        return Response(EffectMeasurementSerializer(measurement).data, status=status.HTTP_201_CREATED)
