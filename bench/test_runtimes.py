"""Per-row cost of each runtime (`make bench`): sklearn vs its verified ONNX copy, images, text.

Compare rows within one run: the machine is shared and absolute times drift between runs.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sklearn
from PIL import Image

from models_app.conversion import convert_to_onnx
from models_app.runtimes.image_runtime import OnnxImageRuntime
from models_app.runtimes.onnx_runtime import OnnxTabularRuntime, new_session
from models_app.runtimes.sentiment_runtime import VaderRuntime
from models_app.runtimes.sklearn_runtime import SklearnRuntime
from models_app.training import BUILTIN_TABULAR

IMAGENET_ONNX = Path(__file__).resolve().parent.parent / "var" / "build" / "efficientnet_lite0.onnx"
PHOTO = (Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg").read_bytes()


def _runtimes(name: str) -> tuple[Any, Any, np.ndarray]:
    trained = BUILTIN_TABULAR[name]()
    onnx_bytes = convert_to_onnx(trained.estimator, trained.probe)
    assert onnx_bytes is not None
    reference = SklearnRuntime(trained.estimator)
    return reference, OnnxTabularRuntime(new_session(onnx_bytes), reference.labels), trained.probe


@pytest.mark.parametrize("name", sorted(BUILTIN_TABULAR))
@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
def test_one_row(benchmark: Any, name: str, runtime: str) -> None:
    benchmark.group = f"one row: {name}"
    reference, fast, probe = _runtimes(name)
    chosen = reference if runtime == "sklearn" else fast
    row = probe[:1]
    benchmark(chosen.predict, row)


@pytest.mark.parametrize("name", sorted(BUILTIN_TABULAR))
@pytest.mark.parametrize("runtime", ["sklearn", "onnx"])
def test_batch_of_64(benchmark: Any, name: str, runtime: str) -> None:
    benchmark.group = f"64 rows: {name}"
    reference, fast, probe = _runtimes(name)
    chosen = reference if runtime == "sklearn" else fast
    rows = np.resize(probe, (64, probe.shape[1]))
    benchmark(chosen.predict, rows)


def _image_runtime() -> OnnxImageRuntime:
    from models_app.pretrained import imagenet_labels

    return OnnxImageRuntime.from_file(IMAGENET_ONNX, imagenet_labels())


def test_image_end_to_end(benchmark: Any) -> None:
    """Decode + preprocess + ONNX + top-3 for one JPEG photo."""
    benchmark.group = "image"
    runtime = _image_runtime()
    benchmark(runtime.classify, [PHOTO], top_k=3, max_pixels=40_000_000)


def test_image_onnx_only(benchmark: Any) -> None:
    """The raw onnxruntime call on a preprocessed tensor: the floor for image requests."""
    from models_app.runtimes.image_runtime import preprocess

    benchmark.group = "image"
    runtime = _image_runtime()
    tensor = preprocess(Image.open(io.BytesIO(PHOTO)).convert("RGB"))[None]
    benchmark(runtime.session.run, None, {runtime.input_name: tensor})


def test_sentiment_one_text(benchmark: Any) -> None:
    benchmark.group = "sentiment"
    runtime = VaderRuntime()
    benchmark(runtime.analyze, ["I love machine learning!"])
