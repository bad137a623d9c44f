"""Events to WebSocket clients through the Channels layer (Redis), sent only after commit.

Domain code calls `send_event_on_commit(group, message)` (Zulip's `send_event_on_commit`): a
recorded prediction or a job's progress reaches the live feed once it is durable, from any process
(web, gRPC, MQTT bridge, Celery worker). Publishing never blocks or fails the caller: one
background event loop per process owns the layer's Redis connections, and when Redis is down an
event is dropped and logged, since it only mirrors rows that are already stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import Future
from typing import Any

from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_SEND_TIMEOUT_SECONDS = 2.0
_MAX_PENDING = 2000
_LOG_EVERY_SECONDS = 10.0


class EventPublisher:
    """Fire-and-forget `group_send` from any thread, bounded so a dead Redis cannot pile work up."""

    def __init__(self, max_pending: int = _MAX_PENDING) -> None:
        self.max_pending = max_pending
        self.dropped = 0
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="events", daemon=True)
        self._thread.start()
        self._last_warning = 0.0

    def publish(self, group: str, message: dict[str, Any]) -> None:
        with self._lock:
            if self._pending >= self.max_pending:
                self._drop("too many events pending")
                return
            self._pending += 1
        future = asyncio.run_coroutine_threadsafe(self._send(group, message), self._loop)
        future.add_done_callback(self._finished)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every published event was sent or dropped (shutdown, tests)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    async def _send(self, group: str, message: dict[str, Any]) -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        await asyncio.wait_for(layer.group_send(group, message), _SEND_TIMEOUT_SECONDS)

    def _finished(self, future: Future[None]) -> None:
        error = future.exception() if not future.cancelled() else None
        with self._idle:
            self._pending -= 1
            if error is not None:
                self._drop(f"{type(error).__name__}: {error}")
            self._idle.notify_all()

    def _drop(self, reason: str) -> None:
        """Count a lost event; warn at most every few seconds (called with the lock held)."""
        self.dropped += 1
        now = time.monotonic()
        if now - self._last_warning >= _LOG_EVERY_SECONDS:
            self._last_warning = now
            logger.warning("live event dropped (%d so far): %s", self.dropped, reason)


_publisher: EventPublisher | None = None
_publisher_pid: int | None = None
_publisher_lock = threading.Lock()


def publisher() -> EventPublisher:
    """This process's publisher (a forked child, such as a Celery pool process, gets its own)."""
    global _publisher, _publisher_pid
    with _publisher_lock:
        if _publisher is None or _publisher_pid != os.getpid():
            _publisher = EventPublisher()
            _publisher_pid = os.getpid()
        return _publisher


def send_event_on_commit(group: str, message: dict[str, Any]) -> None:
    """Publish once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: publisher().publish(group, message))


def flush_events(timeout: float = 5.0) -> None:
    """At shutdown: let this process's pending events leave (no-op when none were published)."""
    if _publisher is not None and _publisher_pid == os.getpid():
        _publisher.flush(timeout)
