"""Platform-level views: the API root and the liveness and readiness probes (the home page is governance's "my work")."""
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from drf_spectacular.utils import extend_schema
from kombu import Connection
from kombu.exceptions import OperationalError
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from driftgate.errors import error_body

# A readiness probe must answer within the orchestrator's timeout even when a dependency hangs.
READY_TIMEOUT_SECONDS = 2


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


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "in-process"  # no broker: tasks run in the web process (the embedded demo)
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=READY_TIMEOUT_SECONDS) as broker:
            broker.ensure_connection(max_retries=0, timeout=READY_TIMEOUT_SECONDS)
    except (OperationalError, OSError, ConnectionError) as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def ready(request: HttpRequest) -> JsonResponse:
    """Answer orchestrators: 200 when the database and the broker answer, else 503 naming what does not."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    failing = sorted(name for name, state in checks.items() if state.startswith("error"))
    if failing:
        return JsonResponse(error_body("not_ready", f"Not ready: {', '.join(failing)} unavailable.",
                                       {"checks": checks}), status=503)
    return JsonResponse({"status": "ok", "checks": checks})

