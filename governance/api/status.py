"""The CI status endpoint: one GET tells a pipeline whether a use case may ship, and why not."""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.models import TokenScope
from governance.selectors.inventory import use_case_get
from governance.selectors.status import REQUIRABLE_STAGES, use_case_status

UseCaseStatusSerializer = inline_serializer("UseCaseStatus", fields={
    "ok": serializers.BooleanField(),
    "stage": serializers.CharField(),
    "required": serializers.CharField(allow_null=True, help_text="The stage checked: `require`, else the use "
                                      "case's own stage when it is pre_production or production."),
    "checked": serializers.ListField(child=serializers.CharField(), help_text="Every rule applied."),
    "halted": serializers.BooleanField(),
    "gates": inline_serializer("GateStatus", many=True, fields={
        "number": serializers.IntegerField(),
        "status": serializers.CharField(),
        "decided_at": serializers.DateTimeField(allow_null=True),
        "expires_at": serializers.DateTimeField(allow_null=True),
        "outcome": serializers.CharField(allow_null=True),
    }),
    "drift": serializers.DictField(help_text='Monitoring facts, or {"configured": false} without monitoring.'),
    "reasons": serializers.ListField(child=serializers.CharField()),
})


class UseCaseStatusView(APIView):
    """Whether the use case may ship: not halted, no open stop alert and, with `require`, the stage reached."""

    required_scope = TokenScope.STATUS_READ

    @extend_schema(
        parameters=[
            OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="Use case slug"),
            OpenApiParameter("require", OpenApiTypes.STR, enum=list(REQUIRABLE_STAGES),
                             description="Require this stage, with the approved gate leading to it "
                                         "(default: the use case's own stage)."),
        ],
        responses=UseCaseStatusSerializer,
    )
    def get(self, request: Request, slug: str) -> Response:
        use_case = use_case_get(actor=Actor.from_request(request), slug=slug)
        return Response(use_case_status(use_case=use_case, require=request.query_params.get("require") or None))
