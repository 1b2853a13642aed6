"""The response to a locked-out login: 429 with Retry-After, as JSON for API clients and as a page for people."""
from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from driftgate.errors import error_body

CODE = "login_locked"


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict | None = None) -> HttpResponse:
    """Return the refusal django-axes sends while an account or address is locked (AXES_LOCKOUT_CALLABLE)."""
    cool_off = get_cool_off(request)
    retry_after = int(cool_off.total_seconds()) if cool_off else 0
    message = _("Too many failed sign-in attempts for this account or address. Try again later, "
                "or ask an administrator to unlock it.")
    if _wants_json(request):
        response: HttpResponse = JsonResponse(error_body(CODE, message, {"retry_after": retry_after}), status=429)
    else:
        response = TemplateResponse(request, "driftgate/login_locked.html",
                                    {"message": message, "minutes": max(1, retry_after // 60), "title": _("Locked")},
                                    status=429)
        response.render()
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response
