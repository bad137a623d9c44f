"""WebSockets end to end: the real uvicorn process (Channels) and the `websockets` client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from predictions.models import Prediction
from tests.conftest import server_environment
from tests.recorded import never_recorded, recorded
from tests.servers import run_web_server

pytestmark = pytest.mark.e2e

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
IRIS_ROWS = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.9, 4.5, 1.5], [6.9, 3.1, 5.4, 2.1]]
IRIS_LABELS = ["setosa", "versicolor", "virginica"]


def ws_url(base: str, path: str, token: str | None = None) -> str:
    url = base.replace("http://", "ws://", 1) + path
    return f"{url}?token={token}" if token else url


def receive_json(socket: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(socket.recv(timeout=timeout))
    return body


def test_a_stream_of_100_predictions_is_answered_in_order(
    web_server: str, user_jwt: str, db_reader: None
) -> None:
    run = uuid.uuid4().hex[:8]
    ids = [f"{run}-{i}" for i in range(100)]

    with connect(ws_url(web_server, "/ws/predict/iris/", user_jwt)) as socket:
        for i, request_id in enumerate(ids):  # pipelined: all sent before any is read
            socket.send(json.dumps({"id": request_id, "X": [IRIS_ROWS[i % 3]]}))
        replies = [receive_json(socket) for _ in ids]

    assert [r["id"] for r in replies] == ids
    assert [r["predictions"] for r in replies] == [[IRIS_LABELS[i % 3]] for i in range(100)]
    assert all(r["model"].startswith("iris:") for r in replies)
    rows = recorded(Prediction.objects.filter(protocol="websocket", request_id__in=ids), 100)
    assert rows.count() == 100


def test_every_input_form_works_on_one_connection(web_server: str, user_jwt: str) -> None:
    with connect(ws_url(web_server, "/ws/predict/iris/", user_jwt)) as socket:
        socket.send(json.dumps({"id": 1, **SETOSA}))
        socket.send(json.dumps({"id": 2, "instances": [SETOSA, SETOSA]}))
        socket.send(json.dumps({"id": 3, "X": IRIS_ROWS}).encode())  # a binary frame
        flat, named, rows = (receive_json(socket) for _ in range(3))

    assert (flat["id"], flat["prediction"]) == (1, "setosa")
    assert (named["id"], named["predictions"]) == (2, ["setosa", "setosa"])
    assert (rows["id"], rows["predictions"]) == (3, IRIS_LABELS)
    assert set(rows["probabilities"][0]) == set(IRIS_LABELS)


def test_bad_messages_get_errors_and_the_connection_stays_open(
    web_server: str, user_jwt: str, db_reader: None
) -> None:
    run = uuid.uuid4().hex[:8]
    with connect(ws_url(web_server, "/ws/predict/iris/", user_jwt)) as socket:
        socket.send("this is not json")
        socket.send("[1, 2, 3]")
        socket.send(json.dumps({"id": f"{run}-bad", "X": [[1.0, 2.0]]}))
        socket.send(json.dumps({"id": f"{run}-good", **SETOSA}))
        not_json, not_object, wrong_width, good = (receive_json(socket) for _ in range(4))

    assert not_json["error"]["code"] == "invalid_input"
    assert "not valid JSON" in not_json["error"]["message"]
    assert not_object["error"]["code"] == "invalid_input"
    assert wrong_width["error"]["code"] == "invalid_input"
    assert wrong_width["id"] == f"{run}-bad"
    assert good == {**good, "id": f"{run}-good", "prediction": "setosa"}
    assert never_recorded(Prediction.objects.filter(request_id=f"{run}-bad"))


def test_an_unknown_model_is_an_error_message(web_server: str, user_jwt: str) -> None:
    with connect(ws_url(web_server, "/ws/predict/no-such-model/", user_jwt)) as socket:
        socket.send(json.dumps({"id": "q", **SETOSA}))
        reply = receive_json(socket)

    assert reply["id"] == "q"
    assert reply["error"]["code"] == "model_not_found"


@pytest.mark.parametrize(
    ("_case", "path", "token", "status", "code"),
    [
        ("no credentials", "/ws/predict/iris/", None, 401, "unauthenticated"),
        ("tampered token", "/ws/predict/iris/", "user-token-tampered", 401, "unauthenticated"),
        ("garbage token", "/ws/predict/iris/", "not.a.jwt", 401, "unauthenticated"),
        ("feed without credentials", "/ws/feed/", None, 401, "unauthenticated"),
        ("feed as a plain user", "/ws/feed/", "user-token", 403, "forbidden"),
        ("job without credentials", "/ws/jobs/1/", None, 401, "unauthenticated"),
        ("job as a plain user", "/ws/jobs/1/", "user-token", 403, "forbidden"),
    ],
)
def test_refused_handshakes_say_why(
    web_server: str, user_jwt: str, _case: str, path: str, token: str | None, status: int, code: str
) -> None:
    if token == "user-token":
        token = user_jwt
    elif token == "user-token-tampered":
        token = user_jwt[:-4] + ("AAAA" if not user_jwt.endswith("AAAA") else "BBBB")

    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(web_server, path, token)).close()

    assert refused.value.response.status_code == status
    assert json.loads(refused.value.response.body)["error"]["code"] == code


def test_the_authorization_header_works_too(web_server: str, user_jwt: str) -> None:
    headers = {"Authorization": f"JWT {user_jwt}"}
    with connect(ws_url(web_server, "/ws/predict/iris/"), additional_headers=headers) as socket:
        socket.send(json.dumps(SETOSA))
        assert receive_json(socket)["prediction"] == "setosa"


def test_sentiment_stream_scores_each_sentence(web_server: str, user_jwt: str) -> None:
    sentences = [
        "I absolutely love this product, it is wonderful!",
        "This was a terrible, awful experience.",
        "The parcel arrived on Tuesday.",
    ]
    with connect(ws_url(web_server, "/ws/predict/sentiment/", user_jwt)) as socket:
        for i, sentence in enumerate(sentences):
            socket.send(json.dumps({"id": i, "text": sentence}))
        replies = [receive_json(socket) for _ in sentences]

    assert [r["id"] for r in replies] == [0, 1, 2]
    assert [r["prediction"]["classification"] for r in replies] == [
        "Positive",
        "Negative",
        "Neutral",
    ]
    assert replies[0]["prediction"]["sentiment_score"] > 0.5
    assert replies[1]["prediction"]["sentiment_score"] < -0.5


def test_a_rest_prediction_appears_on_the_feed(
    web_server: str, staff_jwt: str, user_jwt: str
) -> None:
    marker = round(5.0 + uuid.uuid4().int % 1000 / 1000.0, 3)  # an input nobody else sends
    with connect(ws_url(web_server, "/ws/feed/", staff_jwt)) as feed:
        snapshot = receive_json(feed)
        assert snapshot["type"] == "snapshot"
        answer = requests.post(
            f"{web_server}/api/v1/models/iris/predict/",
            json={"X": [[marker, 3.0, 1.5, 0.2]]},
            headers={"Authorization": f"Bearer {user_jwt}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        event = _next_event(feed, lambda e: e.get("input", "").startswith(f"1 row: [{marker:g}"))

    assert event["protocol"] == "rest"
    assert event["model"] == answer.json()["model"]
    assert event["output"] == answer.json()["predictions"]
    assert event["cached"] is False
    assert event["latency_ms"] > 0


def test_the_feed_is_read_only(web_server: str, staff_jwt: str) -> None:
    with connect(ws_url(web_server, "/ws/feed/", staff_jwt)) as feed:
        receive_json(feed)  # snapshot
        feed.send("{}")
        reply = _next_event(feed, lambda e: "error" in e)

    assert reply["error"]["code"] == "invalid_input"


def _next_event(socket: ClientConnection, wanted: Any, timeout: float = 10) -> dict[str, Any]:
    """Skip other tests' predictions until the one we caused arrives."""
    while True:
        event = receive_json(socket, timeout=timeout)
        if wanted(event):
            return event


@pytest.fixture(scope="module")
def strict_server(database_url: str) -> Iterator[str]:
    """A web process with tight WebSocket limits, to see them enforced."""
    env = {
        **server_environment(database_url),
        "MLP_WS_RATE_PER_SECOND": "0.5",
        "MLP_WS_RATE_BURST": "3",
        "MLP_WS_MAX_MESSAGE_BYTES": "2000",
    }
    with run_web_server(env) as base_url:
        yield base_url


def test_message_rate_and_size_limits_answer_with_errors(strict_server: str, user_jwt: str) -> None:
    with connect(ws_url(strict_server, "/ws/predict/iris/", user_jwt)) as socket:
        socket.send(json.dumps({"id": "big", "X": [[1.0] * 4] * 200}))  # > 2000 bytes
        for i in range(5):
            socket.send(json.dumps({"id": i, **SETOSA}))
        big, *replies = (receive_json(socket) for _ in range(6))
        socket.ping().wait(5)  # still open

    assert "id" not in big  # an oversized message is refused unread
    assert big["error"]["code"] == "invalid_input"
    assert big["error"]["details"] == {"limit": 2000}
    assert [r["id"] for r in replies] == [0, 1, 2, 3, 4]
    assert [r.get("prediction") for r in replies[:3]] == ["setosa"] * 3
    assert [r["error"]["code"] for r in replies[3:]] == ["rate_limited", "rate_limited"]
