"""The Open Inference Protocol (KServe V2) end to end, with clients nobody here wrote: tritonclient.

V2 REST (binary tensor extension, tritonclient.http's default, and plain JSON) on the web process,
V2 gRPC on the gRPC process; results must equal what REST returns for the same input.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import requests
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from predictions.grpc.gen.inference import open_inference_pb2

pytestmark = pytest.mark.e2e

IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.9, 4.5, 1.5], [6.9, 3.1, 5.4, 2.1]]
DIABETES_ROWS = [[0.03, 0.05, 0.06, 0.02, -0.04, -0.03, -0.04, 0.0, 0.02, -0.02]]
TEXTS = ["I love this movie, it is brilliant!", "This was a dreadful waste of time."]


class Client:
    """One interface over tritonclient.http (binary or JSON) and tritonclient.grpc."""

    def __init__(self, kind: str, address: str, token: str) -> None:
        self.kind = kind
        self.token = token
        self.module: Any = triton_grpc if kind == "grpc" else triton_http
        self.client = self.module.InferenceServerClient(address)
        self.binary = kind != "http-json"

    def headers(self) -> dict[str, str]:
        # a fresh dict per call: tritonclient.http writes Inference-Header-Content-Length into it
        return {"authorization": f"Bearer {self.token}"}

    def infer(self, model: str, array: np.ndarray, datatype: str, outputs: list[str]) -> Any:
        tensor = self.module.InferInput("input-0", list(array.shape), datatype)
        requested = [self._output(name) for name in outputs]
        if self.kind == "grpc":
            tensor.set_data_from_numpy(array)
        else:
            tensor.set_data_from_numpy(array, binary_data=self.binary)
        return self.client.infer(model, [tensor], outputs=requested, headers=self.headers())

    def _output(self, name: str) -> Any:
        if self.kind == "grpc":
            return self.module.InferRequestedOutput(name)
        return self.module.InferRequestedOutput(name, binary_data=self.binary)


@pytest.fixture(params=["http-binary", "http-json", "grpc"])
def client(
    request: pytest.FixtureRequest, web_server: str, grpc_server: str, user_jwt: str
) -> Iterator[Client]:
    address = grpc_server if request.param == "grpc" else web_server.removeprefix("http://")
    client = Client(request.param, address, user_jwt)
    yield client
    client.client.close()


def rest(web_server: str, token: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        f"{web_server}/api/v1/models/{ref}/predict/",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_health_and_server_metadata(client: Client) -> None:
    metadata = client.client.get_server_metadata()
    if client.kind == "grpc":
        metadata = {"name": metadata.name, "extensions": list(metadata.extensions)}

    assert client.client.is_server_live()
    assert client.client.is_server_ready()
    assert metadata["name"] == "mlplatform"
    assert "binary_tensor_data" in metadata["extensions"]
    assert "model_repository" in metadata["extensions"]


def test_model_ready_and_metadata(client: Client) -> None:
    ready = client.client.is_model_ready("iris", headers=client.headers())
    versioned = client.client.is_model_ready("iris", "1", headers=client.headers())
    metadata = client.client.get_model_metadata("iris", headers=client.headers())
    if client.kind == "grpc":
        inputs = [(t.name, t.datatype, list(t.shape)) for t in metadata.inputs]
        outputs = [t.name for t in metadata.outputs]
    else:
        inputs = [(t["name"], t["datatype"], t["shape"]) for t in metadata["inputs"]]
        outputs = [t["name"] for t in metadata["outputs"]]

    assert ready
    assert versioned
    assert inputs == [("input-0", "FP64", [-1, 4])]
    assert outputs == ["label", "probabilities"]


@pytest.mark.parametrize("datatype", ["FP32", "FP64"])
def test_iris_classification_equals_rest(
    client: Client, web_server: str, user_jwt: str, datatype: str
) -> None:
    array = np.array(IRIS_ROWS, dtype=np.float32 if datatype == "FP32" else np.float64)

    result = client.infer("iris", array, datatype, ["label", "probabilities"])
    expected = rest(web_server, user_jwt, "iris", {"X": IRIS_ROWS})

    assert [text(label) for label in result.as_numpy("label")] == expected["predictions"]
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (3, 3)
    labels = ("setosa", "versicolor", "virginica")
    table = [[row[label] for label in labels] for row in expected["probabilities"]]
    np.testing.assert_allclose(probabilities, table, atol=1e-5)


def test_diabetes_regression_equals_rest(client: Client, web_server: str, user_jwt: str) -> None:
    result = client.infer("diabetes", np.array(DIABETES_ROWS), "FP64", ["predictions"])
    expected = rest(web_server, user_jwt, "diabetes", {"X": DIABETES_ROWS})

    np.testing.assert_allclose(result.as_numpy("predictions"), expected["predictions"], rtol=1e-6)


def test_sentiment_bytes_equals_rest(client: Client, web_server: str, user_jwt: str) -> None:
    texts = np.array([t.encode() for t in TEXTS], dtype=np.object_)

    result = client.infer("sentiment", texts, "BYTES", ["sentiment_score", "classification"])
    expected = rest(web_server, user_jwt, "sentiment", {"texts": TEXTS})

    assert [text(c) for c in result.as_numpy("classification")] == [
        p["classification"] for p in expected["predictions"]
    ]
    np.testing.assert_allclose(
        result.as_numpy("sentiment_score"), [p["sentiment_score"] for p in expected["predictions"]]
    )


def test_imagenet_bytes_equals_rest(
    client: Client, web_server: str, user_jwt: str, photo: bytes
) -> None:
    if client.kind == "http-json":  # JSON carries BYTES as text: images go base64-encoded
        images = np.array([base64.b64encode(photo)], dtype=np.object_)
    else:
        images = np.array([photo], dtype=np.object_)

    result = client.infer("imagenet", images, "BYTES", ["classes", "confidences"])
    expected = rest(web_server, user_jwt, "imagenet", {"image": base64.b64encode(photo).decode()})

    assert result.as_numpy("classes").shape == (1, 3)
    assert [text(c) for c in result.as_numpy("classes")[0]] == [
        c["class"] for c in expected["prediction"]
    ]
    np.testing.assert_allclose(
        result.as_numpy("confidences")[0],
        [c["confidence"] for c in expected["prediction"]],
        atol=1e-5,
    )


def test_all_outputs_when_none_are_named(client: Client) -> None:
    tensor = client.module.InferInput("input-0", [1, 4], "FP64")
    tensor.set_data_from_numpy(np.array([IRIS_ROWS[2]]))

    result = client.client.infer("iris", [tensor], headers=client.headers())

    assert [text(x) for x in result.as_numpy("label")] == ["virginica"]
    assert result.as_numpy("probabilities").shape == (1, 3)


def test_per_feature_tensors(client: Client) -> None:
    names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    tensors = []
    for i, name in enumerate(names):
        tensor = client.module.InferInput(name, [3], "FP64")
        tensor.set_data_from_numpy(np.array([row[i] for row in IRIS_ROWS]))
        tensors.append(tensor)

    result = client.client.infer("iris", tensors, headers=client.headers())

    assert [text(x) for x in result.as_numpy("label")] == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize(
    ("_case", "model", "make_input", "grpc_code", "http_status"),
    [
        ("unknown model", "no-such-model", lambda m: _iris_input(m), "NOT_FOUND", 404),
        ("wrong width", "iris", lambda m: _numbers(m, (1, 3)), "INVALID_ARGUMENT", 400),
        ("bytes for iris", "iris", lambda m: _bytes(m), "INVALID_ARGUMENT", 400),
        (
            "numbers for sentiment",
            "sentiment",
            lambda m: _numbers(m, (1, 1)),
            "INVALID_ARGUMENT",
            400,
        ),
    ],
)
def test_errors_follow_triton(
    client: Client,
    _case: str,
    model: str,
    make_input: Callable[[Any], Any],
    grpc_code: str,
    http_status: int,
) -> None:
    with pytest.raises(InferenceServerException) as failure:
        client.client.infer(model, [make_input(client.module)], headers=client.headers())

    if client.kind == "grpc":
        assert failure.value.status() == f"StatusCode.{grpc_code}"
    else:
        assert failure.value.status() == str(http_status)
    assert failure.value.message()


def test_a_missing_token_is_unauthenticated(client: Client) -> None:
    with pytest.raises(InferenceServerException) as failure:
        client.client.infer("iris", [_iris_input(client.module)])

    expected = "StatusCode.UNAUTHENTICATED" if client.kind == "grpc" else "401"
    assert failure.value.status() == expected


def test_repository_index_load_and_unload(client: Client, staff_jwt: str) -> None:
    staff = {"authorization": f"Bearer {staff_jwt}"}
    index = client.client.get_model_repository_index(headers=dict(staff))
    if client.kind == "grpc":
        rows = [(m.name, m.version, m.state) for m in index.models]
    else:
        rows = [(m["name"], m["version"], m["state"]) for m in index]

    assert ("iris", "1", "READY") in rows
    client.client.load_model("iris", headers=dict(staff))
    client.client.unload_model("iris", headers=dict(staff))
    assert client.client.is_model_ready("iris", headers=client.headers())  # still servable
    with pytest.raises(InferenceServerException):
        client.client.unload_model("iris", headers=client.headers())  # users may not


def test_grpc_stream_infer_uses_tritons_stream_message(grpc_server: str, user_jwt: str) -> None:
    results: list[Any] = []
    client = triton_grpc.InferenceServerClient(grpc_server)
    client.start_stream(
        callback=lambda result, error: results.append(error or result),
        headers={"authorization": f"Bearer {user_jwt}"},
    )
    for i, row in enumerate(IRIS_ROWS):
        tensor = triton_grpc.InferInput("input-0", [1, 4], "FP64")
        tensor.set_data_from_numpy(np.array([row]))
        client.async_stream_infer("iris", [tensor], request_id=str(i))
    client.stop_stream()
    client.close()

    assert [r.get_response().id for r in results] == ["0", "1", "2"]
    assert [r.as_numpy("label")[0] for r in results] == [b"setosa", b"versicolor", b"virginica"]


def test_our_v2_messages_match_tritons_field_for_field() -> None:
    """Wire compatibility: every message we define has Triton's names, numbers and types."""
    from tritonclient.grpc import service_pb2 as triton

    ours = open_inference_pb2.DESCRIPTOR
    assert ours.package == triton.DESCRIPTOR.package == "inference"
    for name, message in ours.message_types_by_name.items():
        _assert_same_message(message, triton.DESCRIPTOR.message_types_by_name[name])
    their_service = triton.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    for method in ours.services_by_name["GRPCInferenceService"].methods:
        theirs = their_service.methods_by_name[method.name]
        assert method.input_type.full_name == theirs.input_type.full_name
        assert method.output_type.full_name == theirs.output_type.full_name
        assert (method.client_streaming, method.server_streaming) == (
            theirs.client_streaming,
            theirs.server_streaming,
        )


def _assert_same_message(ours: Any, theirs: Any) -> None:
    for field in ours.fields:
        twin = theirs.fields_by_name[field.name]
        assert (field.number, field.type, field.is_repeated) == (
            twin.number,
            twin.type,
            twin.is_repeated,
        ), f"{ours.full_name}.{field.name}"
        if field.message_type is not None:
            assert field.message_type.full_name == twin.message_type.full_name
    for nested in ours.nested_types:
        _assert_same_message(nested, theirs.nested_types_by_name[nested.name])


def _input(module: Any, array: np.ndarray, datatype: str) -> Any:
    tensor = module.InferInput("input-0", list(array.shape), datatype)
    tensor.set_data_from_numpy(array)
    return tensor


def _iris_input(module: Any) -> Any:
    return _input(module, np.array([IRIS_ROWS[0]]), "FP64")


def _numbers(module: Any, shape: tuple[int, ...]) -> Any:
    return _input(module, np.ones(shape), "FP64")


def _bytes(module: Any) -> Any:
    return _input(module, np.array([b"x"], dtype=np.object_), "BYTES")


def text(value: bytes | str) -> str:
    """tritonclient gives BYTES as bytes, except over JSON where it gives str."""
    return value.decode() if isinstance(value, bytes) else value
