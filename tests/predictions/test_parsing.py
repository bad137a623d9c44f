"""The input parser's text and image forms (their runtimes arrive with the pretrained models)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from mlplatform.errors import InvalidInput
from predictions.parsing import (
    InputLimits,
    ModelSchema,
    claimed_instances,
    claimed_tensor_instances,
    parse_input,
)
from predictions.schemas import ImageInput, TextInput
from predictions.v2_codec import Tensor, TensorPayload

SENTIMENT = ModelSchema(ref="sentiment:1", task="sentiment", feature_names=[])
IMAGES = ModelSchema(ref="imagenet:1", task="image-classification", feature_names=[])
LIMITS = InputLimits(max_batch=10, max_image_bytes=1000)
PNG_BYTES = b"\x89PNG\r\n\x1a\n-not-really"
PNG_B64 = base64.b64encode(PNG_BYTES).decode()


def test_text_is_one_instance() -> None:
    parsed = parse_input({"text": "I love it", "id": 3}, SENTIMENT, limits=LIMITS)

    assert parsed == TextInput(texts=["I love it"], single=True)


def test_texts_is_a_batch() -> None:
    parsed = parse_input({"texts": ["a", "b"]}, SENTIMENT, limits=LIMITS)

    assert parsed == TextInput(texts=["a", "b"], single=False)


@pytest.mark.parametrize(
    ("_case", "payload", "message"),
    [
        ("no text", {"foo": "bar"}, "needs 'text' or 'texts'"),
        ("text not string", {"text": 5}, "text must be a string, got number"),
        ("texts not list", {"texts": "abc"}, "'texts' must be a list of strings"),
        ("texts item", {"texts": ["ok", None]}, "texts[1] must be a string, got null"),
        ("empty texts", {"texts": []}, "the batch is empty"),
        ("too many", {"texts": ["x"] * 11}, "batch of 11 instances exceeds the limit of 10"),
        ("features", {"X": [[1.0]]}, "is a sentiment model and does not take 'X'"),
        ("NUL in text", {"text": "a\x00b"}, "text contains a NUL character"),
        ("NUL in texts", {"texts": ["ok", "\x00"]}, "texts[1] contains a NUL character"),
        ("NUL in id", {"text": "ok", "id": {"k": ["\x00"]}}, "'id' contains a NUL character"),
    ],
)
def test_text_errors(_case: str, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input(payload, SENTIMENT, limits=LIMITS)

    assert message in caught.value.message


@pytest.mark.parametrize(
    ("_case", "payload", "expected"),
    [
        ("base64", {"image": PNG_B64}, ImageInput([PNG_BYTES], single=True)),
        ("data url", {"image": "data:image/png;base64," + PNG_B64}, ImageInput([PNG_BYTES], True)),
        ("raw bytes", {"image": PNG_BYTES}, ImageInput([PNG_BYTES], single=True)),
        ("batch", {"images": [PNG_B64, PNG_B64]}, ImageInput([PNG_BYTES, PNG_BYTES], False)),
        ("top_k", {"image": PNG_B64, "top_k": 5}, ImageInput([PNG_BYTES], True, top_k=5)),
    ],
)
def test_image_forms(_case: str, payload: dict[str, Any], expected: ImageInput) -> None:
    assert parse_input(payload, IMAGES, limits=LIMITS) == expected


@pytest.mark.parametrize(
    ("_case", "payload", "message"),
    [
        ("bad base64", {"image": "not base64!!"}, "image is not valid base64"),
        ("empty", {"image": ""}, "image is empty"),
        ("number", {"image": 12}, "image must be base64-encoded image bytes"),
        ("images not list", {"images": PNG_B64}, "'images' must be a list"),
        ("top_k zero", {"image": PNG_B64, "top_k": 0}, "top_k must be an integer from 1 to 20"),
        ("top_k text", {"image": PNG_B64, "top_k": "3"}, "top_k must be an integer"),
        ("text", {"text": "hi"}, "is a image-classification model and does not take 'text'"),
    ],
)
def test_image_errors(_case: str, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input(payload, IMAGES, limits=LIMITS)

    assert message in caught.value.message


def test_images_are_recorded_by_digest_not_bytes() -> None:
    parsed = parse_input({"image": PNG_B64}, IMAGES, limits=LIMITS)

    summary = parsed.summary()
    assert summary["images"][0]["bytes"] == len(PNG_BYTES)
    assert len(summary["images"][0]["sha256"]) == 64


def test_image_over_the_byte_limit() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_input({"image": b"x" * 1001}, IMAGES, limits=LIMITS)

    assert (
        caught.value.message == "image is 1001 bytes, over the limit of 1000 (MLP_MAX_IMAGE_BYTES)"
    )


@pytest.mark.parametrize(
    ("payload", "claimed"),
    [
        ({"sepal_length": 5.1}, 1),
        ({"text": "good"}, 1),
        ({"X": [[1, 2, 3, 4]] * 7}, 7),
        ({"instances": [{"a": 1}] * 3}, 3),
        ({"texts": ["a", "b"]}, 2),
        ({"images": []}, 0),
        ({"X": "not a list"}, None),
        ([1, 2], None),
        (TensorPayload([Tensor("a", "FP64", (5, 4), None), Tensor("b", "FP64", (2,), None)]), 5),
        (TensorPayload([Tensor("a", "FP64", (), None)]), None),
    ],
)
def test_claimed_instances_reads_the_batch_size_before_parsing(payload: Any, claimed: int) -> None:
    assert claimed_instances(payload) == claimed


@pytest.mark.parametrize(
    ("shapes", "claimed"),
    [([[3, 4]], 3), ([[2], [9, 1]], 9), ([[0, 4]], 1), ([], None), ([None], None), ([["3"]], None)],
)
def test_claimed_tensor_instances_takes_the_leading_dimension(
    shapes: list[Any], claimed: int | None
) -> None:
    assert claimed_tensor_instances(shapes) == claimed
