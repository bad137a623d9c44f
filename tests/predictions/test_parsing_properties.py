"""Property: the one parser answers any input with a typed input or a PlatformError, nothing else.

Hypothesis generates arbitrary JSON-like bodies (and V2 tensors) for every task; a crash, a
different exception type or an untyped result fails the test. Derandomised under CI.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlplatform.errors import PlatformError
from predictions.parsing import InputLimits, ModelSchema, parse_input
from predictions.schemas import ImageInput, TabularInput, TextInput
from predictions.v2_codec import Tensor, TensorPayload, tensor_from_json, tensor_from_raw

TASKS = ["regression", "classification", "sentiment", "image-classification"]
KEYS = ["X", "instances", "text", "texts", "image", "images", "top_k", "id", "a", "b", "token"]
LIMITS = InputLimits(max_batch=50, max_image_bytes=20_000)
PROFILE = settings(
    max_examples=400,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.binary(max_size=12)
)
json_like = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
bodies = json_like | st.dictionaries(st.sampled_from(KEYS), json_like, max_size=4)


def check(payload: Any, task: str) -> None:
    schema = ModelSchema(ref="m:1", task=task, feature_names=["a", "b"])
    try:
        parsed = parse_input(payload, schema, limits=LIMITS)
    except PlatformError:
        return
    assert isinstance(parsed, TabularInput | TextInput | ImageInput)


@PROFILE
@given(payload=bodies, task=st.sampled_from(TASKS))
def test_any_body_is_a_typed_input_or_a_platform_error(payload: Any, task: str) -> None:
    check(payload, task)


def decoded(name: str, datatype: str, shape: list[int], data: Any, raw: bool) -> Tensor | None:
    """A tensor as the V2 adapters build it (JSON or binary); None when the decoder refuses."""
    try:
        if raw:
            return tensor_from_raw(
                name, datatype, shape, bytes(data) if isinstance(data, bytes) else b""
            )
        return tensor_from_json(name, datatype, shape, data)
    except PlatformError:
        return None


tensors = st.builds(
    decoded,
    st.sampled_from(["input-0", "a", "b", "text"]),
    st.sampled_from(["FP64", "FP32", "INT64", "BYTES", "BOOL", "FP8"]),
    st.lists(st.integers(min_value=0, max_value=4), max_size=3),
    json_like | st.binary(max_size=40),
    st.booleans(),
).filter(lambda tensor: tensor is not None)


@PROFILE
@given(inputs=st.lists(tensors, max_size=3), task=st.sampled_from(TASKS))
def test_any_v2_tensors_are_a_typed_input_or_a_platform_error(
    inputs: list[Tensor], task: str
) -> None:
    check(TensorPayload(inputs), task)
