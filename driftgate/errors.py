"""Errors are data: one ApplicationError with a stable code, and one handler that renders every error the same way."""
import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response


class ApplicationError(Exception):
    """A refusal the client can act on: a stable `code`, a human message, an HTTP status and extra data."""

    code = "application_error"
    # Typed as int, not the constant's literal, so subclasses and callers may set another status.
    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, code: str | None = None, extra: dict[str, Any] | None = None,
                 status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.extra = extra or {}


class ValidationFailed(ApplicationError):
    """Input that breaks a rule of the domain."""

    code = "validation_error"
    status_code = status.HTTP_400_BAD_REQUEST


class NotFound(ApplicationError):
    """An object that does not exist or that the actor may not see."""

    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND


class PermissionRefused(ApplicationError):
    """The actor lacks the role or scope the action needs."""

    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN


class Conflict(ApplicationError):
    """The object's state no longer allows the action (already decided, raced, duplicate)."""

    code = "conflict"
    status_code = status.HTTP_409_CONFLICT


class PayloadTooLarge(ApplicationError):
    """A request or file over the configured limit."""

    code = "payload_too_large"
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class CsrfFailed(drf_exceptions.PermissionDenied):
    """A session request without a valid CSRF token (header X-CSRFToken, cookie csrftoken)."""


class TokenFailuresThrottled(drf_exceptions.Throttled):
    """Too many invalid bearer tokens from one address; the address waits before it may try again."""

    default_detail = "Too many invalid tokens from this address."


class IngestRateLimited(drf_exceptions.Throttled):
    """More traffic batches than the use case allows per token per minute."""

    default_detail = "Too many traffic batches for this token and use case."


_DRF_CODES = {
    CsrfFailed: "csrf_failed",
    TokenFailuresThrottled: "token_failures_throttled",
    IngestRateLimited: "ingest_rate_limited",
    drf_exceptions.ParseError: "malformed_json",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ValidationError: "validation_error",
}


def error_body(code: str, message: str, extra: dict | None = None) -> dict:
    """Return the one error shape every endpoint uses."""
    return {"code": code, "message": message, "extra": extra or {}}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render ApplicationError and DRF/Django errors as `{"code", "message", "extra"}`."""
    if isinstance(exc, ApplicationError):
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(int(retry_after))} if retry_after else None
        return Response(error_body(exc.code, exc.message, exc.extra), status=exc.status_code, headers=headers)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if not isinstance(exc, drf_exceptions.APIException):
        return None
    code = next((value for cls, value in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    headers = {}
    # Set by DRF's authentication (auth_header) and Throttled (wait) only, hence looked up by name.
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    extra: dict[str, Any]
    if isinstance(exc, drf_exceptions.ValidationError):
        message = "The request has invalid fields."
        extra = {"fields": exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}}
    else:
        message = str(exc.detail)
        extra = {"retry_after": int(headers["Retry-After"])} if "Retry-After" in headers else {}
    return Response(error_body(code, message, extra), status=exc.status_code, headers=headers)
