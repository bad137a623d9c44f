"""Authentication for every gRPC call: `authorization: Bearer|JWT <token>` metadata -> Principal.

The interceptor wraps each handler so that the principal is set (a context variable) in the
thread that runs it, for the whole call, streams included. A bad token ends the call with
UNAUTHENTICATED before any handler runs; no token means anonymous, and the core decides.
Health checks and reflection need no token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import grpc
from django.db import close_old_connections

from mlplatform.auth import Principal, principal_from_authorization
from mlplatform.errors import Unauthenticated

current_principal: ContextVar[Principal | None] = ContextVar("grpc_principal", default=None)
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class AuthInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith(OPEN_SERVICES):
            return handler
        header = next(
            (value for key, value in details.invocation_metadata or () if key == "authorization"),
            None,
        )
        return _wrapped(handler, header)


_MALFORMED = object()  # what a request that is not a valid protobuf message decodes to


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """grpcio answers an undecodable message with INTERNAL; we answer INVALID_ARGUMENT."""
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:
            return _MALFORMED

    return parse


def _checked_stream(requests: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
    for request in requests:
        if request is _MALFORMED:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request is not a valid message")
        yield request


def _wrapped(handler: Any, header: str | None) -> Any:
    def authenticate(context: grpc.ServicerContext) -> Principal | None:
        try:
            return principal_from_authorization(header)
        except Unauthenticated as error:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, error.message)
            raise  # abort raises; this keeps type checkers informed

    def admit(request: Any, context: grpc.ServicerContext, streamed: bool) -> Any:
        if streamed:
            return _checked_stream(request, context)
        if request is _MALFORMED:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "request is not a valid message")
        return request

    def unary(behavior: Callable[..., Any], streamed: bool) -> Callable[..., Any]:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            token = current_principal.set(authenticate(context))
            close_old_connections()
            try:
                return behavior(admit(request, context, streamed), context)
            finally:
                current_principal.reset(token)

        return call

    def streaming(behavior: Callable[..., Any], streamed: bool) -> Callable[..., Any]:
        def call(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            token = current_principal.set(authenticate(context))
            close_old_connections()
            try:
                yield from behavior(admit(request, context, streamed), context)
            finally:
                current_principal.reset(token)

        return call

    deserializer = _tolerant(handler.request_deserializer)
    if handler.unary_unary:
        return grpc.unary_unary_rpc_method_handler(
            unary(handler.unary_unary, False), deserializer, handler.response_serializer
        )
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(
            unary(handler.stream_unary, True), deserializer, handler.response_serializer
        )
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(
            streaming(handler.unary_stream, False), deserializer, handler.response_serializer
        )
    return grpc.stream_stream_rpc_method_handler(
        streaming(handler.stream_stream, True), deserializer, handler.response_serializer
    )
