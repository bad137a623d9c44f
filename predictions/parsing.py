"""The one input parser: every input form of the contract, validated against the model's schema.

Called only by predictions.service. Every failure is an InvalidInput that names the field and
what was expected, so clients on any protocol can fix their request.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from mlplatform.errors import InvalidInput
from predictions.schemas import RESERVED_KEYS, ImageInput, ModelInput, TabularInput, TextInput
from predictions.v2_codec import TensorPayload, payload_from_tensors

TABULAR_TASKS = frozenset({"regression", "classification"})
MAX_TOP_K = 20


@dataclass(frozen=True, slots=True)
class ModelSchema:
    """What the parser needs to know about a model version."""

    ref: str
    task: str
    feature_names: Sequence[str]


@dataclass(frozen=True, slots=True)
class InputLimits:
    max_batch: int = 1000
    max_image_bytes: int = 10 * 1024 * 1024


def parse_json_object(raw: bytes | str, *, what: str) -> dict[str, Any]:
    """A request body, message or field decoded as a JSON object; `what` names it in errors.

    Every protocol adapter decodes its raw JSON here, so the errors read the same everywhere.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return value


def parse_input(payload: Any, schema: ModelSchema, *, limits: InputLimits) -> ModelInput:
    """Turn a request body into the model's typed input, or raise InvalidInput."""
    if isinstance(payload, TensorPayload):  # V2 tensors become the equivalent contract form
        payload = payload_from_tensors(
            payload, task=schema.task, feature_names=schema.feature_names
        )
    if not isinstance(payload, Mapping):
        raise InvalidInput(
            f"input must be a JSON object, got {_type_name(payload)}",
            details={"expected": "object"},
        )
    _check_correlation_id(payload.get("id"))
    if schema.task in TABULAR_TASKS:
        parsed: ModelInput = _parse_tabular(payload, schema)
    elif schema.task == "sentiment":
        parsed = _parse_texts(payload, schema)
    elif schema.task == "image-classification":
        parsed = _parse_images(payload, schema, limits.max_image_bytes)
    else:
        raise InvalidInput(f"model {schema.ref} has unknown task {schema.task!r}")
    _check_batch_size(batch_length(parsed), limits.max_batch)
    return parsed


def batch_length(parsed: ModelInput) -> int:
    """Instances in a parsed input (rows, texts or images)."""
    if isinstance(parsed, TabularInput):
        return len(parsed.rows)
    if isinstance(parsed, TextInput):
        return len(parsed.texts)
    return len(parsed.images)


BATCH_FORMS = ("X", "instances", "texts", "images")


def claimed_instances(payload: Any) -> int | None:
    """How many instances a request body says it carries, read before it is parsed (to choose
    where it runs, never to validate): the length of its batch list, 1 for a single instance,
    None when its shape does not say (the parser reports what is wrong with it)."""
    if isinstance(payload, TensorPayload):
        return claimed_tensor_instances([tensor.shape for tensor in payload.inputs])
    if not isinstance(payload, Mapping):
        return None
    for form in BATCH_FORMS:
        if form in payload:
            value = payload[form]
            return len(value) if isinstance(value, list) else None
    return 1


def claimed_tensor_instances(shapes: Sequence[Any]) -> int | None:
    """`claimed_instances` for V2 tensors still in their JSON form: the largest leading
    dimension of their shapes (the batch dimension in every V2 form we accept)."""
    dimensions = [_leading_dimension(shape) for shape in shapes]
    if not dimensions or None in dimensions:
        return None
    return max(d for d in dimensions if d is not None)


def _leading_dimension(shape: Any) -> int | None:
    if isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], int):
        return max(shape[0], 1)
    return None


def _check_batch_size(size: int, max_batch: int) -> None:
    if size == 0:
        raise InvalidInput("the batch is empty: send at least one instance")
    if size > max_batch:
        raise InvalidInput(
            f"batch of {size} instances exceeds the limit of {max_batch} (MLP_MAX_BATCH_SIZE)",
            details={"limit": max_batch, "size": size},
        )


# --- tabular --------------------------------------------------------------------------------------


def _parse_tabular(payload: Mapping[str, Any], schema: ModelSchema) -> TabularInput:
    features = list(schema.feature_names)
    if "X" in payload:
        _only_one_form(payload, "X", ("instances",))
        return TabularInput(rows=_rows_from_x(payload["X"], features), single=False)
    if "instances" in payload:
        return TabularInput(rows=_rows_from_instances(payload["instances"], features), single=False)
    _refuse_foreign_forms(payload, schema, ("text", "texts", "image", "images"))
    flat = {k: v for k, v in payload.items() if k not in RESERVED_KEYS}
    if not flat:
        raise InvalidInput(
            f"no input: send 'X', 'instances' or the features {features} of model {schema.ref}",
            details={"expected_features": features},
        )
    row = _row_from_mapping(flat, features, where="input")
    return TabularInput(rows=np.array([row], dtype=np.float64), single=True)


def _rows_from_x(value: Any, features: list[str]) -> np.ndarray:
    if not isinstance(value, list):
        raise InvalidInput(f"'X' must be a list of rows, got {_type_name(value)}")
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list):
            raise InvalidInput(f"X[{i}] must be a list of numbers, got {_type_name(row)}")
        if len(row) != len(features):
            raise InvalidInput(
                f"X[{i}] has {len(row)} values, expected {len(features)} ({', '.join(features)})",
                details={"row": i, "expected_features": features},
            )
        rows.append([_number(v, f"X[{i}][{j}] ({features[j]})") for j, v in enumerate(row)])
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(features))


def _rows_from_instances(value: Any, features: list[str]) -> np.ndarray:
    if not isinstance(value, list):
        raise InvalidInput(f"'instances' must be a list of objects, got {_type_name(value)}")
    rows = []
    for i, instance in enumerate(value):
        if not isinstance(instance, Mapping):
            raise InvalidInput(f"instances[{i}] must be an object, got {_type_name(instance)}")
        rows.append(_row_from_mapping(instance, features, where=f"instances[{i}]"))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(features))


def _row_from_mapping(
    instance: Mapping[str, Any], features: list[str], *, where: str
) -> list[float]:
    missing = [name for name in features if name not in instance]
    unknown = sorted(str(k) for k in instance if k not in features)
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(repr(m) for m in missing)}")
        if unknown:
            parts.append(f"unknown {', '.join(repr(u) for u in unknown)}")
        raise InvalidInput(
            f"{where}: {'; '.join(parts)}; expected features {features}",
            details={"missing": missing, "unknown": unknown, "expected_features": features},
        )
    return [_number(instance[name], f"{where}.{name}") for name in features]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInput(
            f"{where} must be a number, got {_type_name(value)} {_short(value)}",
            details={"field": where},
        )
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInput(
            f"{where} must be a finite number, got {value}", details={"field": where}
        )
    return number


# --- text and images ------------------------------------------------------------------------------


def _parse_texts(payload: Mapping[str, Any], schema: ModelSchema) -> TextInput:
    _refuse_foreign_forms(payload, schema, ("X", "instances", "image", "images"))
    if "texts" in payload:
        _only_one_form(payload, "texts", ("text",))
        texts = payload["texts"]
        if not isinstance(texts, list):
            raise InvalidInput(f"'texts' must be a list of strings, got {_type_name(texts)}")
        for i, text in enumerate(texts):
            _check_text(text, f"texts[{i}]")
        return TextInput(texts=list(texts), single=False)
    if "text" in payload:
        _check_text(payload["text"], "text")
        return TextInput(texts=[payload["text"]], single=True)
    raise InvalidInput(f"model {schema.ref} ({schema.task}) needs 'text' or 'texts'")


def _check_text(value: Any, where: str) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string, got {_type_name(value)}")
    if "\x00" in value:  # text is recorded, and PostgreSQL stores no NUL character
        raise InvalidInput(f"{where} contains a NUL character")


def _check_correlation_id(value: Any) -> None:
    """The echoed `id` is recorded with the output: any JSON value without a NUL character."""
    if _has_nul(value):
        raise InvalidInput("'id' contains a NUL character")


def _has_nul(value: Any) -> bool:
    """Walks without recursion: JSON may nest deeper than Python's recursion limit."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _parse_images(payload: Mapping[str, Any], schema: ModelSchema, max_bytes: int) -> ImageInput:
    _refuse_foreign_forms(payload, schema, ("X", "instances", "text", "texts"))
    top_k = _top_k(payload.get("top_k", 3))
    if "images" in payload:
        _only_one_form(payload, "images", ("image",))
        images = payload["images"]
        if not isinstance(images, list):
            raise InvalidInput(
                f"'images' must be a list of base64 strings, got {_type_name(images)}"
            )
        decoded = [_image_bytes(img, f"images[{i}]", max_bytes) for i, img in enumerate(images)]
        return ImageInput(images=decoded, single=False, top_k=top_k)
    if "image" in payload:
        image = _image_bytes(payload["image"], "image", max_bytes)
        return ImageInput(images=[image], single=True, top_k=top_k)
    raise InvalidInput(f"model {schema.ref} ({schema.task}) needs 'image' or 'images'")


def _image_bytes(value: Any, where: str, max_bytes: int) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    elif isinstance(value, str):
        text = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput(f"{where} is not valid base64: {exc}") from exc
    else:
        raise InvalidInput(f"{where} must be base64-encoded image bytes, got {_type_name(value)}")
    if not data:
        raise InvalidInput(f"{where} is empty")
    if len(data) > max_bytes:
        raise InvalidInput(
            f"{where} is {len(data)} bytes, over the limit of {max_bytes} (MLP_MAX_IMAGE_BYTES)"
        )
    return data


def _top_k(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise InvalidInput(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {_short(value)}")
    return value


# --- helpers --------------------------------------------------------------------------------------


def _only_one_form(payload: Mapping[str, Any], chosen: str, others: Sequence[str]) -> None:
    clash = [key for key in others if key in payload]
    if clash:
        raise InvalidInput(f"send one input form: '{chosen}' and '{clash[0]}' were both given")


def _refuse_foreign_forms(
    payload: Mapping[str, Any], schema: ModelSchema, forms: Sequence[str]
) -> None:
    foreign = [key for key in forms if key in payload]
    if foreign:
        raise InvalidInput(
            f"model {schema.ref} is a {schema.task} model and does not take '{foreign[0]}'",
            details={"task": schema.task},
        )


def _type_name(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    for cls, name in names.items():
        if isinstance(value, cls):
            return name
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
