"""The pretrained built-ins through the core: ImageNet on scikit-learn's photos, VADER sentiment."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
import sklearn
from PIL import Image

from mlplatform.auth import Principal
from mlplatform.errors import ErrorCode, PlatformError
from predictions import service
from predictions.models import Prediction
from predictions.schemas import PredictRequest

PHOTOS = Path(sklearn.__file__).parent / "datasets" / "images"
CHINA = (PHOTOS / "china.jpg").read_bytes()
FLOWER = (PHOTOS / "flower.jpg").read_bytes()


def ask(ref: str, payload: dict[str, Any], principal: Principal) -> Any:
    return service.predict(
        PredictRequest(model_ref=ref, payload=payload, protocol="rest", principal=principal)
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def reencode(data: bytes, fmt: str, **save: Any) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(out, format=fmt, **save)
    return out.getvalue()


def top_class(result: Any, index: int = 0) -> str:
    return str(result.output.predictions[index][0]["class"])


@pytest.mark.parametrize(
    ("_case", "photo", "expected"), [("china", CHINA, "palace"), ("flower", FLOWER, "daisy")]
)
def test_photos_get_their_class(
    _case: str, photo: bytes, expected: str, user_principal: Any
) -> None:
    result = ask("imagenet", {"image": b64(photo)}, user_principal)

    top3 = result.envelope()["prediction"]
    assert result.model_ref == "imagenet:1"
    assert top3[0]["class"] == expected
    assert len(top3) == 3
    assert [set(item) for item in top3] == [{"class", "confidence"}] * 3
    assert top3[0]["confidence"] >= top3[1]["confidence"] >= top3[2]["confidence"] > 0


def test_batch_and_top_k(user_principal: Any) -> None:
    result = ask("imagenet", {"images": [b64(CHINA), b64(FLOWER)], "top_k": 5}, user_principal)

    assert [top_class(result, 0), top_class(result, 1)] == ["palace", "daisy"]
    assert [len(p) for p in result.output.predictions] == [5, 5]
    assert "prediction" not in result.envelope()


@pytest.mark.parametrize(
    ("_case", "data"),
    [
        ("png", reencode(CHINA, "PNG")),
        ("webp", reencode(CHINA, "WEBP", quality=90)),
        ("gif first frame", reencode(CHINA, "GIF")),
    ],
)
def test_common_formats(_case: str, data: bytes, user_principal: Any) -> None:
    assert top_class(ask("imagenet", {"image": b64(data)}, user_principal)) == "palace"


def test_exif_orientation_is_honoured(user_principal: Any) -> None:
    """Pixels stored rotated with an EXIF 'rotate back' tag classify like the upright photo."""
    upright = Image.open(io.BytesIO(CHINA))
    exif = Image.Exif()
    exif[0x0112] = 8  # orientation: rotate 90 CW to display
    stored = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_270).save(stored, format="JPEG", exif=exif, quality=95)

    result = ask("imagenet", {"image": b64(stored.getvalue())}, user_principal)

    assert top_class(result) == "palace"


@pytest.mark.parametrize(
    ("_case", "data", "message"),
    [
        ("not an image", b"hello, I am text", "not an image in a supported format"),
        ("truncated jpeg", CHINA[: len(CHINA) // 2], "the image could not be decoded"),
        ("pdf", b"%PDF-1.4\n" + b"0" * 100, "not an image in a supported format"),
    ],
)
def test_unusable_images_are_invalid_input(
    _case: str, data: bytes, message: str, user_principal: Any
) -> None:
    before = Prediction.objects.count()

    with pytest.raises(PlatformError) as caught:
        ask("imagenet", {"image": b64(data)}, user_principal)

    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert message in caught.value.message
    assert Prediction.objects.count() == before


def test_oversized_image_is_invalid_input(settings: Any, user_principal: Any) -> None:
    settings.MLP_MAX_IMAGE_PIXELS = 100_000  # china.jpg is 640x427 = 273,280 pixels

    with pytest.raises(PlatformError) as caught:
        ask("imagenet", {"image": b64(CHINA)}, user_principal)

    assert caught.value.code is ErrorCode.INVALID_INPUT
    assert caught.value.message == "image of 640x427 pixels exceeds the limit of 100000"


def test_image_is_recorded_by_digest(user_principal: Any) -> None:
    result = ask("imagenet", {"image": b64(FLOWER)}, user_principal)

    row = Prediction.objects.get(pk=result.prediction_id)
    assert row.inputs["images"][0]["bytes"] == len(FLOWER)
    assert row.outputs["prediction"][0]["class"] == "daisy"


@pytest.mark.parametrize(
    ("text", "sign", "label"),
    [
        ("I love machine learning!", 1, "Positive"),
        ("This is the worst API I have ever used.", -1, "Negative"),
        ("The report has three pages.", 0, "Neutral"),
    ],
)
def test_sentiment(text: str, sign: int, label: str, user_principal: Any) -> None:
    prediction = ask("sentiment", {"text": text}, user_principal).envelope()["prediction"]

    assert prediction["classification"] == label
    assert (prediction["sentiment_score"] > 0) - (prediction["sentiment_score"] < 0) == sign


def test_sentiment_scores_match_vader(user_principal: Any) -> None:
    result = ask(
        "sentiment",
        {"texts": ["I love machine learning!", "This is the worst API I have ever used."]},
        user_principal,
    )

    scores = [p["sentiment_score"] for p in result.output.predictions]
    assert scores == pytest.approx([0.6696, -0.6249], abs=1e-4)


def test_sentiment_rejects_features(user_principal: Any) -> None:
    with pytest.raises(PlatformError) as caught:
        ask("sentiment", {"X": [[1.0]]}, user_principal)

    assert caught.value.code is ErrorCode.INVALID_INPUT
