"""DRF's one exception handler: PlatformErrors and DRF errors become the contract's envelope."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from mlplatform.db_errors import DATABASE_OUTAGE, database_unavailable
from mlplatform.errors import ErrorCode, PlatformError
from mlplatform.http_errors import http_status_for

_DRF_CODES: dict[type[exceptions.APIException], ErrorCode] = {
    exceptions.NotAuthenticated: ErrorCode.UNAUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.UNAUTHENTICATED,
    exceptions.PermissionDenied: ErrorCode.FORBIDDEN,
    exceptions.NotFound: ErrorCode.MODEL_NOT_FOUND,
    exceptions.Throttled: ErrorCode.RATE_LIMITED,
    exceptions.ValidationError: ErrorCode.INVALID_INPUT,
    exceptions.ParseError: ErrorCode.INVALID_INPUT,
    exceptions.UnsupportedMediaType: ErrorCode.INVALID_INPUT,
}


def platform_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DATABASE_OUTAGE):
        exc = database_unavailable()
    if isinstance(exc, PlatformError):
        return Response(exc.as_dict(), status=http_status_for(exc.code))
    response = exception_handler(exc, context)
    if response is None:
        return None
    code = next(
        (code for cls, code in _DRF_CODES.items() if isinstance(exc, cls)),
        ErrorCode.INVALID_INPUT if response.status_code < 500 else ErrorCode.INTERNAL,
    )
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        code = ErrorCode.UNAUTHENTICATED
    detail = response.data
    message = detail.get("detail", str(exc)) if isinstance(detail, dict) else str(exc)
    response.data = {"error": {"code": str(code), "message": str(message), "details": detail}}
    return response
