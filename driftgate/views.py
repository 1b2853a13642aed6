"""Platform-level views: the API root and a health probe (the home page is governance's "my work")."""
from django.db import connection
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request: Request) -> Response:
    """List the API's entry points."""
    return Response({
        "use_cases": reverse("usecase-list", request=request),
        "audit_events": reverse("auditevent-list", request=request),
        "audit_verify": reverse("audit-verify", request=request),
        "schema": reverse("schema", request=request),
        "docs": reverse("api-docs", request=request),
    })


def health(request: HttpRequest) -> JsonResponse:
    """Answer load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
