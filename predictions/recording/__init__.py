"""Recording every answered prediction as a `Prediction` row, in bulk, off the request's path.

Two recorders share the SQL (sql.py): `BufferedRecorder` (the default) answers once the row is
queued and a writer thread commits it within a few milliseconds; `GroupCommitRecorder`
(MLP_RECORD_MODE=durable) answers once the row has committed. Both write inline inside an open
transaction (an atomic view, a test). README "Performance" has the measurements behind the default.
"""

from __future__ import annotations

import threading
from typing import Protocol

from django.conf import settings

from predictions.models import Prediction
from predictions.recording.buffered import BufferedRecorder
from predictions.recording.group_commit import GroupCommitRecorder

__all__ = ["BufferedRecorder", "GroupCommitRecorder", "Recorder", "recorder"]


class Recorder(Protocol):
    def record(self, row: Prediction, *, wait: bool = False) -> Prediction: ...

    def queues(self) -> bool:
        """Whether `record` without `wait`, called now on this thread, only queues the row (no
        database call on the caller's thread)."""
        ...

    def pending(self) -> int: ...

    def failing(self) -> BaseException | None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


_recorder: Recorder | None = None
_recorder_lock = threading.Lock()


def recorder() -> Recorder:
    """This process's recorder, made on first use from the settings."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = _from_settings()
        return _recorder


def _from_settings() -> Recorder:
    relaxed = not settings.MLP_RECORD_SYNCHRONOUS_COMMIT
    if settings.MLP_RECORD_MODE == "durable":
        return GroupCommitRecorder(settings.MLP_RECORD_FLUSH_MAX, relaxed_commit=relaxed)
    return BufferedRecorder(
        settings.MLP_RECORD_FLUSH_MAX,
        linger=settings.MLP_RECORD_LINGER_MS / 1000.0,
        max_pending=settings.MLP_RECORD_MAX_PENDING,
        relaxed_commit=relaxed,
    )
