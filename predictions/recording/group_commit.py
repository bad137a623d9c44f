"""Durable recording (MLP_RECORD_MODE=durable): a request answers once its row has committed.

Many requests share one bulk INSERT (group commit). There is no writer thread: the first request
that finds no INSERT running becomes the leader and writes everything queued (its own row
included), and requests that arrive meanwhile wait for the next batch, which the next of them
leads (the batcher's leader/follower scheme). Alone, a request writes its row itself without
waking any other thread: a hand-off to a writer thread cost ~80 us of CPU a prediction.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from django.db import connection

from mlplatform.db_errors import DATABASE_OUTAGE
from mlplatform.errors import Unavailable
from predictions.feed import publish_committed
from predictions.handover import hand_over
from predictions.models import Prediction
from predictions.recording.inline import record_inline
from predictions.recording.sql import RecorderDatabase, insert_predictions, write_isolated

logger = logging.getLogger(__name__)

_WAIT_SECONDS = 10.0


@dataclass(eq=False)
class _Pending:
    row: Prediction
    done: threading.Event = field(default_factory=threading.Event)
    promoted: bool = False  # woken to lead the next batch, not because its row was written
    error: BaseException | None = None


class GroupCommitRecorder:
    def __init__(self, flush_max: int, *, relaxed_commit: bool = False) -> None:
        self.flush_max = flush_max
        self._queue: list[_Pending] = []
        self._busy = False  # a leader is writing
        self._lock = threading.Lock()
        self._database = RecorderDatabase(relaxed_commit=relaxed_commit)

    def queues(self) -> bool:
        return False  # every request writes or waits for its row

    def record(self, row: Prediction, *, wait: bool = True) -> Prediction:
        """Persist `row` (its id is set on return) or raise Unavailable; always waits."""
        if connection.in_atomic_block:
            return record_inline(row)
        # Give this thread's database connection back (to the pool, on PostgreSQL) before
        # waiting: request threads holding connections could otherwise starve the pool.
        connection.close_if_unusable_or_obsolete()
        pending = _Pending(row)
        with self._lock:
            self._queue.append(pending)
            lead = not self._busy
            self._busy = True
        if not lead and not self._wait(pending):
            return self._result(pending)
        self._lead(pending)
        return self._result(pending)

    def _wait(self, pending: _Pending) -> bool:
        """Wait for our row's batch; True when we were promoted to lead instead."""
        if not pending.done.wait(_WAIT_SECONDS):
            with self._lock:
                if not pending.promoted:
                    if pending in self._queue:  # never taken: it will not be written either
                        self._queue.remove(pending)
                        raise Unavailable("the prediction could not be recorded in time; try again")
                    raise Unavailable("the prediction could not be confirmed in time; try again")
        return pending.promoted

    def _lead(self, mine: _Pending) -> None:
        """Write batches until our own row is written, then hand over to the next waiter."""
        mine.promoted = False
        mine.done.clear()  # only the leader sets it from here on, and we are the leader
        while not mine.done.is_set():
            with self._lock:
                batch, self._queue = self._queue[: self.flush_max], self._queue[self.flush_max :]
            self._flush(batch)
        with self._lock:
            self._busy = hand_over(self._queue)

    @staticmethod
    def _result(pending: _Pending) -> Prediction:
        if pending.error is not None:
            raise Unavailable("the prediction could not be recorded; try again") from pending.error
        return pending.row

    def pending(self) -> int:
        return len(self._queue)

    def failing(self) -> BaseException | None:
        return None  # a failure is the failing request's own answer, never a later one's

    def stop(self, timeout: float = 10.0) -> None:
        """Wait for the batch being written, then close the recorder's connection (a later
        record opens a new one)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self._busy or time.monotonic() >= deadline:
                    if not self._busy:
                        self._database.close()
                    return
            time.sleep(0.01)

    def _flush(self, batch: list[_Pending]) -> None:
        rows = [p.row for p in batch]
        try:
            errors = write_isolated(rows, self._insert)
        except DATABASE_OUTAGE as exc:  # the database is gone: every row of the batch fails
            errors = [exc] * len(batch)
        for pending, error in zip(batch, errors, strict=True):
            pending.error = error
        written = [p.row for p in batch if p.error is None]
        publish_committed(written)  # after the commit, so never for a lost row
        if len(written) < len(batch):
            logger.error(
                "recording %d of %d predictions failed",
                len(batch) - len(written),
                len(batch),
                exc_info=next(e for e in errors if e is not None),
            )
            self._database.close()  # a broken connection is replaced on the next flush
        for pending in batch:
            pending.done.set()

    def _insert(self, rows: list[Prediction]) -> None:
        insert_predictions(rows, self._database.get())  # one autocommitted statement
