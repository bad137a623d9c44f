"""Dynamic batching: concurrent requests share model calls, each gets exactly its own answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from mlplatform.errors import InvalidInput
from predictions.batching import ModelBatcher
from predictions.schemas import InferenceOutput, ModelInput, TabularInput, TextInput


class SlowDoubler:
    """A fake model: doubles the first column, takes 20 ms a call, counts calls and batch sizes."""

    def __init__(self, fail_on: float | None = None) -> None:
        self.calls: list[int] = []
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, model_input: ModelInput) -> InferenceOutput:
        assert isinstance(model_input, TabularInput)
        with self.lock:
            self.calls.append(len(model_input.rows))
        time.sleep(0.02)
        if self.fail_on is not None and self.fail_on in model_input.rows[:, 0]:
            raise InvalidInput("poisoned row")
        return InferenceOutput(predictions=[float(r[0] * 2) for r in model_input.rows])


def row(value: float, n: int = 1) -> TabularInput:
    return TabularInput(rows=np.full((n, 2), value), single=False)


def test_a_lone_request_runs_inline_as_itself() -> None:
    model = SlowDoubler()

    output = ModelBatcher(max_size=64, max_wait=0).run(row(3.0), model)

    assert output.predictions == [6.0]
    assert model.calls == [1]


def test_concurrent_requests_share_calls_and_get_their_own_answers() -> None:
    model = SlowDoubler()
    batcher = ModelBatcher(max_size=64, max_wait=0)

    with ThreadPoolExecutor(32) as pool:
        outputs = list(pool.map(lambda v: batcher.run(row(float(v), 2), model), range(64)))

    assert [o.predictions for o in outputs] == [[2.0 * v, 2.0 * v] for v in range(64)]
    assert sum(model.calls) == 128
    assert len(model.calls) < 64 / 2  # far fewer calls than requests
    assert max(model.calls) <= 64


def test_max_wait_gathers_a_batch_before_running() -> None:
    model = SlowDoubler()
    batcher = ModelBatcher(max_size=8, max_wait=0.2)

    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda v: batcher.run(row(float(v)), model), range(8)))

    assert [o.predictions for o in outputs] == [[2.0 * v] for v in range(8)]
    assert model.calls == [8]


def test_a_bad_request_fails_alone() -> None:
    model = SlowDoubler(fail_on=13.0)
    batcher = ModelBatcher(max_size=64, max_wait=0.05)

    def ask(value: int) -> object:
        try:
            return batcher.run(row(float(value)), model).predictions
        except InvalidInput as error:
            return error.message

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(16)))

    assert answers[13] == "poisoned row"
    assert [a for i, a in enumerate(answers) if i != 13] == [
        [2.0 * v] for v in range(16) if v != 13
    ]


def test_inputs_of_different_kinds_are_never_mixed() -> None:
    seen: list[type] = []

    def runner(model_input: ModelInput) -> InferenceOutput:
        seen.append(type(model_input))
        time.sleep(0.01)
        size = (
            len(model_input.rows)
            if isinstance(model_input, TabularInput)
            else len(model_input.texts)
        )  # type: ignore[union-attr]
        return InferenceOutput(predictions=[0] * size)

    batcher = ModelBatcher(max_size=64, max_wait=0.02)
    inputs: list[ModelInput] = [row(1.0), TextInput(texts=["a"], single=True)] * 4
    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(lambda i: batcher.run(i, runner), inputs))

    assert all(o.predictions == [0] for o in outputs)
    assert set(seen) == {TabularInput, TextInput}


@pytest.mark.parametrize("max_size", [1, 3])
def test_batches_never_exceed_max_size(max_size: int) -> None:
    model = SlowDoubler()
    batcher = ModelBatcher(max_size=max_size, max_wait=0)

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(lambda v: batcher.run(row(float(v)), model), range(24)))

    assert max(model.calls) <= max_size
    assert sum(model.calls) == 24
