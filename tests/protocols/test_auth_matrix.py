"""The authorisation matrix: every principal x every action x every protocol that offers it.

Principals: anonymous, user, staff, an expired token, a tampered token. Each cell asserts the
outcome in the contract's terms (ok, unauthenticated, forbidden) and, on a denial, that nothing
was written (no Prediction row, no model version, no job, no stage or status change).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import jwt
import numpy as np
import pytest
import requests
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from models_app.models import MLModel, ModelStatus, Stage, TrainingJob
from models_app.services import register_trained_model
from models_app.training import train_demo
from predictions.grpc.gen.inference import open_inference_pb2 as v2
from predictions.grpc.gen.inference import open_inference_pb2_grpc as v2_grpc
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc
from predictions.models import Prediction
from tests.conftest import server_environment
from tests.protocols.conftest import Api
from tests.protocols.test_mqtt import PREFIX, Device, run_bridge
from tests.protocols.test_rest_api import skops_regressor, upload
from tests.recorded import never_recorded, recorded
from tests.servers import LOG_DIR, wait_for_log

pytestmark = pytest.mark.e2e

PRINCIPALS = ["anonymous", "user", "staff", "expired", "tampered"]
SETOSA = [5.1, 3.5, 1.4, 0.2]
GRPC_OUTCOME = {
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.PERMISSION_DENIED: "forbidden",
}
HTTP_OUTCOME = {401: "unauthenticated", 403: "forbidden"}


def expected(principal: str, needs: str) -> str:
    if principal in ("anonymous", "expired", "tampered"):
        return "unauthenticated"
    if needs == "staff" and principal == "user":
        return "forbidden"
    return "ok"


def http_outcome(response: requests.Response) -> str:
    return (
        "ok"
        if response.status_code < 300
        else HTTP_OUTCOME.get(response.status_code, str(response.status_code))
    )


def gql_call(
    ctx: dict[str, Any], token: str | None, query: str, variables: dict[str, Any] | None = None
) -> str:
    headers = {"Authorization": f"JWT {token}"} if token else {}
    body = {"query": query, "variables": variables or {}}
    response = requests.post(f"{ctx['web']}/graphql/", json=body, headers=headers, timeout=10)
    return gql_outcome(response.json())


def gql_outcome(body: dict[str, Any]) -> str:
    errors = body.get("errors") or []
    return str(errors[0].get("extensions", {}).get("code")) if errors else "ok"


@pytest.fixture(scope="module")
def tokens(user_jwt: str, staff_jwt: str) -> dict[str, str | None]:
    claims = jwt.decode(user_jwt, options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 60
    expired = jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    tampered = user_jwt[:-4] + ("AAAA" if not user_jwt.endswith("AAAA") else "BBBB")
    return {
        "anonymous": None,
        "user": user_jwt,
        "staff": staff_jwt,
        "expired": expired,
        "tampered": tampered,
    }


@pytest.fixture(scope="module")
def token_bridge(database_url: str) -> Iterator[None]:
    env = {**server_environment(database_url), "MQTT_REQUIRE_TOKEN": "true"}
    with run_bridge(env, "matrix-bridge") as process:
        wait_for_log(LOG_DIR / "matrix-bridge.log", "subscribed to", process, timeout=30)
        time.sleep(0.3)
        yield


# --- predict, on every protocol ---------------------------------------------------------------


def predict_rest(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    headers = {
        "X-Request-ID": request_id,
        **({"Authorization": f"Bearer {token}"} if token else {}),
    }
    return http_outcome(
        requests.post(
            f"{ctx['web']}/api/v1/models/iris/predict/",
            json={"X": [SETOSA]},
            headers=headers,
            timeout=10,
        )
    )


def predict_v2_rest(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    body = {
        "id": request_id,
        "inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 4], "data": SETOSA}],
    }
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http_outcome(
        requests.post(f"{ctx['web']}/v2/models/iris/infer", json=body, headers=headers, timeout=10)
    )


def predict_graphql(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    query = 'mutation($i: JSONString!) { createPrediction(modelName: "iris", inputData: $i) { prediction { id } } }'
    headers = {"X-Request-ID": request_id, **({"Authorization": f"JWT {token}"} if token else {})}
    body = requests.post(
        f"{ctx['web']}/graphql/",
        json={"query": query, "variables": {"i": json.dumps({"X": [SETOSA]})}},
        headers=headers,
        timeout=10,
    ).json()
    return gql_outcome(body)


def predict_soap(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    values = "".join(f"<t:double>{v}</t:double>" for v in SETOSA)
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="urn:mlplatform:v1">'
        f"<soap:Body><t:Predict><t:model>iris</t:model><t:features>{values}</t:features></t:Predict></soap:Body></soap:Envelope>"
    )
    headers = {"Content-Type": "text/xml", "SOAPAction": '"Predict"', "X-Request-ID": request_id}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.post(f"{ctx['web']}/soap/", data=envelope, headers=headers, timeout=10)
    code = re.search(r"<(?:\w+:)?code>([a-z_]+)</", response.text)
    return "ok" if response.status_code == 200 else (code.group(1) if code else response.text[:200])


def predict_websocket(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    url = (
        ctx["web"].replace("http://", "ws://")
        + "/ws/predict/iris/"
        + (f"?token={token}" if token else "")
    )
    try:
        with connect(url) as socket:
            socket.send(json.dumps({"id": request_id, "X": [SETOSA]}))
            reply = json.loads(socket.recv(timeout=10))
    except InvalidStatus as refused:
        return HTTP_OUTCOME.get(refused.response.status_code, str(refused.response.status_code))
    return "ok" if "predictions" in reply else str(reply["error"]["code"])


def grpc_call(call: Callable[[list[tuple[str, str]]], Any], token: str | None) -> str:
    try:
        call([("authorization", f"Bearer {token}")] if token else [])
    except grpc.RpcError as error:
        return GRPC_OUTCOME.get(error.code(), str(error.code()))
    return "ok"


def predict_grpc(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    stub = pb_grpc.PredictionServiceStub(ctx["channel"])
    request = pb.PredictRequest(
        model="iris", id=request_id, rows=pb.Rows(rows=[pb.Row(values=SETOSA)])
    )
    return grpc_call(lambda md: stub.Predict(request, metadata=md, timeout=10), token)


def predict_v2_grpc(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    stub = v2_grpc.GRPCInferenceServiceStub(ctx["channel"])
    tensor = v2.ModelInferRequest.InferInputTensor(name="x", datatype="FP64", shape=[1, 4])
    request = v2.ModelInferRequest(
        model_name="iris",
        id=request_id,
        inputs=[tensor],
        raw_input_contents=[np.asarray(SETOSA, "<f8").tobytes()],
    )
    return grpc_call(lambda md: stub.ModelInfer(request, metadata=md, timeout=10), token)


def predict_mqtt(ctx: dict[str, Any], token: str | None, request_id: str) -> str:
    device: Device = ctx["device"]
    body: dict[str, Any] = {"id": request_id, "X": [[1.0, 2.0]]}
    if token:
        body["token"] = token
    device.publish(f"{PREFIX}/demo/input", body)
    while True:
        reply = json.loads(device.next(timeout=15).payload)
        if reply.get("id") == request_id:
            return "ok" if "predictions" in reply else str(reply["error"]["code"])


PREDICT = {
    "REST": predict_rest,
    "V2 REST": predict_v2_rest,
    "GraphQL": predict_graphql,
    "SOAP": predict_soap,
    "WebSocket": predict_websocket,
    "gRPC": predict_grpc,
    "V2 gRPC": predict_v2_grpc,
    "MQTT": predict_mqtt,
}


@pytest.fixture(scope="module")
def ctx(web_server: str, grpc_server: str, token_bridge: None) -> Iterator[dict[str, Any]]:
    channel = grpc.insecure_channel(grpc_server)
    device = Device()
    device.subscribe(f"{PREFIX}/demo/output")
    yield {"web": web_server, "channel": channel, "device": device}
    device.close()
    channel.close()


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("protocol", list(PREDICT))
def test_predict(
    ctx: dict[str, Any],
    tokens: dict[str, str | None],
    db_reader: None,
    protocol: str,
    principal: str,
) -> None:
    request_id = f"matrix-{uuid.uuid4().hex[:12]}"

    outcome = PREDICT[protocol](ctx, tokens[principal], request_id)

    assert outcome == expected(principal, "user")
    rows = Prediction.objects.filter(request_id=request_id)
    if outcome == "ok":
        assert recorded(rows).count() == 1
    else:
        assert never_recorded(rows)


# --- reading and managing the registry ----------------------------------------------------------


@pytest.fixture
def version(db_reader: None) -> MLModel:
    """A throwaway version to promote or archive, committed so the servers see it."""
    model = register_trained_model(
        name=f"matrix-{uuid.uuid4().hex[:6]}", trained=train_demo(), actor=None, by_platform=True
    )
    return model


def list_models(ctx: dict[str, Any], token: str | None, protocol: str) -> str:
    if protocol == "REST":
        return http_outcome(Api(ctx["web"], token).get("/api/v1/models/"))
    if protocol == "GraphQL":
        return gql_call(ctx, token, "{ allModels { id } }")
    if protocol == "V2 REST":
        return http_outcome(Api(ctx["web"], token).post("/v2/repository/index", json={}))
    if protocol == "gRPC":
        stub = pb_grpc.PredictionServiceStub(ctx["channel"])
        return grpc_call(
            lambda md: stub.ListModels(pb.ListModelsRequest(), metadata=md, timeout=10), token
        )
    stub2 = v2_grpc.GRPCInferenceServiceStub(ctx["channel"])
    return grpc_call(
        lambda md: stub2.RepositoryIndex(v2.RepositoryIndexRequest(), metadata=md, timeout=10),
        token,
    )


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("protocol", ["REST", "GraphQL", "V2 REST", "gRPC", "V2 gRPC"])
def test_list_models(
    ctx: dict[str, Any], tokens: dict[str, str | None], protocol: str, principal: str
) -> None:
    assert list_models(ctx, tokens[principal], protocol) == expected(principal, "user")


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("protocol", ["REST", "GraphQL"])
def test_list_predictions(
    ctx: dict[str, Any], tokens: dict[str, str | None], protocol: str, principal: str
) -> None:
    token = tokens[principal]
    if protocol == "REST":
        outcome = http_outcome(Api(ctx["web"], token).get("/api/v1/predictions/"))
    else:
        outcome = gql_call(ctx, token, "{ predictions(first: 1) { id } }")

    assert outcome == expected(principal, "user")


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_upload(
    ctx: dict[str, Any], tokens: dict[str, str | None], db_reader: None, principal: str
) -> None:
    name = f"matrix-up-{uuid.uuid4().hex[:6]}"

    outcome = http_outcome(
        upload(Api(ctx["web"], tokens[principal]), name, skops_regressor(), "model.skops")
    )

    assert outcome == expected(principal, "staff")
    assert MLModel.objects.filter(name=name).exists() == (outcome == "ok")


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("protocol", ["REST", "GraphQL"])
def test_train(
    ctx: dict[str, Any],
    tokens: dict[str, str | None],
    db_reader: None,
    protocol: str,
    principal: str,
) -> None:
    name, token = f"matrix-train-{uuid.uuid4().hex[:6]}", tokens[principal]
    if protocol == "REST":
        outcome = http_outcome(
            Api(ctx["web"], token).post(
                "/api/v1/training-jobs/",
                json={"name": name, "algorithm": "linear_regression", "dataset": "diabetes"},
            )
        )
    else:
        query = 'mutation($n: String!) { trainModel(name: $n, algorithm: "linear_regression", dataset: "diabetes") { job { id } } }'
        outcome = gql_call(ctx, token, query, {"n": name})

    assert outcome == expected(principal, "staff")
    assert TrainingJob.objects.filter(name=name).exists() == (outcome == "ok")


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("protocol", ["REST", "GraphQL"])
def test_promote(
    ctx: dict[str, Any],
    tokens: dict[str, str | None],
    version: MLModel,
    protocol: str,
    principal: str,
) -> None:
    token = tokens[principal]
    if protocol == "REST":
        outcome = http_outcome(
            Api(ctx["web"], token).patch(
                f"/api/v1/models/{version.ref}/", json={"stage": "staging"}
            )
        )
    else:
        query = (
            'mutation($id: ID!) { promoteModel(id: $id, stage: "staging") { model { id stage } } }'
        )
        outcome = gql_call(ctx, token, query, {"id": str(version.pk)})

    version.refresh_from_db()
    assert outcome == expected(principal, "staff")
    assert version.stage == (Stage.STAGING if outcome == "ok" else Stage.NONE)


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("protocol", ["REST", "GraphQL"])
def test_archive(
    ctx: dict[str, Any],
    tokens: dict[str, str | None],
    version: MLModel,
    protocol: str,
    principal: str,
) -> None:
    token = tokens[principal]
    if protocol == "REST":
        outcome = http_outcome(Api(ctx["web"], token).delete(f"/api/v1/models/{version.ref}/"))
    else:
        query = "mutation($id: ID!) { archiveModel(id: $id) { model { id status } } }"
        outcome = gql_call(ctx, token, query, {"id": str(version.pk)})

    version.refresh_from_db()
    assert outcome == expected(principal, "staff")
    assert version.status == (ModelStatus.ARCHIVED if outcome == "ok" else ModelStatus.READY)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_live_feed(ctx: dict[str, Any], tokens: dict[str, str | None], principal: str) -> None:
    token = tokens[principal]
    url = (
        ctx["web"].replace("http://", "ws://") + "/ws/feed/" + (f"?token={token}" if token else "")
    )
    try:
        with connect(url) as feed:
            outcome = "ok" if json.loads(feed.recv(timeout=10))["type"] == "snapshot" else "?"
    except InvalidStatus as refused:
        outcome = HTTP_OUTCOME.get(refused.response.status_code, str(refused.response.status_code))

    assert outcome == expected(principal, "staff")
