"""JSON logs: the request id of a prediction is on its log lines and on its Prediction row."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import grpc
import pytest
import requests

from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc
from predictions.models import Prediction
from tests.conftest import server_environment
from tests.recorded import recorded
from tests.servers import LOG_DIR, run_grpc_server, run_web_server

pytestmark = pytest.mark.e2e

JSON_DEBUG = {"MLP_LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}


def json_lines_with(
    request_id: str, logs: list[Path], timeout: float = 5.0
) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for path in logs:
            for line in path.read_text(errors="replace").splitlines():
                if request_id in line and line.startswith("{"):
                    found.append(json.loads(line))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_rest_prediction_logs_its_request_id_as_json(
    database_url: str, user_jwt: str, db_reader: None
) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    with run_web_server({**server_environment(database_url), **JSON_DEBUG}) as base:
        answer = requests.post(
            f"{base}/api/v1/models/iris/predict/",
            json={"X": [[5.0, 3.4, 1.5, 0.2]]},
            headers={"Authorization": f"Bearer {user_jwt}", "X-Request-ID": request_id},
            timeout=10,
        )
        port = base.rsplit(":", 1)[1]
        lines = json_lines_with(request_id, [LOG_DIR / f"web-{port}.log"])

    assert answer.headers["x-request-id"] == request_id
    assert any(str(line["message"]).startswith("predicted iris:") for line in lines), lines
    assert {line["request_id"] for line in lines} == {request_id}
    assert {"time", "level", "logger", "message", "process"} <= set(lines[0])
    assert recorded(Prediction.objects.filter(request_id=request_id)).get().protocol == "rest"


def test_grpc_prediction_logs_its_id_as_json(
    database_url: str, user_jwt: str, db_reader: None
) -> None:
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    env = {**server_environment(database_url), **JSON_DEBUG}
    with run_grpc_server(env, name="grpc-logs") as address:
        stub = pb_grpc.PredictionServiceStub(grpc.insecure_channel(address))
        stub.Predict(
            pb.PredictRequest(model="sentiment", id=request_id, texts=pb.Texts(texts=["ok"])),
            metadata=[("authorization", f"Bearer {user_jwt}")],
            timeout=10,
        )
        port = address.rsplit(":", 1)[1]
        lines = json_lines_with(request_id, [LOG_DIR / f"grpc-logs-{port}.log"])

    assert any(str(line["message"]).startswith("predicted sentiment:") for line in lines), lines
    assert recorded(Prediction.objects.filter(request_id=request_id)).get().protocol == "grpc"
