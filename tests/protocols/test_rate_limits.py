"""Per-user, per-protocol request rates from settings, answered in each protocol's idiom."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import requests
from websockets.sync.client import connect

from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc
from predictions.models import Prediction
from tests.conftest import server_environment
from tests.recorded import recorded
from tests.servers import run_grpc_server, run_web_server

pytestmark = pytest.mark.e2e

LIMITED = {"MLP_RATE_LIMIT": "3/s", "MLP_RATE_LIMITS": "graphql=1/min"}
SETOSA = [5.1, 3.5, 1.4, 0.2]


@pytest.fixture(scope="module")
def limited(database_url: str) -> Iterator[dict[str, str]]:
    env = {**server_environment(database_url), **LIMITED}
    with run_web_server(env) as web, run_grpc_server(env, name="grpc-limited") as address:
        yield {"web": web, "grpc": address}


def test_rest_answers_429_past_the_rate_and_records_nothing_for_it(
    limited: dict[str, str], user_jwt: str, db_reader: None
) -> None:
    ids = [f"rate-{uuid.uuid4().hex[:10]}" for _ in range(8)]
    answers = [
        requests.post(
            f"{limited['web']}/api/v1/models/iris/predict/",
            json={"X": [SETOSA]},
            headers={"Authorization": f"Bearer {user_jwt}", "X-Request-ID": request_id},
            timeout=10,
        )
        for request_id in ids
    ]

    refused = [a for a in answers if a.status_code == 429]
    assert 1 <= len(refused) <= 5
    assert {a.status_code for a in answers} == {200, 429}
    assert refused[0].json()["error"]["code"] == "rate_limited"
    assert refused[0].json()["error"]["details"]["retry_after_seconds"] > 0
    answered = {i for i, a in zip(ids, answers, strict=True) if a.status_code == 200}
    rows = recorded(Prediction.objects.filter(request_id__in=ids), len(answered))
    assert set(rows.values_list("request_id", flat=True)) == answered


def test_grpc_answers_resource_exhausted(limited: dict[str, str], user_jwt: str) -> None:
    stub = pb_grpc.PredictionServiceStub(grpc.insecure_channel(limited["grpc"]))
    codes = []
    for _ in range(8):
        try:
            stub.Predict(
                pb.PredictRequest(model="iris", rows=pb.Rows(rows=[pb.Row(values=SETOSA)])),
                metadata=[("authorization", f"Bearer {user_jwt}")],
                timeout=10,
            )
            codes.append(grpc.StatusCode.OK)
        except grpc.RpcError as error:
            codes.append(error.code())

    assert set(codes) == {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}


def test_websocket_gets_an_error_frame_and_stays_open(
    limited: dict[str, str], user_jwt: str
) -> None:
    url = limited["web"].replace("http://", "ws://") + f"/ws/predict/iris/?token={user_jwt}"
    with connect(url) as socket:
        for i in range(8):
            socket.send(json.dumps({"id": i, "X": [SETOSA]}))
        replies: list[dict[str, Any]] = [json.loads(socket.recv(timeout=10)) for _ in range(8)]
        socket.ping().wait(5)

    codes = {r["error"]["code"] if "error" in r else "ok" for r in replies}
    assert codes == {"ok", "rate_limited"}


def test_a_per_protocol_override_applies_to_that_protocol_only(
    limited: dict[str, str], staff_jwt: str
) -> None:
    query = 'mutation($i: JSONString!) { createPrediction(modelName: "iris", inputData: $i) { prediction { id } } }'
    bodies = [
        requests.post(
            f"{limited['web']}/graphql/",
            json={"query": query, "variables": {"i": json.dumps({"X": [SETOSA]})}},
            headers={"Authorization": f"JWT {staff_jwt}"},
            timeout=10,
        ).json()
        for _ in range(3)
    ]
    rest = requests.post(
        f"{limited['web']}/api/v1/models/iris/predict/",
        json={"X": [SETOSA]},
        headers={"Authorization": f"Bearer {staff_jwt}"},
        timeout=10,
    )

    codes = [b["errors"][0]["extensions"]["code"] if b.get("errors") else "ok" for b in bodies]
    assert codes == ["ok", "rate_limited", "rate_limited"]  # graphql=1/min
    assert rest.status_code == 200  # REST keeps the default 3/s
