"""Predictions on the event loop itself: which ones may (service.inline_model), and the executor
answering them there without its thread pool."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from mlplatform.auth import Principal
from models_app.selectors import cached_ready_model
from predictions import service
from predictions.executor import PredictionExecutor
from predictions.models import Prediction
from predictions.recording import recorder
from predictions.schemas import PredictRequest
from tests.recorded import recorded

ROW = [5.1, 3.5, 1.4, 0.2]
T = TypeVar("T")


@pytest.fixture
def who(db_reader: None) -> Principal:
    user, _ = get_user_model().objects.get_or_create(username="inline-test")
    return Principal(user_id=user.pk, username=user.username, is_staff=False)


@pytest.fixture
def marker(db_reader: None) -> Iterator[str]:
    marker = f"inline-{uuid.uuid4().hex[:8]}"
    yield marker
    recorder().stop()  # this test's queued rows are written before they are deleted
    Prediction.objects.filter(request_id__startswith=marker).delete()


@pytest.fixture(autouse=True)
def _unmeasured(settings: Any) -> Iterator[None]:
    """No model measured yet, and a limit far above iris's cost even on a loaded machine (the
    tests that are about the limit set their own)."""
    settings.MLP_INLINE_MAX_MS = 1000.0
    service.model_costs().clear()
    yield
    service.model_costs().clear()


def _warm(who: Principal, marker: str, ref: str = "iris") -> None:
    """Predict until the reference stays resolved: the registry listener clears the resolution
    cache when it starts, and on registry changes of earlier tests that reach it late."""
    for _ in range(100):
        service.predict(_request(who, marker, ref))
        time.sleep(0.05)
        if cached_ready_model(ref) is not None:
            return
    raise AssertionError(f"{ref} never stayed resolved")


def _identity(ref: str) -> str:
    model = cached_ready_model(ref)
    assert model is not None
    return service._cache_identity(model)


def _on_a_loop_of_its_own(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a thread of its own: the browser tests' Playwright keeps an event loop
    running on the main thread for the whole session."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _request(who: Principal, marker: str, ref: str = "iris", **extra: Any) -> PredictRequest:
    return PredictRequest(
        model_ref=ref,
        payload={"X": [[v + 0.01 * len(marker) for v in ROW]]},
        protocol="rest",
        principal=who,
        request_id=f"{marker}-{uuid.uuid4().hex[:6]}",
        **extra,
    )


def test_a_model_runs_inline_only_once_measured_cheap(who: Principal, marker: str) -> None:
    request = _request(who, marker)
    assert service.inline_model(request.model_ref, instances=1) is None, (
        "never run here: its cost is unknown"
    )

    _warm(who, marker)  # resolves, loads and measures iris

    model = service.inline_model("iris", instances=1)
    assert model is not None
    assert model.ref == "iris:1"


def test_a_model_dearer_than_the_limit_goes_to_the_pool(
    who: Principal, marker: str, settings: Any
) -> None:
    _warm(who, marker)
    settings.MLP_INLINE_MAX_MS = 0.000001

    assert service.inline_model("iris", instances=1) is None


def test_a_large_request_for_a_cheap_model_goes_to_the_pool(
    who: Principal, marker: str, settings: Any
) -> None:
    """The cost is kept per instance: a request of many rows is judged by its own size, not by
    the average one-row call."""
    _warm(who, marker)
    per_row_ms = service.model_costs().seconds(_identity("iris"), 1) * 1000.0
    settings.MLP_INLINE_MAX_MS = per_row_ms * 10

    assert service.inline_model("iris", instances=5) is not None
    assert service.inline_model("iris", instances=50) is None


def test_a_request_whose_size_is_unknown_goes_to_the_pool(who: Principal, marker: str) -> None:
    _warm(who, marker)

    assert service.inline_model("iris", instances=None) is None


@pytest.mark.parametrize(
    ("_case", "limit_ms", "extra"),
    [("switched off", 0.0, {}), ("the caller waits for its row", 1.0, {"wait_for_record": True})],
)
def test_never_inline_when(
    _case: str, limit_ms: float, extra: dict[str, Any], who: Principal, marker: str, settings: Any
) -> None:
    _warm(who, marker)
    settings.MLP_INLINE_MAX_MS = limit_ms

    assert service.inline_model("iris", instances=1, **extra) is None


def test_never_inline_inside_a_transaction(who: Principal, marker: str) -> None:
    """There the row is written on the caller's connection: a database call."""
    _warm(who, marker)

    with transaction.atomic():
        assert service.inline_model("iris", instances=1) is None


def test_an_unresolved_reference_goes_to_the_pool(who: Principal, marker: str) -> None:
    _warm(who, marker)

    assert service.inline_model("iris:1", instances=1) is None  # not resolved yet


def test_on_the_loop_a_prediction_never_waits_for_a_batch(who: Principal, marker: str) -> None:
    """A pool thread leading a batch for the same model (here: marked busy, as while it runs a
    large request) would make a batched call wait; the loop's call goes past the batcher."""
    _warm(who, marker)
    model = service.inline_model("iris", instances=1)
    assert model is not None
    batcher = service.batchers().for_model(_identity("iris"))
    fresh = dataclasses.replace(
        _request(who, marker),
        payload={"X": [[5.0, 3.4, 1.5, 0.2 + uuid.uuid4().int % 10**6 / 1e8]]},
    )
    answers: list[Any] = []  # a fresh row: a cached answer would not reach the batcher at all
    call = threading.Thread(
        target=lambda: answers.append(service.predict(fresh, model=model)),
        daemon=True,  # if it waits for the batch, the test fails instead of hanging
    )
    batcher._busy = True  # another thread leads: a batched call would queue and wait for it
    try:
        call.start()
        call.join(timeout=30)
    finally:
        batcher._busy = False  # a call left queued is run by the next leader

    assert [answer.output.predictions for answer in answers] == [["setosa"]]


def test_the_executor_sends_a_large_request_to_its_pool(
    who: Principal, marker: str, settings: Any
) -> None:
    """What the body claims decides: one row of iris on the loop, a thousand-row batch of it
    (within MLP_MAX_BATCH_SIZE) not, though it is the same cheap model."""
    executor = PredictionExecutor(threads=1)
    executor.shutdown()
    _warm(who, marker)
    per_row_ms = service.model_costs().seconds(_identity("iris"), 1) * 1000.0
    settings.MLP_INLINE_MAX_MS = per_row_ms * 100
    one = _request(who, marker)
    large = dataclasses.replace(one, payload={"X": one.payload["X"] * 1000})

    async def scenario() -> None:
        await executor.predict(one)
        with pytest.raises(RuntimeError, match="shutdown"):
            await executor.predict(large)

    _on_a_loop_of_its_own(scenario())


def test_the_executor_answers_a_cheap_model_without_its_pool(who: Principal, marker: str) -> None:
    """With its pool shut down, only what runs on the loop can still be answered."""
    executor = PredictionExecutor(threads=1)
    executor.shutdown()
    looped = _request(who, marker)
    _warm(who, marker)  # iris resolved, loaded and measured in this process
    assert service.inline_model(looped.model_ref, instances=1) is not None

    async def scenario() -> Any:
        answer = await executor.predict(looped)
        with pytest.raises(RuntimeError, match="shutdown"):
            await executor.predict(_request(who, marker, ref="demo"))  # never measured
        return answer

    answer = _on_a_loop_of_its_own(scenario())

    assert answer.output.predictions == ["setosa"]
    assert recorded(Prediction.objects.filter(request_id=looped.request_id)).count() == 1


def test_run_for_model_hands_the_resolved_model_to_work_on_the_loop(
    who: Principal, marker: str
) -> None:
    """V2 REST runs its whole infer operation this way: inline it gets the model the check
    resolved; anything else goes to the pool (here shut down, so it fails)."""
    executor = PredictionExecutor(threads=1)
    executor.shutdown()
    _warm(who, marker)

    def operation(prefix: str, *, model: Any) -> str:
        return f"{prefix}{model.ref}"

    async def scenario() -> str:
        answer = await executor.run_for_model("iris", 1, operation, "ran ")
        with pytest.raises(RuntimeError, match="shutdown"):
            await executor.run_for_model(None, 1, operation, "ran ")  # names no model
        return answer

    assert _on_a_loop_of_its_own(scenario()) == "ran iris:1"
