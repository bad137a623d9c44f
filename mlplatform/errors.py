"""The platform's one error vocabulary: every layer raises these, every protocol maps them once."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    MODEL_NOT_FOUND = "model_not_found"
    MODEL_NOT_READY = "model_not_ready"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


class PlatformError(Exception):
    """A failure a client can be told about: a contract code, a message, optional details."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """The contract's error envelope: {"error": {"code", "message", "details"}}."""
        return {"error": {"code": str(self.code), "message": self.message, "details": self.details}}


class InvalidInput(PlatformError):
    code = ErrorCode.INVALID_INPUT


class ModelNotFound(PlatformError):
    code = ErrorCode.MODEL_NOT_FOUND


class ModelNotReady(PlatformError):
    code = ErrorCode.MODEL_NOT_READY


class Unauthenticated(PlatformError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(PlatformError):
    code = ErrorCode.FORBIDDEN


class RateLimited(PlatformError):
    code = ErrorCode.RATE_LIMITED


class Unavailable(PlatformError):
    code = ErrorCode.UNAVAILABLE


class InternalError(PlatformError):
    code = ErrorCode.INTERNAL
