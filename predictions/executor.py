"""The thread pool where async front-ends (REST fast path, WebSockets, V2 REST) run the core.

The core is synchronous (ORM, runtimes); event loops hand requests here so a slow model never
blocks a loop. One pool per process bounds concurrent inference and database connections. A
prediction that needs neither (a cheap model already loaded, `service.inline_model`) runs on the
loop itself: the hop to a thread and back cost more than the prediction.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections

from predictions import service
from predictions.parsing import claimed_instances
from predictions.schemas import PredictionResult, PredictRequest

T = TypeVar("T")


class PredictionExecutor:
    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="predict")

    async def predict(self, request: PredictRequest) -> PredictionResult:
        """Run `service.predict`: on the loop itself when `service.inline_model` finds it cheap
        and free of blocking calls, else in the pool; raises what it raises (PlatformError)."""
        model = service.inline_model(
            request.model_ref,
            instances=claimed_instances(request.payload),
            wait_for_record=request.wait_for_record,
        )
        if model is not None:
            return service.predict(request, model=model)
        return await self.run(service.predict, request)

    async def run_for_model(
        self, model_ref: str | None, instances: int | None, function: Callable[..., T], *args: Any
    ) -> T:
        """`function(*args, model=...)`, which predicts `instances` with `model_ref`: on the loop
        with the model resolved when `service.inline_model` allows it, else in the pool with
        None."""
        model = (
            service.inline_model(model_ref, instances=instances) if model_ref is not None else None
        )
        if model is not None:
            return function(*args, model=model)
        return await self.run(functools.partial(function, model=None), *args)

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run any synchronous core call (ORM included) in the pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, _call, function, args)

    def shutdown(self) -> None:
        """Wait for in-flight predictions (their records included); accept no new ones."""
        self._pool.shutdown(wait=True)


def _call(function: Callable[..., T], args: tuple[Any, ...]) -> T:
    close_old_connections()  # this thread owns its connection; drop it if broken or too old
    return function(*args)


_executor: PredictionExecutor | None = None
_lock = threading.Lock()


def prediction_executor() -> PredictionExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = PredictionExecutor(settings.MLP_INFERENCE_THREADS)
        return _executor
