"""The one mapping from the contract's error codes to gRPC status codes, for each gRPC service."""

from __future__ import annotations

import grpc

from mlplatform.errors import ErrorCode

STATUS_CODE_MAPPING: dict[str, grpc.StatusCode] = {
    ErrorCode.INVALID_INPUT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.MODEL_NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorCode.MODEL_NOT_READY: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorCode.FORBIDDEN: grpc.StatusCode.PERMISSION_DENIED,
    ErrorCode.RATE_LIMITED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ErrorCode.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    ErrorCode.INTERNAL: grpc.StatusCode.INTERNAL,
}

# The Open Inference Protocol follows Triton: not ready is UNAVAILABLE, any other request error
# INVALID_ARGUMENT.
V2_STATUS_CODE_MAPPING: dict[str, grpc.StatusCode] = {
    **STATUS_CODE_MAPPING,
    ErrorCode.MODEL_NOT_READY: grpc.StatusCode.UNAVAILABLE,
}


def status_for(code: str, *, v2: bool = False) -> grpc.StatusCode:
    table = V2_STATUS_CODE_MAPPING if v2 else STATUS_CODE_MAPPING
    return table.get(code, grpc.StatusCode.INVALID_ARGUMENT)
