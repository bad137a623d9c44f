"""WebSocket front-ends of the inference core: `/ws/predict/{ref}/` and the staff `/ws/feed/`.

Predict: each text (or binary) frame is one JSON request in any input form of the contract;
requests run concurrently (bounded per connection) in the prediction pool, and replies leave in
the order the requests arrived, each echoing its `id`. Errors are reply frames; the socket stays.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from mlplatform.errors import Forbidden, InternalError, InvalidInput, PlatformError, RateLimited
from mlplatform.ids import new_request_id
from mlplatform.ws import JsonConsumer
from predictions.executor import prediction_executor
from predictions.feed import FEED_GROUP, recent_events
from predictions.models import Protocol
from predictions.parsing import parse_json_object
from predictions.schemas import PredictRequest
from predictions.ws.limits import TokenBucket

logger = logging.getLogger(__name__)


class PredictConsumer(JsonConsumer):
    channel_layer_alias = "unused"  # no channel layer: this socket only answers its own frames

    async def connect(self) -> None:
        if self.principal is None:
            await self.refuse(self.authentication_error())
            return
        self.ref: str = self.scope["url_route"]["kwargs"]["ref"]
        self.limiter = TokenBucket(settings.MLP_WS_RATE_PER_SECOND, settings.MLP_WS_RATE_BURST)
        self.slots = asyncio.Semaphore(settings.MLP_WS_MAX_IN_FLIGHT)
        self.last_reply: asyncio.Task[None] | None = None
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        raw = text_data.encode() if text_data is not None else (bytes_data or b"")
        correlation: Any = None
        try:
            if len(raw) > settings.MLP_WS_MAX_MESSAGE_BYTES:
                raise InvalidInput(
                    f"message exceeds {settings.MLP_WS_MAX_MESSAGE_BYTES} bytes",
                    details={"limit": settings.MLP_WS_MAX_MESSAGE_BYTES},
                )
            payload = parse_json_object(raw, what="message")
            correlation = payload.get("id")
            if not self.limiter.allow():
                raise RateLimited(
                    f"more than {settings.MLP_WS_RATE_PER_SECOND:g} messages/s on this connection"
                )
        except PlatformError as error:
            self._reply_in_order(_done(_error_body(error, correlation)))
            return
        await self.slots.acquire()  # back-pressure: stop reading while the window is full
        self._reply_in_order(asyncio.ensure_future(self._answer(payload)))

    async def _answer(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            request = PredictRequest(
                model_ref=self.ref,
                payload=payload,
                protocol=Protocol.WEBSOCKET,
                principal=self.principal,
                request_id=str(payload.get("id") or new_request_id()),
            )
            result = await prediction_executor().predict(request)
            return result.envelope()
        except PlatformError as error:
            return _error_body(error, payload.get("id"))
        except Exception:
            logger.exception("unexpected error on a WebSocket prediction for %s", self.ref)
            return _error_body(InternalError("internal error"), payload.get("id"))
        finally:
            self.slots.release()

    def _reply_in_order(self, body: asyncio.Future[dict[str, Any]]) -> None:
        self.last_reply = asyncio.ensure_future(self._send_after(self.last_reply, body))

    async def _send_after(
        self, previous: asyncio.Task[None] | None, body: asyncio.Future[dict[str, Any]]
    ) -> None:
        reply = await body
        if previous is not None:
            await previous
        await self.send_json(reply)

    async def disconnect(self, code: int) -> None:
        last_reply: asyncio.Task[None] | None = getattr(self, "last_reply", None)
        if last_reply is not None:
            last_reply.cancel()


class FeedConsumer(JsonConsumer):
    """Staff only: a snapshot of recent predictions, then every new one from every process."""

    async def connect(self) -> None:
        principal = self.principal
        if principal is None:
            await self.refuse(self.authentication_error())
            return
        if not principal.is_staff:
            await self.refuse(Forbidden("the live feed is for staff"))
            return
        await self.channel_layer.group_add(FEED_GROUP, self.channel_name)
        self.groups.append(FEED_GROUP)  # discarded on disconnect by the base class
        await self.accept()
        snapshot = await database_sync_to_async(recent_events)(settings.MLP_FEED_SNAPSHOT)
        await self.send_json({"type": "snapshot", "predictions": snapshot})

    async def feed_predictions(self, message: dict[str, Any]) -> None:
        for event in message["events"]:
            await self.send_json(event)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.send_json(
            _error_body(InvalidInput("the feed is read-only; predict on /ws/predict/{ref}/"), None)
        )


def _error_body(error: PlatformError, correlation: Any) -> dict[str, Any]:
    body = error.as_dict()
    if correlation is not None:
        body["id"] = correlation
    return body


def _done(body: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    future.set_result(body)
    return future
