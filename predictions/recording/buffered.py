"""Buffered recording (MLP_RECORD_MODE=buffered, the default): rows are written off the hot path.

A request queues its row and answers; a writer thread commits what is queued in bulk INSERTs,
lingering MLP_RECORD_LINGER_MS to gather a batch. Waiting for the commit cost a REST request at
concurrency 1 a database round trip: 30% of its latency and 13% of its server CPU (README).

What keeps "never report success for a lost record" true without waiting:
- A row that cannot be written because the database is away stays queued and is written again,
  with a back-off, until the database returns; meanwhile new predictions are refused
  (UNAVAILABLE), so no new success is reported while the writes fail. So is a full queue.
- Ids come from the table's sequence before the first attempt, and the INSERT skips ids that
  exist: writing a batch again after a lost reply never duplicates a row.
- Stopping (lifespan shutdown, SIGTERM of the gRPC server and MQTT bridge, interpreter exit)
  writes everything queued before the process ends.
- A request that needs its row (GraphQL createPrediction returns it) waits for its commit.
What it gives up: a process killed without a stop (SIGKILL, OOM, power) loses the rows of its
last few milliseconds; a row the database rejects (its model deleted meanwhile) is logged and
counted (mlp_prediction_records_lost). MLP_RECORD_MODE=durable answers after the commit instead.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from mlplatform.db_errors import DATABASE_OUTAGE
from mlplatform.errors import Unavailable
from mlplatform.metrics import RECORDS_LOST, RECORDS_PENDING
from predictions.feed import publish_committed
from predictions.models import Prediction
from predictions.recording.inline import record_inline
from predictions.recording.sql import (
    RecorderDatabase,
    insert_predictions,
    reserve_ids,
    write_isolated,
)

logger = logging.getLogger(__name__)

_WAIT_SECONDS = 10.0
_FIRST_RETRY_SECONDS = 0.05


@dataclass(eq=False, slots=True)
class _Queued:
    row: Prediction
    done: threading.Event | None = None  # set for a request that waits for the commit
    error: BaseException | None = None


class BufferedRecorder:
    def __init__(
        self,
        flush_max: int,
        *,
        linger: float,
        max_pending: int,
        relaxed_commit: bool = False,
        max_retry_seconds: float = 1.0,
    ) -> None:
        self.flush_max = flush_max
        self.linger = linger
        self.max_pending = max_pending
        self.max_retry_seconds = max_retry_seconds
        self._queue: deque[_Queued] = deque()
        self._in_flight = 0
        self._waiting = 0  # queued rows whose request waits for the commit
        self._cond = threading.Condition(threading.Lock())
        self._writer: threading.Thread | None = None
        self._writer_idle = False
        self._lingering = False
        self._stopping = False
        self._deadline = 0.0
        self._failure: BaseException | None = None
        self._retry_seconds = _FIRST_RETRY_SECONDS
        self._ids: deque[int] = deque()
        self._database = RecorderDatabase(relaxed_commit=relaxed_commit)
        self._exit_hook = False

    def record(self, row: Prediction, *, wait: bool = False) -> Prediction:
        """Queue `row` for writing (or raise Unavailable); with `wait`, return once it has
        committed, its id set."""
        if connection.in_atomic_block:
            return record_inline(row)
        row.created_at = row.created_at or timezone.now()  # when it was answered, not written
        queued = _Queued(row, threading.Event() if wait else None)
        with self._cond:
            if self._failure is not None:
                raise Unavailable(
                    "predictions cannot be recorded right now (database unavailable); try again"
                ) from self._failure
            if len(self._queue) >= self.max_pending:
                raise Unavailable("too many predictions wait to be recorded; try again")
            self._queue.append(queued)
            self._waiting += wait
            if self._writer is None:
                self._start_writer()
            elif self._writer_idle or (
                self._lingering and (wait or len(self._queue) >= self.flush_max)
            ):
                self._writer_idle = self._lingering = False
                self._cond.notify()
        if queued.done is None:
            return row
        return self._await(queued)

    def queues(self) -> bool:
        return not connection.in_atomic_block  # inside a transaction the row joins it

    def _await(self, queued: _Queued) -> Prediction:
        assert queued.done is not None
        if not queued.done.wait(_WAIT_SECONDS):
            with self._cond:
                if queued in self._queue:  # never taken: it will not be written either
                    self._queue.remove(queued)
                    self._waiting -= 1
                    raise Unavailable("the prediction could not be recorded in time; try again")
            if not queued.done.wait(_WAIT_SECONDS):
                raise Unavailable("the prediction could not be confirmed in time; try again")
        if queued.error is not None:
            raise Unavailable("the prediction could not be recorded; try again") from queued.error
        return queued.row

    def pending(self) -> int:
        """Rows answered (or waited for) and not yet committed."""
        with self._cond:
            return len(self._queue) + self._in_flight

    def failing(self) -> BaseException | None:
        """The error of the last write when the database is away (predictions refused)."""
        return self._failure

    def stop(self, timeout: float = 10.0) -> None:
        """Write everything queued (retrying while the database is away, up to `timeout`), then
        close the recorder's connection; a later `record` starts a new writer."""
        with self._cond:
            writer = self._writer
            self._stopping = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify_all()
        if writer is not None:
            writer.join(timeout + 5.0)
        with self._cond:
            self._stopping = False
            if self._writer is None and self._queue:
                self._give_up()
        self._database.close()

    def _give_up(self) -> None:
        lost = list(self._queue)
        self._queue.clear()
        self._waiting = 0
        RECORDS_LOST.inc(len(lost))
        logger.error(
            "%d answered predictions could not be recorded before stopping (%s); request ids: %s",
            len(lost),
            self._failure,
            ", ".join(q.row.request_id for q in lost[:50]),
        )
        for queued in lost:
            if queued.done is not None:
                queued.error = self._failure or Unavailable("stopped")
                queued.done.set()

    def _start_writer(self) -> None:
        """Call holding the lock."""
        self._writer = threading.Thread(target=self._run, name="prediction-writer", daemon=True)
        self._writer.start()
        if not self._exit_hook:  # management commands and scripts stop without a lifespan
            atexit.register(self.stop)
            self._exit_hook = True

    def _run(self) -> None:
        try:
            while True:
                batch = self._next_batch()
                if batch is None or not self._write(batch):
                    return
        except BaseException:
            logger.exception("the prediction writer stopped; the next record starts another")
            with self._cond:
                self._writer = None
            raise

    def _next_batch(self) -> list[_Queued] | None:
        """Wait for rows, linger for more unless someone waits, take a batch; None to exit."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    self._writer = None
                    return None
                self._writer_idle = True
                self._cond.wait()
            self._writer_idle = False
            if not (self._waiting or self._stopping or len(self._queue) >= self.flush_max):
                self._lingering = True
                self._cond.wait(self.linger)
                self._lingering = False
            batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.flush_max))]
            self._waiting -= sum(1 for queued in batch if queued.done is not None)
            self._in_flight = len(batch)
            RECORDS_PENDING.set(len(self._queue) + len(batch))
        return batch

    def _write(self, batch: list[_Queued]) -> bool:
        """Commit `batch`; False when stopping has run out of time for a database that is away."""
        rows = [queued.row for queued in batch]
        try:
            db = self._database.get()
            self._reserve_ids(rows, db)
            errors = write_isolated(rows, lambda part: insert_predictions(part, db))
        except DATABASE_OUTAGE as exc:
            return self._retry_later(batch, exc)
        except Exception as exc:  # not the rows' fault (they are tried one by one): keep them
            logger.exception("writing %d predictions failed", len(batch))
            return self._retry_later(batch, exc)
        with self._cond:
            self._in_flight = 0
            self._failure = None
            self._retry_seconds = _FIRST_RETRY_SECONDS
            RECORDS_PENDING.set(len(self._queue))
        publish_committed([row for row, error in zip(rows, errors, strict=True) if error is None])
        for queued, error in zip(batch, errors, strict=True):
            queued.error = error
            if queued.done is not None:
                queued.done.set()
        self._report_rejected(batch)
        return True

    def _reserve_ids(self, rows: list[Prediction], db: BaseDatabaseWrapper) -> None:
        """Give each row an id before its first attempt (PostgreSQL), so a retry is idempotent."""
        if db.vendor != "postgresql":
            return
        missing = [row for row in rows if row.pk is None]
        if len(self._ids) < len(missing):
            self._ids.extend(reserve_ids(db, max(len(missing), self.flush_max)))
        for row in missing:
            row.pk = self._ids.popleft()

    def _retry_later(self, batch: list[_Queued], exc: BaseException) -> bool:
        """The database is away: refuse new predictions, keep the answered rows, try again
        after a back-off; False when a stop's deadline has passed (stop reports the rest)."""
        self._database.close()
        answered = [queued for queued in batch if queued.done is None]
        for queued in batch:
            if queued.done is not None:  # not answered yet: its request hears 503 instead
                queued.error = exc
                queued.done.set()
        with self._cond:
            if self._failure is None:
                logger.error(
                    "recording predictions failed, database unavailable: %s; %d answered rows "
                    "kept, new predictions refused until it returns",
                    exc,
                    len(answered) + len(self._queue),
                )
            self._failure = exc
            self._in_flight = 0
            self._queue.extendleft(reversed(answered))
            delay = self._retry_seconds
            self._retry_seconds = min(delay * 2, self.max_retry_seconds)
            if self._stopping:
                if time.monotonic() >= self._deadline:
                    self._writer = None
                    return False
                delay = min(delay, max(self._deadline - time.monotonic(), 0.0))
            self._cond.wait(delay)
        return True

    @staticmethod
    def _report_rejected(batch: list[_Queued]) -> None:
        rejected = [queued for queued in batch if queued.error is not None]
        if not rejected:
            return
        answered = [queued for queued in rejected if queued.done is None]
        if answered:
            RECORDS_LOST.inc(len(answered))
        for queued in rejected:
            logger.error(
                "the database rejected prediction row (request %s, model %s)%s",
                queued.row.request_id,
                queued.row.model_id,
                " after it was answered" if queued.done is None else "",
                exc_info=queued.error,
            )
