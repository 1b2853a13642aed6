"""Report endpoints: list and request reports, read one, download its PDF. Rules live in the services."""
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from driftgate.actors import Actor
from driftgate.errors import ValidationFailed
from driftgate.models import TokenScope
from governance.permissions import get_visible_use_case
from reports.models import Report, ReportKind, ReportStatus
from reports.selectors.stored import report_get_visible, reports_visible_to
from reports.services import parse_moment, report_download, report_request


class ReportSerializer(serializers.ModelSerializer):
    """A stored report as the API shows it; `download_url` is set once the report is ready."""

    use_case: "serializers.SlugRelatedField[Any]" = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    requested_by = serializers.CharField(source="requested_by_display", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "use_case", "kind", "status", "parameters", "requested_by", "requested_at", "started_at",
                  "finished_at", "sha256", "size", "chain_head", "error", "download_url"]
        read_only_fields = fields

    def get_download_url(self, report: Report) -> str | None:
        if report.status != ReportStatus.READY:
            return None
        path = reverse("report-download", kwargs={"pk": report.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class ReportRequestSerializer(serializers.Serializer):
    """What a report request names; kind and period are checked by the service so their errors keep their codes."""

    use_case = serializers.SlugField(max_length=64)
    kind = serializers.CharField(max_length=40, help_text=f"One of {', '.join(ReportKind.values)}.")
    start = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                  help_text="ISO 8601 date-time with a time zone, or a date (midnight UTC).")
    end = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                help_text="ISO 8601 date-time with a time zone, or a date (midnight UTC); exclusive.")


class ReportListView(GenericAPIView):
    """List the reports of the use cases you can see (filter by use_case, kind, status), or request a new one."""

    required_scope = TokenScope.REPORTS_READ
    serializer_class = ReportSerializer

    def get_queryset(self):
        params = self.request.query_params
        kind = params.get("kind")
        if kind and kind not in ReportKind.values:
            raise ValidationFailed(f"Unknown report kind {kind!r}.", code="invalid_report_kind",
                                   extra={"valid_kinds": list(ReportKind.values)})
        return reports_visible_to(actor=Actor.from_request(self.request), use_case_slug=params.get("use_case"),
                                  kind=kind, status=params.get("status"))

    @extend_schema(operation_id="reports_list", parameters=[
        OpenApiParameter("use_case", OpenApiTypes.STR, description="Use case slug"),
        OpenApiParameter("kind", OpenApiTypes.STR, enum=ReportKind.values),
        OpenApiParameter("status", OpenApiTypes.STR, enum=ReportStatus.values),
    ], responses=ReportSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(operation_id="reports_request", request=ReportRequestSerializer, responses={202: ReportSerializer})
    def post(self, request: Request) -> Response:
        payload = ReportRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        actor = Actor.from_request(request)
        use_case = get_visible_use_case(actor=actor, slug=data["use_case"])
        report = report_request(actor=actor, use_case=use_case, kind=data["kind"],
                                start=parse_moment(data.get("start"), name="start"),
                                end=parse_moment(data.get("end"), name="end"))
        # With an in-process worker the report may already be rendered; show it as it stands now.
        report.refresh_from_db()
        body = ReportSerializer(report, context={"request": request}).data
        location = request.build_absolute_uri(reverse("report-detail", kwargs={"pk": report.pk}))
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


class ReportDetailView(GenericAPIView):
    """One report: its status, parameters, SHA-256 and the chain head it was built from."""

    required_scope = TokenScope.REPORTS_READ
    serializer_class = ReportSerializer

    @extend_schema(operation_id="reports_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        report = report_get_visible(actor=Actor.from_request(request), report_id=int(pk))
        return Response(self.get_serializer(report).data)


class FirstRendererNegotiation(BaseContentNegotiation):
    """Answer errors in JSON whatever the client accepts; the PDF itself is a plain response past the renderers."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ReportDownloadView(GenericAPIView):
    """The PDF of a ready report, checked against its SHA-256 (sent in X-Content-SHA256); each download is audited."""

    required_scope = TokenScope.REPORTS_READ
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY,
                              409: OpenApiResponse(description="report_not_ready")})
    def get(self, request: Request, pk: int) -> HttpResponse:
        actor = Actor.from_request(request)
        report = report_get_visible(actor=actor, report_id=int(pk))
        content, filename = report_download(actor=actor, report=report)
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Content-Length"] = str(len(content))
        response["X-Content-SHA256"] = report.sha256
        return response
