"""Validation of uploaded model artifacts before anything is stored (.skops and .onnx only).

Nothing is unpickled: skops loads with a trust list, ONNX is parsed and refused if it points at
external data files. Each check raises InvalidInput with what was wrong.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
import skops.io as sio
from onnx.external_data_helper import uses_external_data
from sklearn.base import is_classifier

from mlplatform.errors import InvalidInput
from models_app.models import Framework, Task
from models_app.runtimes.onnx_runtime import OnnxTabularRuntime, new_session
from models_app.runtimes.sklearn_runtime import EXTRA_TRUSTED_TYPES

MAX_UNCOMPRESSED_RATIO = 50
PROBE_ROWS = 32
UPLOAD_TASKS = (Task.REGRESSION, Task.CLASSIFICATION)


@dataclass
class CheckedArtifact:
    """An artifact that loaded, matched its declared schema and predicted on a probe set."""

    framework: str
    labels: list[str]
    probe: np.ndarray
    estimator: Any = None
    notes: list[str] = field(default_factory=list)


def check_artifact(
    *, filename: str, data: bytes, task: str, feature_names: list[str], labels: list[str]
) -> CheckedArtifact:
    if task not in UPLOAD_TASKS:
        raise InvalidInput(f"uploads support tasks {', '.join(UPLOAD_TASKS)}; got {task!r}")
    if not feature_names:
        raise InvalidInput("feature_names must list the model's input features in order")
    probe = np.random.default_rng(0).normal(size=(PROBE_ROWS, len(feature_names)))
    lowered = filename.lower()
    if lowered.endswith(".skops"):
        return _check_skops(data, task, feature_names, labels, probe)
    if lowered.endswith(".onnx"):
        return _check_onnx(data, task, feature_names, labels, probe)
    raise InvalidInput(
        "artifact must be a .skops (scikit-learn) or .onnx file; pickles are refused"
    )


def _check_skops(
    data: bytes, task: str, features: list[str], labels: list[str], probe: np.ndarray
) -> CheckedArtifact:
    _check_zip(data)
    try:
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:
        raise InvalidInput(f"not a readable .skops file: {exc}") from None
    refused = sorted(untrusted - EXTRA_TRUSTED_TYPES)
    if refused:
        raise InvalidInput(
            f"the .skops file contains untrusted types: {', '.join(refused)}",
            details={"untrusted_types": refused},
        )
    try:
        estimator = sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:
        raise InvalidInput(f"the .skops file could not be loaded: {exc}") from None
    if not hasattr(estimator, "predict"):
        raise InvalidInput(f"{type(estimator).__name__} has no predict method")
    expected = getattr(estimator, "n_features_in_", len(features))
    if expected != len(features):
        raise InvalidInput(
            f"the model takes {expected} features but feature_names lists {len(features)}"
        )
    if is_classifier(estimator) != (task == Task.CLASSIFICATION):
        kind = "a classifier" if is_classifier(estimator) else "not a classifier"
        raise InvalidInput(f"task is {task!r} but {type(estimator).__name__} is {kind}")
    model_labels = labels
    if task == Task.CLASSIFICATION:
        classes = [str(c) for c in estimator.classes_]
        if labels and labels != classes:
            raise InvalidInput(f"labels {labels} differ from the model's classes {classes}")
        model_labels = classes
    try:
        estimator.predict(probe)
    except Exception as exc:
        raise InvalidInput(f"the model failed on a probe batch: {exc}") from None
    return CheckedArtifact(Framework.SKLEARN, model_labels, probe, estimator=estimator)


def _check_zip(data: bytes) -> None:
    """skops files are zip archives: refuse bombs before any member is inflated."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput("not a .skops file (skops files are zip archives)")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inflated = sum(info.file_size for info in archive.infolist())
    if inflated > MAX_UNCOMPRESSED_RATIO * max(len(data), 1024 * 1024):
        raise InvalidInput("the .skops archive inflates far beyond its size (zip bomb refused)")


def _check_onnx(
    data: bytes, task: str, features: list[str], labels: list[str], probe: np.ndarray
) -> CheckedArtifact:
    try:
        model = onnx.load_from_string(data)
    except Exception:
        raise InvalidInput("not a readable .onnx file") from None
    if any(uses_external_data(tensor) for tensor in model.graph.initializer):
        raise InvalidInput("ONNX models with external data files are refused; embed the weights")
    try:
        onnx.checker.check_model(model)
        session = new_session(data)
    except Exception as exc:
        raise InvalidInput(f"the ONNX model is not valid: {exc}") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise InvalidInput(f"the ONNX model must have one input tensor, it has {len(inputs)}")
    width = inputs[0].shape[-1] if inputs[0].shape else None
    if isinstance(width, int) and width != len(features):
        raise InvalidInput(
            f"the model takes {width} features but feature_names lists {len(features)}"
        )
    if task == Task.CLASSIFICATION and not labels:
        raise InvalidInput("labels are required for an ONNX classifier (in probability order)")
    runtime = OnnxTabularRuntime(session, labels if task == Task.CLASSIFICATION else None)
    try:
        output = runtime.predict(probe)
    except Exception as exc:
        raise InvalidInput(f"the model failed on a probe batch: {exc}") from None
    if task == Task.CLASSIFICATION and output.probabilities is None:
        raise InvalidInput("an ONNX classifier must output labels and probabilities")
    return CheckedArtifact(Framework.ONNX, labels, probe)
