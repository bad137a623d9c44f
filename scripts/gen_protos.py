"""Generate the gRPC modules from protos/ into predictions/grpc/gen/ (`make protos`).

Two rewrites after protoc, both for living beside other code in one process:
- imports point into predictions.grpc.gen (protoc would write `from mlplatform.v1 import ...`,
  which is our Django package's name);
- messages register in a private descriptor pool (predictions/grpc/pool.py), so the
  `inference` package cannot collide with tritonclient's copy of the same symbols.
The drift test regenerates into a temporary folder and compares it with what is committed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
PACKAGE = "predictions.grpc.gen"
SOURCES = ["mlplatform/v1/prediction.proto", "inference/open_inference.proto"]
POOL_IMPORT = "from predictions.grpc import pool as _private_pool\n"


def generate(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *SOURCES,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    for path in sorted(out.rglob("*.py*")):
        if path.suffix in (".py", ".pyi"):
            path.write_text(_rewrite(path.read_text()))
    for folder in {p.parent for p in out.rglob("*_pb2.py")} | {out / "mlplatform", out}:
        init = folder / "__init__.py"
        if not init.exists():
            init.write_text("")


def _rewrite(code: str) -> str:
    code = re.sub(
        r"^from (mlplatform\.v1|inference) import", rf"from {PACKAGE}.\1 import", code, flags=re.M
    )
    if "_descriptor_pool.Default()" in code:
        code = code.replace("_descriptor_pool.Default()", "_private_pool.POOL")
        code = code.replace(
            "from google.protobuf import descriptor_pool as _descriptor_pool\n", POOL_IMPORT
        )
    return code


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "predictions" / "grpc" / "gen")
