"""/metrics after real traffic: counters and histograms move by exactly what was sent."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import grpc
import pytest
import requests
from websockets.sync.client import connect

from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc
from tests.prometheus import scrape, total

pytestmark = pytest.mark.e2e


def delta(url: str, action: Callable[[], Any]) -> Callable[..., float]:
    """Run `action` between two scrapes; returns a function giving a metric's change."""
    before = scrape(url)
    action()
    after = scrape(url)
    return lambda name, **labels: total(after, name, **labels) - total(before, name, **labels)


def rest(base: str, token: str, ref: str, body: Any) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/models/{ref}/predict/",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_web_metrics_count_rest_websocket_and_v2(web_server: str, user_jwt: str) -> None:
    marker = 1.0 + uuid.uuid4().int % 10_000 / 10_000  # fresh inputs: no cache hits

    def traffic() -> None:
        for i in range(3):
            assert rest(web_server, user_jwt, "iris", {"X": [[marker + i, 3.0, 1.5, 0.2]]}).ok
        assert rest(web_server, user_jwt, "iris", {"X": [[1.0, 2.0]]}).status_code == 400
        assert rest(web_server, user_jwt, "nope", {"X": [[1.0]]}).status_code == 404
        url = web_server.replace("http://", "ws://") + f"/ws/predict/demo/?token={user_jwt}"
        with connect(url) as socket:
            for i in range(2):
                socket.send(json.dumps({"X": [[marker, float(i)], [marker, i + 1.0]]}))
                assert "predictions" in json.loads(socket.recv(timeout=10))
        v2 = requests.post(
            f"{web_server}/v2/models/demo/infer",
            json={
                "inputs": [{"name": "x", "datatype": "FP64", "shape": [1, 2], "data": [marker, 9]}]
            },
            headers={"Authorization": f"Bearer {user_jwt}"},
            timeout=10,
        )
        assert v2.ok, v2.text

    change = delta(f"{web_server}/metrics", traffic)

    assert change("mlp_predictions_total", model="iris", protocol="rest") == 3
    assert change("mlp_predictions_total", model="demo", protocol="websocket") == 2
    assert change("mlp_predictions_total", model="demo", protocol="v2-rest") == 1
    assert change("mlp_prediction_latency_seconds_count", model="iris", protocol="rest") == 3
    assert change("mlp_prediction_errors_total", code="invalid_input", protocol="rest") == 1
    assert change("mlp_prediction_errors_total", code="model_not_found", protocol="rest") == 1
    assert change("mlp_batch_size_count", model="demo") == 3
    assert change("mlp_batch_size_sum", model="demo") == 2 + 2 + 1
    assert change("mlp_cache_requests_total", result="miss") == 6
    assert change("django_http_requests_total_by_method_total", method="GET") >= 1  # a scrape
    assert change("django_http_responses_total_by_status_total", status="200") >= 1
    assert change("django_http_requests_latency_including_middlewares_seconds_count") >= 1


def test_cache_hits_are_counted(web_server: str, user_jwt: str) -> None:
    body = {"X": [[2.0 + uuid.uuid4().int % 10**6 / 10**6, 3.0, 1.5, 0.2]]}

    def miss_then_two_hits() -> None:
        rest(web_server, user_jwt, "iris", body).raise_for_status()
        # An answer reaches Redis with the next lookup or the sweeper (every 50 ms); a lookup
        # racing the sweeper's write on another connection may miss. Cached means "soon".
        time.sleep(0.3)
        for _ in range(2):
            rest(web_server, user_jwt, "iris", body).raise_for_status()

    change = delta(f"{web_server}/metrics", miss_then_two_hits)

    assert change("mlp_cache_requests_total", result="miss") == 1
    assert change("mlp_cache_requests_total", result="hit") == 2
    assert change("mlp_predictions_total", model="iris", protocol="rest", cached="true") == 2


def test_web_metrics_include_models_and_training_jobs(web_server: str) -> None:
    samples = scrape(f"{web_server}/metrics")

    assert total(samples, "mlp_loaded_models") >= 1
    assert total(samples, "mlp_loaded_model_bytes") > 0
    assert total(samples, "mlp_model_load_seconds_count") >= 1
    names = {name for name, _, _ in samples}
    assert "mlp_training_jobs" in names
    assert {labels["status"] for name, labels, _ in samples if name == "mlp_training_jobs"} == {
        "queued",
        "running",
        "succeeded",
        "failed",
    }


def test_grpc_process_has_its_own_metrics_and_health(
    grpc_server: str, grpc_ops_port: int, user_jwt: str
) -> None:
    ops = f"http://127.0.0.1:{grpc_ops_port}"
    stub = pb_grpc.PredictionServiceStub(grpc.insecure_channel(grpc_server))
    metadata = [("authorization", f"Bearer {user_jwt}")]

    def traffic() -> None:
        for text in ("good", "bad"):
            stub.Predict(
                pb.PredictRequest(
                    model="sentiment", texts=pb.Texts(texts=[text + uuid.uuid4().hex])
                ),
                metadata=metadata,
                timeout=10,
            )
        with pytest.raises(grpc.RpcError):
            stub.Predict(
                pb.PredictRequest(model="nope", texts=pb.Texts(texts=["x"])), metadata=metadata
            )

    change = delta(f"{ops}/metrics", traffic)

    assert change("mlp_predictions_total", model="sentiment", protocol="grpc") == 2
    assert change("mlp_prediction_errors_total", code="model_not_found", protocol="grpc") == 1
    health = requests.get(f"{ops}/healthz", timeout=5)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
