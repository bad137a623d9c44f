"""ImageNet classification on ONNX: decode safely, preprocess like EfficientNet-Lite, top-k."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps, UnidentifiedImageError

from models_app.runtimes.base import UnusableInput
from models_app.runtimes.onnx_runtime import new_session

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
RESIZE_TO = 256
CROP = 224


def load_rgb(data: bytes, *, max_pixels: int) -> Image.Image:
    """Decode an image (first frame, EXIF orientation applied) or raise UnusableInput."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise UnusableInput(
            "not an image in a supported format (JPEG, PNG, WebP, GIF, BMP)"
        ) from None
    if image.format not in ALLOWED_FORMATS:
        raise UnusableInput(f"image format {image.format} is not supported")
    width, height = image.size
    if width * height > max_pixels:
        raise UnusableInput(f"image of {width}x{height} pixels exceeds the limit of {max_pixels}")
    try:
        if image.format == "JPEG":
            image.draft("RGB", (RESIZE_TO, RESIZE_TO))  # let libjpeg downscale while decoding
        image.seek(0)
        rgb = ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, ValueError, SyntaxError) as exc:
        raise UnusableInput(f"the image could not be decoded: {exc}") from None
    return rgb


def preprocess(image: Image.Image) -> np.ndarray:
    """Shorter side to 256 (bilinear), centre crop 224, (rgb - 127) / 128, CHW float32."""
    width, height = image.size
    scale = RESIZE_TO / min(width, height)
    size = (max(CROP, round(width * scale)), max(CROP, round(height * scale)))
    resized = image.resize(size, Image.Resampling.BILINEAR)
    left = (resized.width - CROP) // 2
    top = (resized.height - CROP) // 2
    crop = resized.crop((left, top, left + CROP, top + CROP))
    pixels = (np.asarray(crop, dtype=np.float32) - 127.0) / 128.0
    return pixels.transpose(2, 0, 1)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class OnnxImageRuntime:
    """A batch of images runs as one ONNX call; each gets its top-k classes."""

    kind = "onnx"

    def __init__(self, session: ort.InferenceSession, labels: list[str]) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.labels = labels

    @classmethod
    def from_file(cls, path: str | Path, labels: list[str]) -> OnnxImageRuntime:
        return cls(new_session(path), labels)

    def classify(
        self, images: list[bytes], *, top_k: int, max_pixels: int
    ) -> list[list[dict[str, Any]]]:
        batch = np.stack([preprocess(load_rgb(data, max_pixels=max_pixels)) for data in images])
        logits = self.session.run(None, {self.input_name: batch})[0]
        probabilities = softmax(np.asarray(logits, dtype=np.float64))
        results = []
        for row in probabilities:
            best = np.argsort(row)[::-1][:top_k]
            results.append(
                [{"class": self.labels[i], "confidence": round(float(row[i]), 6)} for i in best]
            )
        return results
