"""sklearn -> ONNX conversion for the fast path, kept only when it predicts what sklearn does."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from skl2onnx import to_onnx

from models_app.runtimes.onnx_runtime import OnnxTabularRuntime, new_session
from models_app.runtimes.sklearn_runtime import SklearnRuntime

logger = logging.getLogger(__name__)

REGRESSION_RTOL = 1e-4
REGRESSION_ATOL = 1e-3
PROBABILITY_ATOL = 1e-4


def convert_to_onnx(estimator: Any, probe: np.ndarray) -> bytes | None:
    """ONNX bytes predicting like the estimator on `probe`, else None (stay on sklearn)."""
    sample = probe[:1].astype(np.float32)
    try:
        options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "classes_") else None
        onnx_bytes: bytes = to_onnx(estimator, sample, options=options).SerializeToString()
    except Exception as exc:  # skl2onnx raises many types for unsupported estimators
        logger.info("no ONNX conversion for %s: %s", type(estimator).__name__, exc)
        return None
    if not predictions_match(estimator, onnx_bytes, probe):
        logger.warning("ONNX conversion of %s disagrees with sklearn", type(estimator).__name__)
        return None
    return onnx_bytes


def predictions_match(estimator: Any, onnx_bytes: bytes, probe: np.ndarray) -> bool:
    reference = SklearnRuntime(estimator)
    candidate = OnnxTabularRuntime(new_session(onnx_bytes), reference.labels)
    expected = reference.predict(probe)
    actual = candidate.predict(probe)
    if reference.labels is None:
        return bool(
            np.allclose(actual.values, expected.values, rtol=REGRESSION_RTOL, atol=REGRESSION_ATOL)
        )
    if actual.values != expected.values:
        return False
    if expected.probabilities is None or actual.probabilities is None:
        return expected.probabilities is actual.probabilities
    labels = reference.labels
    exp = np.array([[row[label] for label in labels] for row in expected.probabilities])
    act = np.array([[row[label] for label in labels] for row in actual.probabilities])
    return bool(np.allclose(act, exp, atol=PROBABILITY_ATOL))
