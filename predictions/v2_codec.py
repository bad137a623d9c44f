"""Open Inference Protocol (KServe V2) tensors <-> our inputs and results, for REST and gRPC.

Inputs: tabular models take one numeric tensor [N, F] (or [F]), or one tensor per feature named
after it ([N] or [N, 1]); sentiment takes a BYTES tensor of UTF-8 texts; image models a BYTES
tensor of encoded images (base64 strings are accepted too, for JSON clients). Outputs per task:
regression `predictions` FP64 [N]; classification `label` BYTES [N] and `probabilities` FP64
[N, C] (label order in the model metadata); sentiment `sentiment_score` FP64 [N] and
`classification` BYTES [N]; images `classes` BYTES [N, k] and `confidences` FP64 [N, k].
Binary layouts follow Triton: numbers little-endian row-major; BYTES as 4-byte length + bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlplatform.errors import InvalidInput
from predictions.schemas import InferenceOutput, PredictionResult

NUMPY_TYPES: dict[str, str] = {
    "BOOL": "?",
    "UINT8": "<u1",
    "UINT16": "<u2",
    "UINT32": "<u4",
    "UINT64": "<u8",
    "INT8": "<i1",
    "INT16": "<i2",
    "INT32": "<i4",
    "INT64": "<i8",
    "FP16": "<f2",
    "FP32": "<f4",
    "FP64": "<f8",
}
TABULAR_TASKS = frozenset({"regression", "classification"})


@dataclass(frozen=True, slots=True)
class Tensor:
    """A named tensor; `data` is a numpy array of `shape`, or a flat list of bytes for BYTES."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: Any
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1


@dataclass(frozen=True, slots=True)
class TensorPayload:
    """What V2 adapters hand the core as a payload; the parser decodes it with the model schema."""

    inputs: list[Tensor]
    parameters: dict[str, Any] = field(default_factory=dict)


# --- decoding wire forms into Tensors ---------------------------------------------------------


def tensor_from_json(name: str, datatype: str, shape: Sequence[int], data: Any) -> Tensor:
    """A tensor from V2 JSON (`data` flat or nested, row-major)."""
    dims = _shape(shape, name)
    if datatype == "BYTES":
        items = _flatten(data)
        values = [_bytes_item(item, name) for item in items]
        return checked(Tensor(name, datatype, dims, values))
    dtype = _numpy_type(datatype, name)
    if datatype.startswith("FP"):
        dtype = "<f8"  # JSON numbers are decimal: reading them as float32 would round them
    try:
        array = np.asarray(_flatten(data), dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(f"input '{name}': data is not {datatype}: {exc}") from None
    return checked(Tensor(name, datatype, dims, array))


def tensor_from_raw(name: str, datatype: str, shape: Sequence[int], raw: bytes) -> Tensor:
    """A tensor from the binary extension (REST) or `raw_input_contents` (gRPC)."""
    dims = _shape(shape, name)
    if datatype == "BYTES":
        return checked(Tensor(name, datatype, dims, _split_bytes(raw, name)))
    dtype = np.dtype(_numpy_type(datatype, name))
    if len(raw) % dtype.itemsize:
        raise InvalidInput(f"input '{name}': {len(raw)} bytes is not a whole number of {datatype}")
    array = np.frombuffer(raw, dtype=dtype)
    return checked(Tensor(name, datatype, dims, array))


def checked(tensor: Tensor) -> Tensor:
    size = len(tensor.data)
    if size != tensor.count:
        raise InvalidInput(
            f"input '{tensor.name}': shape {list(tensor.shape)} needs {tensor.count} "
            f"element(s), got {size}"
        )
    return tensor


def _shape(shape: Sequence[int], name: str) -> tuple[int, ...]:
    if not isinstance(shape, (list, tuple)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InvalidInput(f"input '{name}': shape must be a list of non-negative integers")
    return tuple(shape)


def _numpy_type(datatype: str, name: str) -> str:
    try:
        return NUMPY_TYPES[datatype]
    except KeyError:
        raise InvalidInput(
            f"input '{name}': datatype {datatype!r} is not supported",
            details={"supported": [*NUMPY_TYPES, "BYTES"]},
        ) from None


def _flatten(data: Any) -> list[Any]:
    if not isinstance(data, list):
        return [data]
    flat: list[Any] = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            flat.append(item)
        else:
            stack.pop()
    return flat


def _bytes_item(item: Any, name: str) -> bytes | str:
    if isinstance(item, str):
        return item  # text, or base64 for images: the parser decides by the model's task
    raise InvalidInput(f"input '{name}': BYTES data must be strings in JSON")


def _split_bytes(raw: bytes, name: str) -> list[bytes]:
    items: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(f"input '{name}': truncated BYTES element length")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise InvalidInput(f"input '{name}': BYTES element overruns the buffer")
        items.append(bytes(raw[offset : offset + length]))
        offset += length
    return items


# --- tensors -> the contract's input forms (called by the parser) ------------------------------


def payload_from_tensors(
    tensors: TensorPayload, *, task: str, feature_names: Sequence[str]
) -> dict[str, Any]:
    """The equivalent contract payload, which the one parser then validates as usual."""
    inputs = tensors.inputs
    if not inputs:
        raise InvalidInput("the request has no inputs")
    top_k = tensors.parameters.get("top_k")
    extra = {"top_k": top_k} if top_k is not None else {}
    if task in TABULAR_TASKS:
        return {"X": _tabular_rows(inputs, feature_names)}
    single = _one_input(inputs, "BYTES")
    if task == "sentiment":
        return {"texts": [_text(item, single.name) for item in single.data], **extra}
    return {"images": list(single.data), **extra}


def _tabular_rows(inputs: list[Tensor], feature_names: Sequence[str]) -> list[list[float]]:
    if len(inputs) == 1:
        tensor = inputs[0]
        array = _numeric(tensor)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        if array.ndim != 2:
            raise InvalidInput(f"input '{tensor.name}': expected shape [N, features] or [features]")
        return array.tolist()
    by_name = {t.name: t for t in inputs}
    missing = [f for f in feature_names if f not in by_name]
    unknown = [n for n in by_name if n not in feature_names]
    if missing or unknown:
        raise InvalidInput(
            "per-feature inputs must be named after the model's features",
            details={"missing": missing, "unknown": unknown, "features": list(feature_names)},
        )
    columns = []
    for feature in feature_names:
        column = _numeric(by_name[feature])
        if column.ndim == 2 and column.shape[1] == 1:
            column = column[:, 0]
        if column.ndim != 1:
            raise InvalidInput(f"input '{feature}': expected shape [N] or [N, 1]")
        columns.append(column)
    if len({len(c) for c in columns}) != 1:
        raise InvalidInput("per-feature inputs must all have the same length")
    return np.column_stack(columns).tolist()


def _numeric(tensor: Tensor) -> np.ndarray:
    if tensor.datatype == "BYTES":
        raise InvalidInput(f"input '{tensor.name}': this model takes numbers, not BYTES")
    try:
        return np.asarray(tensor.data, dtype=np.float64).reshape(tensor.shape)
    except ValueError as exc:  # decoders check shapes; this keeps any other caller honest
        raise InvalidInput(f"input '{tensor.name}': {exc}") from None


def _one_input(inputs: list[Tensor], datatype: str) -> Tensor:
    if len(inputs) != 1 or inputs[0].datatype != datatype:
        raise InvalidInput(f"this model takes exactly one {datatype} input tensor")
    return inputs[0]


def _text(item: bytes | str, name: str) -> str:
    if isinstance(item, str):
        return item
    try:
        return item.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"input '{name}': texts must be UTF-8") from None


# --- results -> output tensors -------------------------------------------------------------------


def output_tensors(
    result: PredictionResult, *, task: str, labels: Sequence[str], requested: Sequence[str] = ()
) -> list[Tensor]:
    """The outputs of the task, in its fixed order, or only those the client asked for."""
    available = _all_outputs(result.output, task, labels)
    if not requested:
        return available
    by_name = {t.name: t for t in available}
    unknown = [name for name in requested if name not in by_name]
    if unknown:
        raise InvalidInput(
            f"unknown output(s) {unknown}", details={"available": [t.name for t in available]}
        )
    return [by_name[name] for name in requested]


def _all_outputs(output: InferenceOutput, task: str, labels: Sequence[str]) -> list[Tensor]:
    items = output.predictions
    n = len(items)
    if task == "regression":
        return [_fp64("predictions", np.asarray(items, dtype=np.float64), (n,))]
    if task == "classification":
        tensors = [Tensor("label", "BYTES", (n,), [str(label).encode() for label in items])]
        if output.probabilities is not None:
            order = list(labels) or list(output.probabilities[0]) if output.probabilities else []
            table = np.asarray(
                [[row.get(label, 0.0) for label in order] for row in output.probabilities],
                dtype=np.float64,
            ).reshape(n, len(order))
            tensors.append(_fp64("probabilities", table, (n, len(order))))
        return tensors
    if task == "sentiment":
        scores = np.asarray([item["sentiment_score"] for item in items], dtype=np.float64)
        kinds = [str(item["classification"]).encode() for item in items]
        return [
            _fp64("sentiment_score", scores, (n,)),
            Tensor("classification", "BYTES", (n,), kinds),
        ]
    k = len(items[0]) if items else 0
    classes = [str(c["class"]).encode() for item in items for c in item]
    confidences = np.asarray([c["confidence"] for item in items for c in item], dtype=np.float64)
    return [
        Tensor("classes", "BYTES", (n, k), classes),
        _fp64("confidences", confidences.reshape(n, k), (n, k)),
    ]


def _fp64(name: str, array: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    return Tensor(name, "FP64", shape, np.ascontiguousarray(array, dtype="<f8").reshape(-1))


def tensor_json_data(tensor: Tensor) -> list[Any]:
    """`data` for V2 JSON: flat, row-major; BYTES as strings."""
    if tensor.datatype == "BYTES":
        return [item.decode("utf-8", "replace") for item in tensor.data]
    return tensor.data.tolist()


def tensor_raw(tensor: Tensor) -> bytes:
    """The binary form (REST binary extension, gRPC raw_output_contents)."""
    if tensor.datatype == "BYTES":
        return b"".join(struct.pack("<I", len(item)) + item for item in tensor.data)
    return bytes(np.ascontiguousarray(tensor.data).tobytes())


# --- metadata ------------------------------------------------------------------------------------


def model_io_metadata(
    *, task: str, feature_names: Sequence[str], labels: Sequence[str]
) -> dict[str, list[dict[str, Any]]]:
    """Input and output tensor metadata of a model (V2 model metadata)."""
    if task in TABULAR_TASKS:
        inputs = [{"name": "input-0", "datatype": "FP64", "shape": [-1, len(feature_names)]}]
    elif task == "sentiment":
        inputs = [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    else:
        inputs = [{"name": "image", "datatype": "BYTES", "shape": [-1]}]
    outputs: list[dict[str, Any]]
    if task == "regression":
        outputs = [{"name": "predictions", "datatype": "FP64", "shape": [-1]}]
    elif task == "classification":
        outputs = [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {"name": "probabilities", "datatype": "FP64", "shape": [-1, len(labels)]},
        ]
    elif task == "sentiment":
        outputs = [
            {"name": "sentiment_score", "datatype": "FP64", "shape": [-1]},
            {"name": "classification", "datatype": "BYTES", "shape": [-1]},
        ]
    else:
        outputs = [
            {"name": "classes", "datatype": "BYTES", "shape": [-1, -1]},
            {"name": "confidences", "datatype": "FP64", "shape": [-1, -1]},
        ]
    return {"inputs": inputs, "outputs": outputs}
