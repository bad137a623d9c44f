"""The live prediction feed: what a recorded Prediction looks like on `/ws/feed/`.

The recorder calls `publish_recorded` inside the transaction that stores the rows, so events
leave only after commit, coalesced every 0.1 s; the feed consumer sends each one to staff clients.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction

from mlplatform.events import publisher
from predictions.models import Prediction

FEED_GROUP = "predictions.feed"
FEED_MESSAGE_TYPE = "feed.predictions"  # -> FeedConsumer.feed_predictions
FEED_INTERVAL = 0.1  # seconds
_MAX_EVENTS_PER_MESSAGE = 200
_MAX_ITEMS = 5
_MAX_TEXT = 80


def publish_recorded(rows: Sequence[Prediction]) -> None:
    """Queue the rows' events once their transaction commits; they leave in coalesced messages."""
    if rows:
        events = [feed_event(r) for r in rows]
        transaction.on_commit(lambda: _coalescer.add(events))


def publish_committed(rows: Sequence[Prediction]) -> None:
    """Queue the events of rows already committed (by an autocommitted INSERT): no transaction
    to wait for, and no need to open this thread's database connection to ask."""
    if rows:
        _coalescer.add([feed_event(r) for r in rows])


class _Coalescer:
    """One channel-layer message per `FEED_INTERVAL` at most, however many predictions commit.

    A group_send costs several Redis round trips; at hundreds of predictions a second, one per
    commit would add hundreds of round trips a second. A live view 0.1 s late is fine.
    """

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def add(self, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self._events.extend(events)
            if self._timer is None:
                self._timer = threading.Timer(FEED_INTERVAL, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
            self._timer = None
        for start in range(0, len(events), _MAX_EVENTS_PER_MESSAGE):
            chunk = events[start : start + _MAX_EVENTS_PER_MESSAGE]
            publisher().publish(FEED_GROUP, {"type": FEED_MESSAGE_TYPE, "events": chunk})


_coalescer = _Coalescer()


def flush_feed() -> None:
    """Send what is buffered now (shutdown)."""
    _coalescer.flush()


def feed_event(row: Prediction) -> dict[str, Any]:
    """A short, display-ready view of one prediction (inputs summarised, long batches cut)."""
    outputs: dict[str, Any] = row.outputs or {}
    items = outputs.get("predictions") or []
    return {
        "type": "prediction",
        "id": row.pk,
        "protocol": row.protocol,
        "model": outputs.get("model", str(row.model_id)),
        "input": summarise_input(row.inputs or {}),
        "output": items[:_MAX_ITEMS],
        "count": len(items),
        "cached": row.cached,
        "latency_ms": round(row.latency_ms, 3),
        "time": row.created_at.isoformat() if row.created_at else None,
    }


def summarise_input(inputs: dict[str, Any]) -> str:
    """'2 rows: [5.1, 3.5, 1.4, 0.2] …', '"great movie"', '1 image (12.3 kB)'."""
    if "X" in inputs:
        rows = inputs["X"]
        first = ", ".join(f"{v:g}" for v in rows[0][:6]) if rows else ""
        more = " …" if len(rows) > 1 or (rows and len(rows[0]) > 6) else ""
        return _cut(f"{_count(len(rows), 'row')}: [{first}]{more}")
    if "texts" in inputs:
        texts = inputs["texts"]
        first = texts[0] if texts else ""
        suffix = f" (+{len(texts) - 1})" if len(texts) > 1 else ""
        return _cut(f'"{first}"') + suffix
    if "images" in inputs:
        images = inputs["images"]
        size = sum(int(i.get("bytes", 0)) for i in images) / 1000.0
        return f"{_count(len(images), 'image')} ({size:.1f} kB)"
    return _cut(str(inputs))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def recent_events(limit: int) -> list[dict[str, Any]]:
    """The newest recorded predictions, oldest first: what a feed client sees on connecting."""
    rows: Iterable[Prediction] = Prediction.objects.order_by("-id")[:limit]
    return [feed_event(row) for row in reversed(list(rows))]
