"""The V2 tensor codec: wire forms in, the contract's input forms out, results back to tensors."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest

from mlplatform.errors import InvalidInput
from predictions.schemas import InferenceOutput, PredictionResult
from predictions.v2_codec import (
    Tensor,
    TensorPayload,
    output_tensors,
    payload_from_tensors,
    tensor_from_json,
    tensor_from_raw,
    tensor_raw,
)

FEATURES = ["a", "b"]


def result(output: InferenceOutput) -> PredictionResult:
    return PredictionResult(
        model_ref="m:1", output=output, single=False, cached=False, latency_ms=1.0
    )


@pytest.mark.parametrize(
    ("_case", "tensors", "expected"),
    [
        ("one matrix", [tensor_from_json("x", "FP64", [2, 2], [[1, 2], [3, 4]])], [[1, 2], [3, 4]]),
        ("flat data, 2-d shape", [tensor_from_json("x", "INT32", [2, 2], [1, 2, 3, 4])], [[1, 2], [3, 4]]),
        ("one row as [F]", [tensor_from_json("x", "FP32", [2], [0.1, 0.2])], [[0.1, 0.2]]),
        (
            "one tensor per feature",
            [tensor_from_json("b", "FP64", [2, 1], [3, 4]), tensor_from_json("a", "FP64", [2], [1, 2])],
            [[1, 3], [2, 4]],
        ),
        ("raw little-endian", [tensor_from_raw("x", "FP32", [1, 2], np.array([1.5, 2.5], "<f4").tobytes())], [[1.5, 2.5]]),
    ],
)  # fmt: skip
def test_tabular_tensors_become_rows(_case: str, tensors: list[Tensor], expected: Any) -> None:
    payload = payload_from_tensors(
        TensorPayload(tensors), task="regression", feature_names=FEATURES
    )

    assert payload == {"X": expected}


def test_json_decimals_are_not_rounded_through_float32() -> None:
    tensor = tensor_from_json("x", "FP32", [1, 2], [[5.1, 3.5]])

    assert payload_from_tensors(
        TensorPayload([tensor]), task="regression", feature_names=FEATURES
    ) == {"X": [[5.1, 3.5]]}


def test_bytes_tensors_round_trip_tritons_length_prefixes() -> None:
    raw = struct.pack("<I", 2) + b"hi" + struct.pack("<I", 0) + struct.pack("<I", 3) + b"abc"

    tensor = tensor_from_raw("t", "BYTES", [3], raw)

    assert tensor.data == [b"hi", b"", b"abc"]
    assert tensor_raw(tensor) == raw


@pytest.mark.parametrize(
    ("_case", "make", "message"),
    [
        ("shape and data disagree", lambda: tensor_from_json("x", "FP64", [2, 2], [1, 2, 3]), "needs 4"),
        ("unknown datatype", lambda: tensor_from_json("x", "FP8", [1], [1]), "not supported"),
        ("negative shape", lambda: tensor_from_json("x", "FP64", [-1], [1]), "non-negative"),
        ("not numbers", lambda: tensor_from_json("x", "FP64", [1], ["a"]), "not FP64"),
        ("ragged raw bytes", lambda: tensor_from_raw("x", "FP32", [1], b"\x00\x00\x00"), "whole number"),
        ("truncated BYTES", lambda: tensor_from_raw("x", "BYTES", [1], b"\x05\x00\x00\x00ab"), "overruns"),
        ("BYTES not strings in JSON", lambda: tensor_from_json("x", "BYTES", [1], [1]), "strings"),
    ],
)  # fmt: skip
def test_bad_tensors_are_invalid_input(_case: str, make: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make()


def test_per_feature_tensors_must_name_the_features() -> None:
    tensors = [tensor_from_json("a", "FP64", [1], [1]), tensor_from_json("z", "FP64", [1], [2])]

    with pytest.raises(InvalidInput) as error:
        payload_from_tensors(TensorPayload(tensors), task="regression", feature_names=FEATURES)

    assert error.value.details == {"missing": ["b"], "unknown": ["z"], "features": FEATURES}


def test_texts_and_images_pass_through() -> None:
    texts = tensor_from_raw("t", "BYTES", [1], struct.pack("<I", 2) + b"ok")
    image = Tensor("i", "BYTES", (1,), [b"\x89PNG..."])

    assert payload_from_tensors(TensorPayload([texts]), task="sentiment", feature_names=[]) == {
        "texts": ["ok"]
    }
    assert payload_from_tensors(
        TensorPayload([image], {"top_k": 5}), task="image-classification", feature_names=[]
    ) == {"images": [b"\x89PNG..."], "top_k": 5}


def test_classification_outputs_in_label_order() -> None:
    output = InferenceOutput(
        predictions=["y", "x"], probabilities=[{"x": 0.2, "y": 0.8}, {"x": 0.6, "y": 0.4}]
    )

    label, probabilities = output_tensors(result(output), task="classification", labels=["x", "y"])

    assert (label.shape, label.data) == ((2,), [b"y", b"x"])
    assert probabilities.shape == (2, 2)
    assert probabilities.data.tolist() == [0.2, 0.8, 0.6, 0.4]


def test_requested_outputs_select_and_unknown_ones_fail() -> None:
    output = InferenceOutput(predictions=[{"sentiment_score": 0.5, "classification": "Positive"}])

    (only,) = output_tensors(
        result(output), task="sentiment", labels=[], requested=["classification"]
    )
    with pytest.raises(InvalidInput, match="unknown output"):
        output_tensors(result(output), task="sentiment", labels=[], requested=["nope"])

    assert only.data == [b"Positive"]


def test_image_outputs_are_n_by_k() -> None:
    top = [{"class": "cat", "confidence": 0.7}, {"class": "dog", "confidence": 0.2}]
    output = InferenceOutput(predictions=[top, top])

    classes, confidences = output_tensors(result(output), task="image-classification", labels=[])

    assert classes.shape == confidences.shape == (2, 2)
    assert classes.data == [b"cat", b"dog", b"cat", b"dog"]
