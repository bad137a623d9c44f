"""A bounded, thread-safe, per-process cache of loaded runtimes, keyed by model id and artifact.

The inference core asks for a model's runtime on every request; loading happens once per process
(or again after eviction), with one loader per key so concurrent first requests don't load twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings

from mlplatform.errors import InternalError
from mlplatform.metrics import LOADED_MODEL_BYTES, LOADED_MODELS, MODEL_LOAD_SECONDS
from models_app.artifact_files import local_path
from models_app.models import Framework, MLModel, Task
from models_app.runtimes.image_runtime import OnnxImageRuntime
from models_app.runtimes.onnx_runtime import OnnxTabularRuntime
from models_app.runtimes.sentiment_runtime import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    VaderRuntime,
)
from models_app.runtimes.sklearn_runtime import SklearnRuntime

logger = logging.getLogger(__name__)


class RuntimeCache:
    """LRU of loaded runtimes; `get_or_load` loads outside the global lock, once per key."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}

    def get_or_load(
        self, key: Hashable, loader: Callable[[], Any], size: Callable[[], int] = lambda: 0
    ) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            value = loader()
            weight = size()  # only when loading: a stat() per request showed in profiles
            with self._lock:
                self._items[key] = value
                self._sizes[key] = weight
                self._items.move_to_end(key)
                while len(self._items) > self.capacity:
                    evicted, _ = self._items.popitem(last=False)
                    self._sizes.pop(evicted, None)
                self._key_locks.pop(key, None)
                self._publish()
            return value

    def __contains__(self, key: Hashable) -> bool:
        return key in self._items

    def _publish(self) -> None:
        """Update the loaded-model gauges (called with the lock held)."""
        LOADED_MODELS.set(len(self._items))
        LOADED_MODEL_BYTES.set(sum(self._sizes.values()))

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._sizes.clear()
            self._publish()

    def discard(self, predicate: Callable[[Hashable], bool]) -> int:
        """Drop the runtimes whose key matches; returns how many were dropped."""
        with self._lock:
            doomed = [key for key in self._items if predicate(key)]
            for key in doomed:
                del self._items[key]
                self._sizes.pop(key, None)
            self._publish()
            return len(doomed)


_cache = RuntimeCache(settings.MLP_RUNTIME_CACHE_SIZE)


def get_runtime(model: MLModel) -> Any:
    """The loaded runtime of a model version (loaded on first use in this process)."""
    return _cache.get_or_load(
        _runtime_key(model), lambda: _timed_load(model), size=lambda: _artifact_bytes(model)
    )


def is_loaded(model: MLModel) -> bool:
    """Whether `get_runtime` would answer from memory (no artifact read, no load)."""
    return _runtime_key(model) in _cache


def _runtime_key(model: MLModel) -> tuple[Any, str, str]:
    return (model.pk, model.artifact.name, model.serving_artifact.name)


def _timed_load(model: MLModel) -> Any:
    started = time.perf_counter()
    runtime = load_runtime(model)
    MODEL_LOAD_SECONDS.labels(model.name).observe(time.perf_counter() - started)
    return runtime


def _artifact_bytes(model: MLModel) -> int:
    """What a loaded version weighs, approximately: the size of the artifact it was loaded from."""
    field = model.serving_artifact or model.artifact
    try:
        return int(field.size) if field else 0
    except OSError:
        return 0


def unload_runtimes(model_ids: set[int]) -> int:
    """Free the loaded runtimes of these versions in this process (reloaded on next use)."""
    return _cache.discard(lambda key: isinstance(key, tuple) and key[0] in model_ids)


def load_runtime(model: MLModel) -> Any:
    """Build a runtime from the stored artifacts: the verified ONNX copy first, else the source."""
    labels = list(model.labels) or None
    try:
        if model.task == Task.IMAGE_CLASSIFICATION:
            return OnnxImageRuntime.from_file(local_path(model.artifact), list(model.labels))
        if model.task == Task.SENTIMENT and model.framework == Framework.VADER:
            thresholds = model.config.get("thresholds", {})
            return VaderRuntime(
                positive=float(thresholds.get("positive", POSITIVE_THRESHOLD)),
                negative=float(thresholds.get("negative", NEGATIVE_THRESHOLD)),
            )
        if model.serving_artifact:
            return OnnxTabularRuntime.from_file(local_path(model.serving_artifact), labels)
        if model.framework == Framework.SKLEARN:
            return SklearnRuntime.from_file(local_path(model.artifact))
        if model.framework == Framework.ONNX:
            return OnnxTabularRuntime.from_file(local_path(model.artifact), labels)
    except Exception as exc:  # onnxruntime, skops and the OS each raise their own types
        logger.exception("loading model %s failed", model.ref)
        raise InternalError(f"model {model.ref} could not be loaded") from exc
    raise InternalError(f"model {model.ref}: no runtime for framework {model.framework!r}")


def runtime_cache() -> RuntimeCache:
    return _cache
