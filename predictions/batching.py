"""Dynamic batching: concurrent requests for one model version run as one vectorised call.

Like Triton's dynamic batcher, but without a scheduler thread (leader/follower): the first
request for a version that finds no batch running becomes the leader and runs everything queued
for that version (up to `max_size` instances per call), including requests that arrived from any
protocol while it worked; the others wait for their slice. Alone, a request runs inline at no
extra cost. With `max_wait` > 0 a leader first waits that long for company (more throughput,
more latency); the default 0 only batches what is already waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from predictions.handover import hand_over
from predictions.schemas import ImageInput, InferenceOutput, ModelInput, TabularInput, TextInput

Runner = Callable[[ModelInput], InferenceOutput]


@dataclass(eq=False)
class _Request:
    model_input: ModelInput
    size: int
    done: threading.Event = field(default_factory=threading.Event)
    promoted: bool = False
    output: InferenceOutput | None = None
    error: BaseException | None = None


class ModelBatcher:
    def __init__(self, *, max_size: int, max_wait: float) -> None:
        self.max_size = max_size
        self.max_wait = max_wait
        self._queue: list[_Request] = []
        self._busy = False
        self._arrived = threading.Condition()

    def run(self, model_input: ModelInput, runner: Runner) -> InferenceOutput:
        request = _Request(model_input, _size(model_input))
        with self._arrived:
            self._queue.append(request)
            lead = not self._busy
            self._busy = True
            self._arrived.notify_all()
        if not lead:
            request.done.wait()
            if not request.promoted:
                return _result(request)
        self._lead(request, runner)
        return _result(request)

    def _lead(self, mine: _Request, runner: Runner) -> None:
        """Run batches until our own request is answered, then hand over to the next waiter."""
        mine.promoted = False
        mine.done.clear()  # only the leader sets it from here on, and we are the leader
        while not mine.done.is_set():
            _execute(self._take_batch(), runner)
        with self._arrived:
            self._busy = hand_over(self._queue)

    def _take_batch(self) -> list[_Request]:
        with self._arrived:
            if self.max_wait > 0:
                deadline = time.monotonic() + self.max_wait
                while sum(r.size for r in self._queue) < self.max_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not self._arrived.wait(remaining):
                        break
            batch: list[_Request] = []
            total = 0
            kind = type(self._queue[0].model_input)
            while self._queue and type(self._queue[0].model_input) is kind:
                nxt = self._queue[0]
                if batch and total + nxt.size > self.max_size:
                    break
                batch.append(self._queue.pop(0))
                total += nxt.size
            return batch


def _execute(batch: list[_Request], runner: Runner) -> None:
    """One call for the batch; if that fails, each request alone: a bad input fails only itself."""
    if len(batch) > 1:
        try:
            output = runner(_combine([r.model_input for r in batch]))
            _split(batch, output)
            return
        except Exception:  # retried one by one below: each request gets its own error
            pass
    for request in batch:
        try:
            request.output = runner(request.model_input)
        except BaseException as exc:  # handed to the caller's thread, raised there
            request.error = exc
        request.done.set()


def _size(model_input: ModelInput) -> int:
    if isinstance(model_input, TabularInput):
        return len(model_input.rows)
    if isinstance(model_input, TextInput):
        return len(model_input.texts)
    return len(model_input.images)


def _combine(inputs: list[ModelInput]) -> ModelInput:
    first = inputs[0]
    if isinstance(first, TabularInput):
        rows = np.vstack([i.rows for i in inputs if isinstance(i, TabularInput)])
        return TabularInput(rows=rows, single=False)
    if isinstance(first, TextInput):
        return TextInput(
            texts=[t for i in inputs if isinstance(i, TextInput) for t in i.texts], single=False
        )
    images = [img for i in inputs if isinstance(i, ImageInput) for img in i.images]
    top_k = max(i.top_k for i in inputs if isinstance(i, ImageInput))
    return ImageInput(images=images, single=False, top_k=top_k)


def _split(batch: list[_Request], output: InferenceOutput) -> None:
    start = 0
    for request in batch:
        end = start + request.size
        predictions = output.predictions[start:end]
        if isinstance(request.model_input, ImageInput):  # each asked for its own top-k
            predictions = [p[: request.model_input.top_k] for p in predictions]
        probabilities = (
            output.probabilities[start:end] if output.probabilities is not None else None
        )
        request.output = InferenceOutput(predictions=predictions, probabilities=probabilities)
        request.done.set()
        start = end


def _result(request: _Request) -> InferenceOutput:
    if request.error is not None:
        raise request.error
    assert request.output is not None
    return request.output


class Batchers:
    """One batcher per model version, created on first use."""

    def __init__(self, *, max_size: int, max_wait: float) -> None:
        self.max_size = max_size
        self.max_wait = max_wait
        self._batchers: dict[Hashable, ModelBatcher] = {}
        self._lock = threading.Lock()

    def for_model(self, key: Hashable) -> ModelBatcher:
        batcher = self._batchers.get(key)
        if batcher is None:
            with self._lock:
                batcher = self._batchers.setdefault(
                    key, ModelBatcher(max_size=self.max_size, max_wait=self.max_wait)
                )
        return batcher
