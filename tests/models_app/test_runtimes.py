"""Runtimes, the ONNX fast path's fidelity, the trust list, and the bounded runtime cache."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from models_app.conversion import convert_to_onnx
from models_app.registry import RuntimeCache
from models_app.runtimes.onnx_runtime import OnnxTabularRuntime, new_session
from models_app.runtimes.sklearn_runtime import SklearnRuntime, UntrustedArtifact, load_estimator
from models_app.training import BUILTIN_TABULAR


@pytest.mark.parametrize("name", sorted(BUILTIN_TABULAR))
def test_onnx_predicts_what_sklearn_predicts(name: str) -> None:
    trained = BUILTIN_TABULAR[name]()
    onnx_bytes = convert_to_onnx(trained.estimator, trained.probe)
    assert onnx_bytes is not None
    reference = SklearnRuntime(trained.estimator)
    fast = OnnxTabularRuntime(new_session(onnx_bytes), reference.labels)

    expected = reference.predict(trained.probe)
    actual = fast.predict(trained.probe)

    if reference.labels:
        assert actual.values == expected.values
        assert actual.probabilities is not None
        assert expected.probabilities is not None
        for got, want in zip(actual.probabilities, expected.probabilities, strict=True):
            assert got == pytest.approx(want, abs=1e-4)
    else:
        assert actual.values == pytest.approx(expected.values, rel=1e-4, abs=1e-3)


def test_skops_artifact_with_a_function_is_refused(tmp_path: Path) -> None:
    estimator = FunctionTransformer(func=os.path.join).fit(np.ones((2, 2)))
    path = tmp_path / "bad.skops"
    sio.dump(estimator, str(path))

    with pytest.raises(UntrustedArtifact, match=r"untrusted types: posixpath\.join"):
        load_estimator(path)


def test_cache_is_bounded_and_least_recently_used_goes_first() -> None:
    cache = RuntimeCache(capacity=2)
    cache.get_or_load("a", lambda: "A")
    cache.get_or_load("b", lambda: "B")
    cache.get_or_load("a", lambda: "A2")  # a is now most recent
    cache.get_or_load("c", lambda: "C")

    assert len(cache) == 2
    assert cache.get_or_load("a", lambda: "reloaded") == "A"
    assert cache.get_or_load("b", lambda: "reloaded") == "reloaded"


def test_concurrent_first_requests_load_once() -> None:
    cache = RuntimeCache(capacity=4)
    loads: list[int] = []

    def slow_loader() -> str:
        loads.append(1)
        time.sleep(0.05)
        return "runtime"

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_load("k", slow_loader)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert loads == [1]
    assert results == ["runtime"] * 8
