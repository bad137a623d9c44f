"""Training on a real Celery worker against the real Redis broker, started from REST."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import requests
from websockets.exceptions import ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect

from models_app.models import JobStatus, TrainingJob
from models_app.tasks import train
from tests.conftest import TEST_QUEUE, server_environment
from tests.servers import kill_group, run_worker

pytestmark = pytest.mark.e2e

FAST_REAPER = {
    "MLP_JOB_HEARTBEAT_SECONDS": "1",
    "MLP_JOB_STALL_SECONDS": "3",
    "MLP_JOB_REAP_SECONDS": "1",
    "MLP_JOB_MAX_ATTEMPTS": "1",
}


@pytest.fixture(scope="module")
def worker(database_url: str) -> Iterator[Any]:
    with run_worker({**server_environment(database_url), **FAST_REAPER}, TEST_QUEUE, "worker") as w:
        yield w


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_for_job(base: str, token: str, job_id: int, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(
            f"{base}/api/v1/training-jobs/{job_id}/", headers=auth(token), timeout=10
        )
        body: dict[str, Any] = job.json()
        if body["status"] in ("succeeded", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout}s: {body}")


def test_seed_flow_train_inline_then_predict(
    worker: Any, web_server: str, staff_jwt: str, user_jwt: str
) -> None:
    """The seed's /train + /predict: inline X/y, a linear regression, poll, predict."""
    X = np.random.default_rng(5).uniform(0, 10, size=(30, 2))
    y = 0.5 * X[:, 0] + 0.3 * X[:, 1] + 0.2
    name = f"seed-{uuid.uuid4().hex[:6]}"

    created = requests.post(
        f"{web_server}/api/v1/training-jobs/",
        json={
            "name": name,
            "algorithm": "linear_regression",
            "data": {"X": X.tolist(), "y": y.tolist()},
        },
        headers=auth(staff_jwt),
        timeout=10,
    )
    assert created.status_code == 202, created.text
    job = wait_for_job(web_server, staff_jwt, created.json()["id"])

    assert job["status"] == "succeeded", job["error"]
    assert job["model"]["name"] == name
    assert job["metrics"]["r2"] == pytest.approx(1.0)
    answer = requests.post(
        f"{web_server}/api/v1/models/{name}:{job['model']['version']}/predict/",
        json={"x0": 1.0, "x1": 2.0},
        headers=auth(user_jwt),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] == pytest.approx(1.3, abs=1e-4)


def test_progress_is_seen_increasing(worker: Any, web_server: str, staff_jwt: str) -> None:
    created = requests.post(
        f"{web_server}/api/v1/training-jobs/",
        json={
            "name": f"slow-{uuid.uuid4().hex[:6]}",
            "algorithm": "gradient_boosting",
            "dataset": "digits",
            "params": {"n_estimators": 40},
        },
        headers=auth(staff_jwt),
        timeout=10,
    ).json()
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = requests.get(
            f"{web_server}/api/v1/training-jobs/{created['id']}/",
            headers=auth(staff_jwt),
            timeout=10,
        ).json()
        if not seen or seen[-1] != job["progress"]:
            seen.append(job["progress"])
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)

    assert job["status"] == "succeeded", job["error"]
    assert seen == sorted(seen)
    assert len(seen) >= 3, seen
    assert seen[-1] == 100
    assert job["metrics"]["accuracy"] > 0.8


def test_progress_streams_over_websocket_until_the_job_ends(
    worker: Any, web_server: str, staff_jwt: str
) -> None:
    """Events published by the worker process reach a WebSocket client of the web process."""
    created = requests.post(
        f"{web_server}/api/v1/training-jobs/",
        json={
            "name": f"ws-{uuid.uuid4().hex[:6]}",
            "algorithm": "gradient_boosting",
            "dataset": "digits",
            "params": {"n_estimators": 15},
        },
        headers=auth(staff_jwt),
        timeout=10,
    ).json()
    url = web_server.replace("http://", "ws://") + f"/ws/jobs/{created['id']}/?token={staff_jwt}"

    with connect(url) as socket:
        events = _events_until_closed(socket)

    assert events[0]["id"] == created["id"]
    assert events[0]["status"] in ("queued", "running")
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    assert len(set(progress)) >= 3, progress
    assert events[-1]["status"] == "succeeded"
    assert events[-1]["done"] is True
    assert events[-1]["model"]["name"] == created["name"]
    assert [e for e in events if e["done"]] == [events[-1]]


def test_a_finished_job_sends_its_state_and_closes(
    worker: Any, web_server: str, staff_jwt: str
) -> None:
    created = requests.post(
        f"{web_server}/api/v1/training-jobs/",
        json={
            "name": f"done-{uuid.uuid4().hex[:6]}",
            "algorithm": "linear_regression",
            "dataset": "diabetes",
        },
        headers=auth(staff_jwt),
        timeout=10,
    ).json()
    finished = wait_for_job(web_server, staff_jwt, created["id"])
    url = web_server.replace("http://", "ws://") + f"/ws/jobs/{created['id']}/?token={staff_jwt}"

    with connect(url) as socket:
        state = json.loads(socket.recv(timeout=10))
        with pytest.raises(ConnectionClosedOK):
            socket.recv(timeout=10)

    assert state["status"] == finished["status"] == "succeeded"
    assert state["progress"] == 100
    assert state["metrics"] == finished["metrics"]


def test_an_unknown_job_is_refused_with_404(web_server: str, staff_jwt: str) -> None:
    url = web_server.replace("http://", "ws://") + f"/ws/jobs/987654321/?token={staff_jwt}"

    with pytest.raises(InvalidStatus) as refused:
        connect(url).close()

    assert refused.value.response.status_code == 404


def test_bad_job_fails_clearly_and_the_worker_carries_on(
    worker: Any, db_reader: None, web_server: str, staff_jwt: str
) -> None:
    """Data that slipped past the API (written to the table) fails the job, not the worker."""
    job = TrainingJob.objects.create(
        name="broken", algorithm="ridge", data={"X": [[1.0, "x"]] * 12, "y": list(range(12))}
    )
    train.apply_async(args=[job.pk], queue=TEST_QUEUE)

    result = wait_for_job(web_server, staff_jwt, job.pk)

    assert result["status"] == "failed"
    assert result["error"] == "X[0][1] must be a finite number, got 'x'"
    assert worker.poll() is None


def test_a_killed_worker_does_not_leave_the_job_running(
    database_url: str, db_reader: None, web_server: str, staff_jwt: str
) -> None:
    queue = f"{TEST_QUEUE}-kill"
    env = {**server_environment(database_url), **FAST_REAPER}
    job = TrainingJob.objects.create(
        name="doomed",
        algorithm="gradient_boosting",
        dataset="digits",
        task="classification",
        params={"n_estimators": 400},
    )
    with run_worker(env, queue, "doomed-worker") as doomed:
        train.apply_async(args=[job.pk], queue=queue)
        _wait_status(job, JobStatus.RUNNING, timeout=30)
        time.sleep(1.5)  # a heartbeat or two into the fit
        kill_group(doomed)

    with run_worker(env, queue, "rescuer"):
        result = wait_for_job(web_server, staff_jwt, job.pk, timeout=30)

    assert result["status"] == "failed"
    assert "stopped responding during training (gave up after 1 attempt(s))" in result["error"]


def _wait_status(job: TrainingJob, status: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"job {job.pk} is {job.status}, not {status}")


def _events_until_closed(socket: Any) -> list[dict[str, Any]]:
    """Every event until the server closes the stream normally (it does once the job ends)."""
    events: list[dict[str, Any]] = []
    while True:
        try:
            events.append(json.loads(socket.recv(timeout=120)))
        except ConnectionClosedOK:
            return events
