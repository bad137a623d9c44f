"""A per-process cache of model-reference resolution, so the hot path does no ORM query.

`resolve_ready_model("iris")` costs one to three queries; a prediction should cost none once the
reference is known. Entries live `MLP_MODEL_CACHE_SECONDS` at most, and every registry change
(register, promote, archive) clears them after its commit: at once in this process, and in every
other process through a Redis pub/sub message. If Redis is down the TTL bounds staleness.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from django.conf import settings
from django.db import transaction

from models_app.models import MLModel

logger = logging.getLogger(__name__)


class ResolutionCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, MLModel]] = {}
        self._lock = threading.Lock()

    def get(self, ref: str) -> MLModel | None:
        entry = self._entries.get(ref)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, ref: str, model: MLModel) -> None:
        with self._lock:
            if len(self._entries) > 10_000:  # refs come from clients: keep the map bounded
                self._entries.clear()
            self._entries[ref] = (time.monotonic() + self.ttl, model)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = ResolutionCache(settings.MLP_MODEL_CACHE_SECONDS)
_listener: threading.Thread | None = None
_listener_lock = threading.Lock()


def resolution_cache() -> ResolutionCache:
    _ensure_listener()
    return _cache


def clear_resolution_cache() -> None:
    """Forget every resolved reference in this process (tests roll back what they registered)."""
    _cache.clear()


def registry_changed() -> None:
    """Call inside the transaction that changes which version a reference names."""
    transaction.on_commit(_broadcast)


def _channel() -> str:
    return f"{settings.MLP_CACHE_PREFIX}:registry-changed"


def _broadcast() -> None:
    _cache.clear()
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        client.publish(_channel(), b"1")
        client.close()
    except redis.RedisError as exc:  # other processes fall back to the TTL
        logger.warning("could not broadcast a registry change: %s", exc)


def _ensure_listener() -> None:
    global _listener
    if settings.MLP_MODEL_CACHE_SECONDS <= 0 or (_listener is not None and _listener.is_alive()):
        return
    with _listener_lock:
        if _listener is None or not _listener.is_alive():
            _listener = threading.Thread(target=_listen, name="registry-listener", daemon=True)
            _listener.start()


def _listen() -> None:
    """Clear the cache on every change message; reconnect with back-off when Redis goes away."""
    delay = 1.0
    while True:
        try:
            client: Any = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(_channel())
            _cache.clear()  # changes made while we were not listening
            delay = 1.0
            for message in pubsub.listen():
                if message.get("type") == "message":
                    _cache.clear()
        except redis.RedisError:
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
