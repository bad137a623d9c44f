"""Request and result shapes that cross from adapters into the core and back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlplatform.auth import Principal

# Keys of an input object that are never features.
RESERVED_KEYS = frozenset({"id", "token", "model", "top_k", "parameters"})


@dataclass(frozen=True, slots=True)
class PredictRequest:
    """One prediction request as every adapter hands it to the core."""

    model_ref: str
    payload: Mapping[str, Any] | Any  # a JSON object, or a v2_codec.TensorPayload
    protocol: str
    principal: Principal | None
    request_id: str = ""
    # True for an adapter that returns the recorded row (GraphQL createPrediction): the core
    # answers after its commit, with its id, instead of once it is queued.
    wait_for_record: bool = False


@dataclass(frozen=True, slots=True)
class TabularInput:
    rows: np.ndarray
    single: bool

    def summary(self) -> dict[str, Any]:
        return {"X": self.rows.tolist()}


@dataclass(frozen=True, slots=True)
class TextInput:
    texts: list[str]
    single: bool

    def summary(self) -> dict[str, Any]:
        return {"texts": self.texts}


@dataclass(frozen=True, slots=True)
class ImageInput:
    images: list[bytes]
    single: bool
    top_k: int = 3

    def summary(self) -> dict[str, Any]:
        """Images are recorded by size and digest, never stored whole in the database."""
        import hashlib

        return {
            "images": [
                {"bytes": len(img), "sha256": hashlib.sha256(img).hexdigest()}
                for img in self.images
            ],
            "top_k": self.top_k,
        }


ModelInput = TabularInput | TextInput | ImageInput


@dataclass(frozen=True, slots=True)
class InferenceOutput:
    """A runtime's answer for a batch: one item per instance (+ probabilities for classifiers)."""

    predictions: list[Any]
    probabilities: list[dict[str, float]] | None = None


@dataclass(slots=True)
class PredictionResult:
    """The core's answer; `envelope()` is the contract's output shape on every protocol."""

    model_ref: str
    output: InferenceOutput
    single: bool
    cached: bool
    latency_ms: float
    correlation_id: Any = None
    prediction_id: int | None = None  # known at answer time when the row was waited for
    record: Any = None  # the recorded Prediction row, for adapters that return it (GraphQL)
    task: str = ""
    labels: list[str] = field(default_factory=list)

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model_ref, "predictions": self.output.predictions}
        if self.single and self.output.predictions:
            body["prediction"] = self.output.predictions[0]
        if self.output.probabilities is not None:
            body["probabilities"] = self.output.probabilities
        body["cached"] = self.cached
        body["latency_ms"] = round(self.latency_ms, 3)
        if self.correlation_id is not None:
            body["id"] = self.correlation_id
        return body
