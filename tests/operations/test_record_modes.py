"""MLP_RECORD_MODE=durable on a real web process: every answer comes after its row's commit.

(The default, buffered mode, is exercised by every protocol test, which polls for rows, and by
the SIGTERM and database-outage tests, which check that no answered row is lost.)"""

from __future__ import annotations

import uuid

import pytest
import requests

from predictions.models import Prediction
from tests.conftest import server_environment
from tests.servers import run_web_server

pytestmark = pytest.mark.e2e

SETOSA = [5.1, 3.5, 1.4, 0.2]


def test_durable_mode_answers_only_after_the_row_has_committed(
    database_url: str, user_jwt: str, db_reader: None
) -> None:
    env = {**server_environment(database_url), "MLP_RECORD_MODE": "durable"}
    run = uuid.uuid4().hex[:8]
    seen_at_answer: list[bool] = []

    with run_web_server(env) as base:
        for i in range(20):
            request_id = f"durable-{run}-{i}"
            answer = requests.post(
                f"{base}/api/v1/models/iris/predict/",
                json={"X": [SETOSA]},
                headers={"Authorization": f"Bearer {user_jwt}", "X-Request-ID": request_id},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            seen_at_answer.append(Prediction.objects.filter(request_id=request_id).exists())

    assert seen_at_answer == [True] * 20  # read at once, never polled
