"""The lean ASGI handler for `POST /api/v1/models/{ref}/predict/`: the REST hot path.

It skips Django's middleware and DRF (2-6 ms of CPU a request under ASGI, per DESIGN.md's
measurements; not re-measured here yet): the token is
checked statelessly, the body parsed with orjson, the core runs in a thread pool, and errors use
the same HTTP mapping as the DRF views.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from mlplatform.asgi_io import Receive, Scope, Send, headers_of, read_body, respond_json
from mlplatform.auth import principal_from_authorization
from mlplatform.errors import InternalError, PlatformError
from mlplatform.http_errors import http_status_for
from mlplatform.ids import new_request_id
from predictions.executor import PredictionExecutor
from predictions.models import Protocol
from predictions.parsing import parse_json_object
from predictions.rest.multipart import is_multipart, parse_multipart
from predictions.schemas import PredictRequest

logger = logging.getLogger(__name__)

PREDICT_ROUTE = re.compile(r"^/api/v1/models/(?P<ref>[^/]+)/predict/?$")


class PredictFastPath:
    def __init__(self, *, max_body_bytes: int, executor: PredictionExecutor) -> None:
        self.max_body_bytes = max_body_bytes
        self.executor = executor

    async def handle(self, scope: Scope, receive: Receive, send: Send, ref: str) -> None:
        headers = headers_of(scope)
        request_id = headers.get("x-request-id") or new_request_id()
        if scope["method"] != "POST":
            await _respond(
                send, 405, _error("invalid_input", "use POST"), request_id, [(b"allow", b"POST")]
            )
            return
        try:
            body = await read_body(receive, self.max_body_bytes)
            content_type = headers.get("content-type", "")
            payload = (
                parse_multipart(content_type, body)
                if is_multipart(content_type)
                else parse_json_object(body, what="body")
            )
            request = PredictRequest(
                model_ref=ref,
                payload=payload,
                protocol=Protocol.REST,
                principal=principal_from_authorization(headers.get("authorization")),
                request_id=request_id,
            )
            result = await self.executor.predict(request)
            await _respond(send, 200, result.envelope(), request_id)
        except PlatformError as exc:
            extra = [(b"www-authenticate", b"Bearer")] if exc.code == "unauthenticated" else []
            await _respond(send, http_status_for(exc.code), exc.as_dict(), request_id, extra)
        except Exception:
            logger.exception("unhandled error on predict %s (request %s)", ref, request_id)
            error = InternalError("internal error; the request id identifies it in the logs")
            await _respond(send, 500, error.as_dict(), request_id)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": None}}


async def _respond(
    send: Send,
    status: int,
    body: dict[str, Any],
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"x-request-id", request_id.encode("latin-1")), *(extra_headers or [])]
    await respond_json(send, status, body, headers)
