"""Scale-out on one machine: two web processes and two MQTT bridges share the work, none is lost."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from predictions.models import Prediction
from tests.conftest import server_environment
from tests.prometheus import scrape, total
from tests.protocols.test_mqtt import PREFIX, Device, run_bridge
from tests.servers import LOG_DIR, free_port, run_web_server, wait_for_log

pytestmark = pytest.mark.e2e


def mqtt_predictions(ops_port: int) -> float:
    samples = scrape(f"http://127.0.0.1:{ops_port}/metrics")
    return total(samples, "mlp_predictions_total", protocol="mqtt")


@contextlib.contextmanager
def two_bridges(database_url: str) -> Iterator[list[int]]:
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        for i, port in enumerate(ports):
            env = {**server_environment(database_url), "MLP_MQTT_METRICS_PORT": str(port)}
            name = f"scale-bridge-{i}"
            process = stack.enter_context(run_bridge(env, name))
            wait_for_log(LOG_DIR / f"{name}.log", "subscribed to", process, timeout=30)
        yield ports


def test_two_web_processes_split_the_work_and_lose_nothing(
    database_url: str, user_jwt: str, db_reader: None
) -> None:
    env = server_environment(database_url)
    with run_web_server(env) as first, run_web_server(env) as second:
        servers = [first, second]
        sent: dict[str, list[str]] = {first: [], second: []}
        failures: list[str] = []
        lock = threading.Lock()

        def client(worker: int) -> None:
            for i in range(40):  # a round-robin balancer, as nginx's upstream does
                base = servers[(worker + i) % 2]
                request_id = uuid.uuid4().hex
                answer = requests.post(
                    f"{base}/api/v1/models/iris/predict/",
                    json={"X": [[4.0 + i / 40, 3.0, 1.3, 0.2]]},
                    headers={"Authorization": f"Bearer {user_jwt}", "X-Request-ID": request_id},
                    timeout=30,
                )
                with lock:
                    (sent[base] if answer.status_code == 200 else failures).append(request_id)

        threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)

    assert failures == []
    assert len(sent[first]) == len(sent[second]) == 160
    all_ids = sent[first] + sent[second]
    assert Prediction.objects.filter(request_id__in=all_ids, protocol="rest").count() == 320


def test_two_bridges_share_the_subscription_and_lose_nothing(
    database_url: str, db_reader: None
) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(200)]
    with two_bridges(database_url) as ops_ports:
        before = [mqtt_predictions(port) for port in ops_ports]
        device = Device()
        device.subscribe(f"{PREFIX}/demo/output")
        for request_id in ids:
            device.publish(f"{PREFIX}/demo/input", {"X": [[1.0, 2.0]], "id": request_id})
        replies: list[dict[str, Any]] = []
        while len(replies) < len(ids):
            body = json.loads(device.next(timeout=30).payload)
            if str(body.get("id", "")).startswith(run):
                replies.append(body)
        device.close()
        handled = [mqtt_predictions(port) - b for port, b in zip(ops_ports, before, strict=True)]

    assert sorted(r["id"] for r in replies) == sorted(ids)
    assert all("predictions" in r for r in replies)
    assert sum(handled) == 200
    assert min(handled) > 0, f"one bridge did all the work: {handled}"
    assert Prediction.objects.filter(request_id__in=ids, protocol="mqtt").count() == 200
