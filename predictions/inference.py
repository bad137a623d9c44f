"""Runs a parsed input through a model's loaded runtime; called only by predictions.service."""

from __future__ import annotations

from typing import Any

from mlplatform.errors import InternalError, InvalidInput
from models_app.runtimes.base import UnusableInput
from predictions.schemas import ImageInput, InferenceOutput, ModelInput, TabularInput, TextInput


def run_runtime(runtime: Any, model_input: ModelInput, *, max_pixels: int) -> InferenceOutput:
    """Dispatch on the input's kind; runtime failures become `internal` with no internals leaked."""
    try:
        if isinstance(model_input, TabularInput):
            out = runtime.predict(model_input.rows)
            return InferenceOutput(predictions=out.values, probabilities=out.probabilities)
        if isinstance(model_input, TextInput):
            return InferenceOutput(predictions=runtime.analyze(model_input.texts))
        if isinstance(model_input, ImageInput):
            return InferenceOutput(
                predictions=runtime.classify(
                    model_input.images, top_k=model_input.top_k, max_pixels=max_pixels
                )
            )
    except UnusableInput as exc:
        raise InvalidInput(str(exc)) from exc
    except Exception as exc:
        raise InternalError("the model failed to run on this input") from exc
    raise InternalError(f"no runtime path for {type(model_input).__name__}")
