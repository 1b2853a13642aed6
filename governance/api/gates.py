"""Gate, checklist, evidence, decision and obligation endpoints. Views parse input and call one service or selector.

Writes are for people only: a token may read (`governance:read`) but never change a gate. Signing endpoints accept
only a session, so Django's CSRF check applies and a stolen token can never sign.
"""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from driftgate.actors import Actor
from driftgate.authentication import SessionAuthentication
from driftgate.models import TokenScope
from governance.models import Decision, Evidence, Signature
from governance.permissions import get_visible_use_case
from governance.selectors.gates import (
    checklist_item_get,
    decision_get,
    evidence_get,
    gate_detail,
    gate_get,
    gate_summary,
    gates_of_use_case,
    obligation_data,
    obligation_get,
    obligations_of_use_case,
    signature_status,
)
from governance.services.checklists import checklist_item_update, evidence_add, evidence_file_read, evidence_remove
from governance.services.decisions import decision_sign, decision_withdraw, gate_decide
from governance.services.gates import gate_open, gate_request_decision
from governance.services.obligations import obligation_create, obligation_fulfil, obligation_waive

READ_ONLY_FOR_TOKENS = {"GET": TokenScope.GOVERNANCE_READ}
_GATE_DETAIL = OpenApiResponse(OpenApiTypes.OBJECT, description=(
    "The gate with `checklists` (items with their evidence, `complete`, and `ml_test_score` for the rubric), "
    "`criteria` evaluated now (`{code, title, passed, reasons}`), `go_allowed`, `ml_test_score` "
    "(`{sections, total, score, meaning}`) and `decisions` with `signatures` (`valid`, `current_hash`, `signed_hash`)."))


def _validated(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class OpenGateInput(serializers.Serializer):
    """Which gate to open."""

    number = serializers.IntegerField()


class GateSummaryOutput(serializers.Serializer):
    """A gate's headline fields."""

    id = serializers.IntegerField()
    use_case = serializers.CharField()
    number = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    required_roles = serializers.ListField(child=serializers.CharField())
    opened_by = serializers.CharField(allow_null=True)
    opened_at = serializers.DateTimeField()
    requested_by = serializers.CharField(allow_null=True)
    requested_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class ConditionInput(serializers.Serializer):
    """A condition of a go-with-conditions decision; it becomes an obligation when the decision is final."""

    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.CharField(help_text="Username of the owner; must hold a role on the use case.")
    due_date = serializers.DateField(required=False, help_text="Defaults to today + DRIFTGATE_OBLIGATION_DEFAULT_DAYS.")


class DecideInput(serializers.Serializer):
    """A proposed decision, signed by the proposer in one of the gate's required roles."""

    outcome = serializers.CharField(help_text="go, go_with_conditions or no_go")
    rationale = serializers.CharField(required=False, allow_blank=True, default="")
    conditions = serializers.ListField(child=serializers.DictField(), required=False, default=list,
                                       help_text="Objects shaped like ConditionInput.")
    role = serializers.CharField()
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     style={"input_type": "password"}, help_text="Re-entered at every signing.")


class SignInput(serializers.Serializer):
    """A co-signature."""

    role = serializers.CharField()
    password = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False,
                                     style={"input_type": "password"})


class SignatureOutput(serializers.Serializer):
    """A signature with its validity against the gate's current content."""

    id = serializers.IntegerField()
    decision = serializers.IntegerField()
    decision_status = serializers.CharField()
    gate_status = serializers.CharField()
    signer = serializers.CharField()
    printed_name = serializers.CharField()
    role = serializers.CharField()
    meaning = serializers.CharField()
    signed_at = serializers.DateTimeField()
    auth_method = serializers.CharField(help_text="How the signer proved who they are: `password` or `oidc`.")
    auth_time = serializers.DateTimeField(allow_null=True, help_text=(
        "When they proved it: the password check, or the provider's login (the ID token's auth_time)."))
    valid = serializers.BooleanField()
    current_hash = serializers.CharField()
    signed_hash = serializers.CharField()


class ReasonInput(serializers.Serializer):
    """Why."""

    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ItemUpdateInput(serializers.Serializer):
    """New state of a checklist item."""

    status = serializers.CharField(help_text="open, done, waived or not_applicable")
    reason = serializers.CharField(required=False, allow_blank=True, default="",
                                   help_text="Required for waived and not_applicable.")
    automation = serializers.CharField(required=False, allow_null=True, default=None,
                                       help_text="ML Test Score credit: none, manual or automated.")


class EvidenceInput(serializers.Serializer):
    """A file (multipart `file`) or a URL (JSON `url`)."""

    name = serializers.CharField(required=False, allow_blank=True, default="")
    url = serializers.CharField(required=False, allow_blank=True, default="")
    file = serializers.FileField(required=False, allow_null=True, default=None)


class ObligationInput(serializers.Serializer):
    """A standing obligation."""

    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.CharField(help_text="Username; must hold a role on the use case.")
    due_date = serializers.DateField(required=False, allow_null=True, default=None)


class ObligationOutput(serializers.Serializer):
    """An obligation."""

    id = serializers.IntegerField()
    use_case = serializers.CharField()
    decision = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    description = serializers.CharField()
    owner = serializers.CharField()
    due_date = serializers.DateField()
    status = serializers.CharField()
    overdue = serializers.BooleanField()
    resolution = serializers.CharField()
    evidence_url = serializers.CharField()
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class ResolutionInput(serializers.Serializer):
    """How an obligation was fulfilled."""

    resolution = serializers.CharField(required=False, allow_blank=True, default="")
    evidence_url = serializers.CharField(required=False, allow_blank=True, default="",
                                         help_text="Where the proof of fulfilment is (http or https).")


def _evidence_data(evidence: Evidence) -> dict:
    return {"id": evidence.pk, "item": evidence.item_id, "name": evidence.name,
            "kind": "file" if evidence.file else "url", "url": evidence.url, "sha256": evidence.sha256,
            "size": evidence.size, "content_type": evidence.content_type, "uploaded_at": evidence.uploaded_at,
            "removed_at": evidence.removed_at}


def _signature_data(signature: Signature, decision: Decision) -> dict:
    return {"id": signature.pk, "decision": decision.pk, "decision_status": decision.status,
            "gate_status": decision.gate.status, "signer": signature.signer.get_username(),
            "printed_name": signature.printed_name, "role": signature.role, "meaning": signature.meaning,
            "signed_at": signature.signed_at, "auth_method": signature.auth_method, "auth_time": signature.auth_time,
            **signature_status(signature)}


class UseCaseGatesView(APIView):
    """List a use case's gates, or open one."""

    required_scopes = READ_ONLY_FOR_TOKENS

    @extend_schema(responses=GateSummaryOutput(many=True))
    def get(self, request: Request, slug: str) -> Response:
        gates = gates_of_use_case(actor=Actor.from_request(request), slug=slug)
        return Response([gate_summary(gate) for gate in gates])

    @extend_schema(request=OpenGateInput, responses={201: _GATE_DETAIL})
    def post(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        data = _validated(OpenGateInput, request)
        gate = gate_open(actor=actor, use_case=get_visible_use_case(actor=actor, slug=slug), number=data["number"])
        return Response(gate_detail(gate_get(actor=actor, gate_id=gate.pk)), status=status.HTTP_201_CREATED)


class GateDetailView(APIView):
    """A gate with everything a signer needs to see."""

    required_scopes = READ_ONLY_FOR_TOKENS

    @extend_schema(responses=_GATE_DETAIL)
    def get(self, request: Request, gate_id: int) -> Response:
        return Response(gate_detail(gate_get(actor=Actor.from_request(request), gate_id=gate_id)))


class GateRequestDecisionView(APIView):
    """The product owner asks for a decision: open → in_review."""

    @extend_schema(request=None, responses=_GATE_DETAIL)
    def post(self, request: Request, gate_id: int) -> Response:
        actor = Actor.from_request(request)
        gate = gate_request_decision(actor=actor, gate=gate_get(actor=actor, gate_id=gate_id))
        return Response(gate_detail(gate))


class GateDecideView(APIView):
    """Propose a decision and sign it (password re-entered; session only, CSRF enforced)."""

    authentication_classes = [SessionAuthentication]

    @extend_schema(request=DecideInput, responses={201: _GATE_DETAIL})
    def post(self, request: Request, gate_id: int) -> Response:
        actor = Actor.from_request(request)
        data = _validated(DecideInput, request)
        gate = gate_get(actor=actor, gate_id=gate_id)
        gate_decide(actor=actor, gate=gate, outcome=data["outcome"], rationale=data["rationale"],
                    conditions=data["conditions"], role=data["role"], password=data["password"])
        return Response(gate_detail(gate_get(actor=actor, gate_id=gate_id)), status=status.HTTP_201_CREATED)


class DecisionSignView(APIView):
    """Co-sign a pending decision (password re-entered; session only, CSRF enforced)."""

    authentication_classes = [SessionAuthentication]

    @extend_schema(request=SignInput, responses={201: SignatureOutput})
    def post(self, request: Request, decision_id: int) -> Response:
        actor = Actor.from_request(request)
        data = _validated(SignInput, request)
        decision = decision_get(actor=actor, decision_id=decision_id)
        signature = decision_sign(actor=actor, decision=decision, role=data["role"], password=data["password"])
        decision = decision_get(actor=actor, decision_id=decision_id)
        return Response(_signature_data(signature, decision), status=status.HTTP_201_CREATED)


class DecisionWithdrawView(APIView):
    """Withdraw a pending decision so a new one can be proposed."""

    @extend_schema(request=ReasonInput, responses=_GATE_DETAIL)
    def post(self, request: Request, decision_id: int) -> Response:
        actor = Actor.from_request(request)
        data = _validated(ReasonInput, request)
        decision = decision_withdraw(actor=actor, decision=decision_get(actor=actor, decision_id=decision_id),
                                     reason=data["reason"])
        return Response(gate_detail(gate_get(actor=actor, gate_id=decision.gate_id)))


class ChecklistItemView(APIView):
    """Change a checklist item's status, reason and ML Test Score automation."""

    @extend_schema(request=ItemUpdateInput, responses=OpenApiTypes.OBJECT)
    def patch(self, request: Request, item_id: int) -> Response:
        actor = Actor.from_request(request)
        data = _validated(ItemUpdateInput, request)
        item = checklist_item_update(actor=actor, item=checklist_item_get(actor=actor, item_id=item_id),
                                     status=data["status"], reason=data["reason"], automation=data["automation"])
        return Response({"id": item.pk, "key": item.key, "status": item.status, "reason": item.reason,
                         "automation": item.automation, "completed_at": item.completed_at})


class ChecklistItemEvidenceView(APIView):
    """Attach evidence: multipart with `file` (and optional `name`), or JSON `{name, url}`."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(request={"multipart/form-data": EvidenceInput, "application/json": EvidenceInput},
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, item_id: int) -> Response:
        actor = Actor.from_request(request)
        item = checklist_item_get(actor=actor, item_id=item_id)
        data = _validated(EvidenceInput, request)
        evidence = evidence_add(actor=actor, item=item, name=data["name"], file=data["file"], url=data["url"])
        return Response(_evidence_data(evidence), status=status.HTTP_201_CREATED)


class EvidenceView(APIView):
    """Read evidence, or mark it removed (it is never deleted)."""

    required_scopes = READ_ONLY_FOR_TOKENS

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, evidence_id: int) -> Response:
        return Response(_evidence_data(evidence_get(actor=Actor.from_request(request), evidence_id=evidence_id)))

    @extend_schema(parameters=[OpenApiParameter("reason", OpenApiTypes.STR)], responses=OpenApiTypes.OBJECT)
    def delete(self, request: Request, evidence_id: int) -> Response:
        actor = Actor.from_request(request)
        reason = request.query_params.get("reason") or (
            request.data.get("reason", "") if isinstance(request.data, dict) and request.data else "")
        evidence = evidence_remove(actor=actor, evidence=evidence_get(actor=actor, evidence_id=evidence_id),
                                   reason=str(reason))
        return Response(_evidence_data(evidence))


class EvidenceDownloadView(APIView):
    """Download an evidence file as an attachment, with its SHA-256 in `X-Evidence-SHA256`."""

    required_scope = TokenScope.GOVERNANCE_READ

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, evidence_id: int) -> FileResponse:
        actor = Actor.from_request(request)
        evidence = evidence_get(actor=actor, evidence_id=evidence_id)
        handle, filename = evidence_file_read(actor=actor, evidence=evidence)
        # Served as an opaque attachment: uploaded HTML must never render in the app's origin.
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/octet-stream")
        response["X-Evidence-SHA256"] = evidence.sha256
        return response


class UseCaseObligationsView(APIView):
    """List a use case's obligations (`?status=open`), or create a standing one (governance owner)."""

    required_scopes = READ_ONLY_FOR_TOKENS

    @extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR)], responses=ObligationOutput(many=True))
    def get(self, request: Request, slug: str) -> Response:
        obligations = obligations_of_use_case(actor=Actor.from_request(request), slug=slug,
                                              status=request.query_params.get("status"))
        return Response([obligation_data(obligation) for obligation in obligations])

    @extend_schema(request=ObligationInput, responses={201: ObligationOutput})
    def post(self, request: Request, slug: str) -> Response:
        actor = Actor.from_request(request)
        data = _validated(ObligationInput, request)
        use_case = get_visible_use_case(actor=actor, slug=slug)
        owner = use_case.memberships.filter(user__username=data["owner"]).select_related("user").first()
        obligation = obligation_create(actor=actor, use_case=use_case, title=data["title"],
                                       description=data["description"], owner=owner.user if owner else None,
                                       due_date=data["due_date"])
        return Response(obligation_data(obligation), status=status.HTTP_201_CREATED)


class ObligationFulfilView(APIView):
    """Close an obligation as fulfilled (its owner or the governance owner)."""

    @extend_schema(request=ResolutionInput, responses=ObligationOutput)
    def post(self, request: Request, obligation_id: int) -> Response:
        actor = Actor.from_request(request)
        data = _validated(ResolutionInput, request)
        obligation = obligation_fulfil(actor=actor, obligation=obligation_get(actor=actor, obligation_id=obligation_id),
                                       resolution=data["resolution"], evidence_url=data["evidence_url"])
        return Response(obligation_data(obligation))


class ObligationWaiveView(APIView):
    """Waive an obligation with a reason (governance owner)."""

    @extend_schema(request=ReasonInput, responses=ObligationOutput)
    def post(self, request: Request, obligation_id: int) -> Response:
        actor = Actor.from_request(request)
        data = _validated(ReasonInput, request)
        obligation = obligation_waive(actor=actor, obligation=obligation_get(actor=actor, obligation_id=obligation_id),
                                      reason=data["reason"])
        return Response(obligation_data(obligation))
