"""mlplatform.v1.PredictionService end to end: the real `manage.py grpcserver`, grpcio clients."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests
from django.conf import settings
from google.protobuf import descriptor_pool, message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from websockets.sync.client import connect

from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc
from predictions.models import Prediction
from tests.recorded import never_recorded, recorded

pytestmark = pytest.mark.e2e

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.9, 4.5, 1.5], [6.9, 3.1, 5.4, 2.1]]
IRIS_LABELS = ["setosa", "versicolor", "virginica"]
GOOD = pb.Features(values=SETOSA)
BAD = pb.Features(values={"a": 1.0})
TEXTS = pb.Texts(texts=["hi"])


@pytest.fixture(scope="module")
def channel(grpc_server: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(grpc_server) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        yield channel


@pytest.fixture(scope="module")
def stub(channel: grpc.Channel) -> pb_grpc.PredictionServiceStub:
    return pb_grpc.PredictionServiceStub(channel)


def bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def rest_predict(base: str, token: str, ref: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = requests.post(
        f"{base}/api/v1/models/{ref}/predict/",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_predict_with_named_features(
    stub: pb_grpc.PredictionServiceStub, user_jwt: str, db_reader: None
) -> None:
    request_id = uuid.uuid4().hex
    request = pb.PredictRequest(model="iris", id=request_id, features=pb.Features(values=SETOSA))

    response = stub.Predict(request, metadata=bearer(user_jwt), timeout=10)

    assert response.model.startswith("iris:")
    assert response.id == request_id
    assert response.predictions[0].label.label == "setosa"
    assert response.predictions[0].label.probabilities["setosa"] > 0.9
    assert json.loads(response.json)["prediction"] == "setosa"
    assert recorded(Prediction.objects.filter(protocol="grpc", request_id=request_id)).count() == 1


@pytest.mark.parametrize(
    ("_case", "model", "request_input", "check"),
    [
        (
            "rows, regression",
            "demo",
            {"rows": pb.Rows(rows=[pb.Row(values=[1.0, 2.0]), pb.Row(values=[3.0, 4.0])])},
            lambda r: [p.number for p in r.predictions] == pytest.approx([1.3, 2.9]),
        ),
        (
            "texts, sentiment",
            "sentiment",
            {"texts": pb.Texts(texts=["I love this!", "This is awful."])},
            lambda r: (
                [p.sentiment.classification for p in r.predictions] == ["Positive", "Negative"]
            ),
        ),
        (
            "json, any contract form",
            "iris",
            {"json": json.dumps({"instances": [SETOSA]})},
            lambda r: r.predictions[0].label.label == "setosa",
        ),
    ],
)
def test_every_input_form(
    stub: pb_grpc.PredictionServiceStub,
    user_jwt: str,
    _case: str,
    model: str,
    request_input: dict[str, Any],
    check: Any,
) -> None:
    response = stub.Predict(
        pb.PredictRequest(model=model, **request_input), metadata=bearer(user_jwt), timeout=10
    )

    assert check(response), response


def test_images_match_rest(
    stub: pb_grpc.PredictionServiceStub, web_server: str, user_jwt: str, photo: bytes
) -> None:
    import base64

    response = stub.Predict(
        pb.PredictRequest(model="imagenet", images=pb.Images(images=[photo], top_k=3)),
        metadata=bearer(user_jwt),
        timeout=30,
    )
    rest = rest_predict(
        web_server, user_jwt, "imagenet", {"image": base64.b64encode(photo).decode()}
    )

    classes = response.predictions[0].classes.classes
    assert [c.class_name for c in classes] == [c["class"] for c in rest["prediction"]]
    assert [c.confidence for c in classes] == pytest.approx(
        [c["confidence"] for c in rest["prediction"]], abs=1e-5
    )


@pytest.mark.parametrize(
    ("_case", "request_kwargs", "token", "code"),
    [
        ("no token", {"model": "iris", "features": GOOD}, None, "UNAUTHENTICATED"),
        ("bad token", {"model": "iris", "features": GOOD}, "x.y.z", "UNAUTHENTICATED"),
        ("unknown model", {"model": "nope", "features": GOOD}, "user", "NOT_FOUND"),
        ("wrong features", {"model": "iris", "features": BAD}, "user", "INVALID_ARGUMENT"),
        ("no input", {"model": "iris"}, "user", "INVALID_ARGUMENT"),
        ("json not an object", {"model": "iris", "json": "[1]"}, "user", "INVALID_ARGUMENT"),
        ("text for iris", {"model": "iris", "texts": TEXTS}, "user", "INVALID_ARGUMENT"),
    ],
)
def test_errors_are_status_codes(
    stub: pb_grpc.PredictionServiceStub,
    user_jwt: str,
    db_reader: None,
    _case: str,
    request_kwargs: dict[str, Any],
    token: str | None,
    code: str,
) -> None:
    request_id = uuid.uuid4().hex
    metadata = bearer(user_jwt if token == "user" else token) if token else None

    with pytest.raises(grpc.RpcError) as failure:
        stub.Predict(
            pb.PredictRequest(id=request_id, **request_kwargs), metadata=metadata, timeout=10
        )

    assert failure.value.code() == getattr(grpc.StatusCode, code)
    assert failure.value.details()
    assert never_recorded(Prediction.objects.filter(request_id=request_id))


def test_predict_stream_answers_100_requests_in_order(
    stub: pb_grpc.PredictionServiceStub, user_jwt: str, db_reader: None
) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(100)]
    requests_ = (
        pb.PredictRequest(
            model="iris", id=request_id, rows=pb.Rows(rows=[pb.Row(values=IRIS_ROWS[i % 3])])
        )
        for i, request_id in enumerate(ids)
    )

    responses = list(stub.PredictStream(requests_, metadata=bearer(user_jwt), timeout=60))

    assert [r.id for r in responses] == ids
    assert [r.predictions[0].label.label for r in responses] == [
        IRIS_LABELS[i % 3] for i in range(100)
    ]
    assert (
        recorded(Prediction.objects.filter(protocol="grpc", request_id__in=ids), 100).count() == 100
    )


def test_a_bad_request_on_a_stream_gets_an_error_and_the_stream_goes_on(
    stub: pb_grpc.PredictionServiceStub, user_jwt: str
) -> None:
    requests_ = [
        pb.PredictRequest(model="iris", id="1", features=pb.Features(values=SETOSA)),
        pb.PredictRequest(model="nope", id="2", features=pb.Features(values=SETOSA)),
        pb.PredictRequest(model="iris", id="3", features=pb.Features(values={"x": 1.0})),
        pb.PredictRequest(model="iris", id="4", features=pb.Features(values=SETOSA)),
    ]

    responses = list(stub.PredictStream(iter(requests_), metadata=bearer(user_jwt), timeout=30))

    assert [r.id for r in responses] == ["1", "2", "3", "4"]
    assert [r.error.code for r in responses] == ["", "model_not_found", "invalid_input", ""]
    assert responses[3].predictions[0].label.label == "setosa"


def test_list_models(stub: pb_grpc.PredictionServiceStub, user_jwt: str) -> None:
    everything = stub.ListModels(pb.ListModelsRequest(), metadata=bearer(user_jwt), timeout=10)
    iris = stub.ListModels(pb.ListModelsRequest(name="iris"), metadata=bearer(user_jwt))

    assert {"demo", "iris", "diabetes", "sentiment", "imagenet"} <= {
        m.name for m in everything.models
    }
    assert [m.name for m in iris.models] == ["iris"] * len(iris.models)
    assert list(iris.models[0].feature_names) == list(SETOSA)
    assert list(iris.models[0].labels) == IRIS_LABELS
    with pytest.raises(grpc.RpcError) as anonymous:
        stub.ListModels(pb.ListModelsRequest(), timeout=10)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_health_service(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)

    for service in ("", "mlplatform.v1.PredictionService", "inference.GRPCInferenceService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING


def test_a_reflection_client_predicts_without_our_stubs(
    channel: grpc.Channel, user_jwt: str
) -> None:
    """What grpcurl does: list services, fetch descriptors, build a request dynamically."""
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    pool = descriptor_pool.DescriptorPool(database)
    method = pool.FindServiceByName("mlplatform.v1.PredictionService").FindMethodByName("Predict")
    request_class = message_factory.GetMessageClass(method.input_type)
    response_class = message_factory.GetMessageClass(method.output_type)
    call = channel.unary_unary(
        "/mlplatform.v1.PredictionService/Predict",
        request_serializer=request_class.SerializeToString,
        response_deserializer=response_class.FromString,
    )

    request = request_class(model="iris", id="reflected")
    request.features.values.update(SETOSA)
    response = call(request, metadata=bearer(user_jwt), timeout=10)

    assert {
        "mlplatform.v1.PredictionService",
        "inference.GRPCInferenceService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    } <= services
    assert response.id == "reflected"
    assert response.predictions[0].label.label == "setosa"


def test_grpc_predictions_appear_on_the_live_feed(
    stub: pb_grpc.PredictionServiceStub, web_server: str, staff_jwt: str, user_jwt: str
) -> None:
    request_id = uuid.uuid4().hex
    feed_url = web_server.replace("http://", "ws://") + f"/ws/feed/?token={staff_jwt}"
    with connect(feed_url) as feed:
        json.loads(feed.recv(timeout=10))  # snapshot
        response = stub.Predict(
            pb.PredictRequest(model="sentiment", id=request_id, texts=pb.Texts(texts=[request_id])),
            metadata=bearer(user_jwt),
            timeout=10,
        )
        while True:
            event = json.loads(feed.recv(timeout=10))
            if request_id in event.get("input", ""):
                break

    assert event["protocol"] == "grpc"
    assert event["model"] == response.model


@pytest.mark.parametrize(
    "method",
    [
        "/mlplatform.v1.PredictionService/Predict",
        "/inference.GRPCInferenceService/ModelInfer",
    ],
)
def test_malformed_protobuf_is_invalid_argument_and_the_server_carries_on(
    channel: grpc.Channel, stub: pb_grpc.PredictionServiceStub, user_jwt: str, method: str
) -> None:
    raw = channel.unary_unary(method)  # no serializers: the bytes go out as they are

    with pytest.raises(grpc.RpcError) as failure:
        raw(b"\xff\xff\xff\x07not protobuf", metadata=bearer(user_jwt), timeout=10)

    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    answer = stub.Predict(
        pb.PredictRequest(model="iris", features=GOOD), metadata=bearer(user_jwt), timeout=10
    )
    assert answer.predictions[0].label.label == "setosa"


def test_an_oversized_message_is_resource_exhausted_and_nothing_is_recorded(
    stub: pb_grpc.PredictionServiceStub, user_jwt: str, db_reader: None
) -> None:
    request_id = f"grpc-big-{uuid.uuid4().hex}"
    too_big = "x" * (settings.MLP_MAX_BODY_BYTES + 1024)  # the server's limit (MLP_MAX_BODY_BYTES)

    with pytest.raises(grpc.RpcError) as failure:
        stub.Predict(
            pb.PredictRequest(model="sentiment", id=request_id, texts=pb.Texts(texts=[too_big])),
            metadata=bearer(user_jwt),
            timeout=30,
        )

    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert never_recorded(Prediction.objects.filter(request_id=request_id))
    answer = stub.Predict(
        pb.PredictRequest(model="iris", features=GOOD), metadata=bearer(user_jwt), timeout=10
    )
    assert answer.predictions[0].label.label == "setosa"
