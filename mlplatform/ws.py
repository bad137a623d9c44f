"""WebSocket wiring shared by every consumer: token auth, refusals, JSON frames.

`TokenAuthMiddleware` turns `?token=` or an `Authorization` header into `scope["principal"]`,
falling back to the session user (the live page's browser), so consumers only authorise.
The Origin check guards the session alone: a cookie rides along on a cross-site page's socket,
a token does not, so token clients (scripts, apps) need no Origin header.
A refused handshake is an HTTP error with the contract's error body where the server supports
the ASGI denial-response extension (uvicorn), else a close code (4401/4403/4404).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import orjson
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings

from mlplatform.auth import (
    Principal,
    principal_for_user,
    principal_from_authorization,
    principal_from_token,
)
from mlplatform.errors import Forbidden, PlatformError, Unauthenticated
from mlplatform.http_errors import http_status_for

_CLOSE_CODES = {401: 4401, 403: 4403, 404: 4404}


class TokenAuthMiddleware(BaseMiddleware):
    """Runs inside Channels' AuthMiddlewareStack: a token wins over the session."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        scope = dict(scope)
        try:
            scope["principal"] = _principal(scope)
        except (Unauthenticated, Forbidden) as error:
            scope["principal"] = None
            scope["auth_error"] = error
        return await super().__call__(scope, receive, send)


def _principal(scope: Any) -> Principal | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    token = (query.get("token") or [""])[0].strip()
    if token:
        return principal_from_token(token)
    headers = dict(scope.get("headers", []))
    header = headers.get(b"authorization")
    if header:
        return principal_from_authorization(header.decode("latin-1"))
    principal = principal_for_user(scope.get("user"))
    if principal is not None and not _same_site(headers.get(b"origin")):
        raise Forbidden("a session-authenticated WebSocket must come from this site's pages")
    return principal


def _same_site(origin: bytes | None) -> bool:
    if not origin:
        return False
    validator = OriginValidator(None, settings.ALLOWED_HOSTS)
    return bool(validator.valid_origin(urlparse(origin.decode("latin-1"))))


class JsonConsumer(AsyncWebsocketConsumer):
    """orjson frames and contract-shaped refusals for the consumers of every app."""

    @property
    def principal(self) -> Principal | None:
        principal: Principal | None = self.scope.get("principal")
        return principal

    def authentication_error(self) -> PlatformError:
        error: PlatformError | None = self.scope.get("auth_error")
        return error or Unauthenticated("authentication required: ?token=<jwt> or a header")

    async def send_json(self, body: Any) -> None:
        await self.send(text_data=orjson.dumps(body).decode())

    async def refuse(self, error: PlatformError) -> None:
        """Reject the handshake: HTTP status + error body when possible, else a 44xx close."""
        status = http_status_for(error.code)
        if "websocket.http.response" in self.scope.get("extensions", {}):
            body = orjson.dumps(error.as_dict())
            await self.base_send(
                {
                    "type": "websocket.http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await self.base_send({"type": "websocket.http.response.body", "body": body})
        else:
            await self.close(code=_CLOSE_CODES.get(status, 4400))
