"""REST predict end to end: the real uvicorn process, the lean ASGI path, a `requests` client."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import sklearn

from predictions.models import Prediction
from tests.recorded import never_recorded, recorded

pytestmark = pytest.mark.e2e

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA = [6.9, 3.1, 5.4, 2.1]


@pytest.fixture(scope="module")
def token(web_server: str) -> str:
    response = requests.post(
        f"{web_server}/api/v1/auth/token/",
        json={"username": "alice", "password": "alice-password"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


def post_predict(
    base: str, ref: str, body: Any, token: str | None, request_id: str | None = None
) -> requests.Response:
    headers = {"X-Request-ID": request_id or uuid.uuid4().hex}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, (bytes, str)) else None
    return requests.post(
        f"{base}/api/v1/models/{ref}/predict/",
        json=None if data is not None else body,
        data=data,
        headers=headers,
        timeout=10,
    )


def test_health_and_readiness(web_server: str) -> None:
    assert requests.get(f"{web_server}/healthz", timeout=5).json() == {"status": "ok"}

    ready = requests.get(f"{web_server}/readyz", timeout=10)

    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {
            "database": "ok",
            "redis": "ok",
            "broker": "ok",
            "mqtt": "ok",
            "recording": "ok",
            "models": dict.fromkeys(("demo", "iris", "diabetes", "sentiment", "imagenet"), "ok"),
        },
    }


@pytest.mark.parametrize(
    ("_case", "body", "expected"),
    [
        ("flat", SETOSA, ["setosa"]),
        ("X", {"X": [list(SETOSA.values()), VIRGINICA]}, ["setosa", "virginica"]),
        ("instances", {"instances": [SETOSA]}, ["setosa"]),
    ],
)
def test_iris_forms_return_the_envelope(
    _case: str, body: dict[str, Any], expected: list[str], web_server: str, token: str
) -> None:
    response = post_predict(web_server, "iris", {**body, "id": _case}, token)

    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["model"] == "iris:1"
    assert envelope["predictions"] == expected
    assert envelope["id"] == _case
    assert isinstance(envelope["cached"], bool)
    assert envelope["latency_ms"] >= 0
    assert [max(p, key=p.get) for p in envelope["probabilities"]] == expected
    assert ("prediction" in envelope) is (_case == "flat")


def test_demo_regression(web_server: str, token: str) -> None:
    response = post_predict(web_server, "demo", {"feature1": 1.0, "feature2": 2.0}, token)

    assert response.status_code == 200
    assert response.json()["prediction"] == pytest.approx(1.3, abs=1e-4)


def test_every_success_is_recorded_once(web_server: str, token: str, db_reader: None) -> None:
    request_id = f"rec-{uuid.uuid4().hex}"

    for _ in range(5):
        assert post_predict(web_server, "diabetes", {"X": [[0.0] * 10]}, token, request_id).ok
    post_predict(web_server, "diabetes", {"X": [[0.0] * 9]}, token, request_id)

    rows = recorded(Prediction.objects.filter(request_id=request_id), 5)
    assert rows.count() == 5
    assert set(rows.values_list("protocol", flat=True)) == {"rest"}


@pytest.mark.parametrize(
    ("_case", "ref", "body", "auth", "status", "code"),
    [
        ("no token", "iris", SETOSA, None, 401, "unauthenticated"),
        ("tampered token", "iris", SETOSA, "tampered", 401, "unauthenticated"),
        ("unknown model", "nope", SETOSA, "ok", 404, "model_not_found"),
        ("unknown version", "iris:9", SETOSA, "ok", 404, "model_not_found"),
        ("not json", "iris", b"{not json", "ok", 400, "invalid_input"),
        ("json array", "iris", [1, 2], "ok", 400, "invalid_input"),
        ("short row", "iris", {"X": [[1, 2]]}, "ok", 400, "invalid_input"),
        ("string value", "iris", {"X": [[1, "x", 3, 4]]}, "ok", 400, "invalid_input"),
        ("unknown feature", "iris", {**SETOSA, "colour": 2}, "ok", 400, "invalid_input"),
        ("empty batch", "iris", {"X": []}, "ok", 400, "invalid_input"),
        ("text to tabular", "iris", {"text": "hi"}, "ok", 400, "invalid_input"),
    ],
)
def test_errors_use_the_envelope(
    _case: str,
    ref: str,
    body: Any,
    auth: str | None,
    status: int,
    code: str,
    web_server: str,
    token: str,
    db_reader: None,
) -> None:
    credential = {None: None, "ok": token, "tampered": token[:-4] + "AAAA"}[auth]
    request_id = f"err-{uuid.uuid4().hex}"

    response = post_predict(web_server, ref, body, credential, request_id)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert response.headers["x-request-id"] == request_id
    assert never_recorded(Prediction.objects.filter(request_id=request_id))


def test_get_is_not_allowed(web_server: str, token: str) -> None:
    response = requests.get(f"{web_server}/api/v1/models/iris/predict/", timeout=5)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_sentiment_over_rest(web_server: str, token: str) -> None:
    response = post_predict(web_server, "sentiment", {"texts": ["I love it!", "Awful."]}, token)

    assert response.status_code == 200
    labels = [p["classification"] for p in response.json()["predictions"]]
    assert labels == ["Positive", "Negative"]


def test_image_over_rest(web_server: str, token: str) -> None:
    photo = (Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg").read_bytes()

    response = post_predict(
        web_server, "imagenet", {"image": base64.b64encode(photo).decode()}, token
    )

    assert response.status_code == 200, response.text
    assert response.json()["prediction"][0]["class"] == "palace"


def test_non_image_over_rest_is_400(web_server: str, token: str) -> None:
    response = post_predict(
        web_server, "imagenet", {"image": base64.b64encode(b"text").decode()}, token
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_image_as_multipart_file(web_server: str, token: str) -> None:
    photo = (Path(sklearn.__file__).parent / "datasets" / "images" / "flower.jpg").read_bytes()

    response = requests.post(
        f"{web_server}/api/v1/models/imagenet/predict/",
        files={"image": ("flower.jpg", photo, "image/jpeg")},
        data={"top_k": "5", "id": "upload-1"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["prediction"][0]["class"] == "daisy"
    assert len(body["prediction"]) == 5
    assert body["id"] == "upload-1"


def test_several_multipart_images(web_server: str, token: str) -> None:
    images = Path(sklearn.__file__).parent / "datasets" / "images"
    files = [
        ("images", ("a.jpg", (images / "china.jpg").read_bytes(), "image/jpeg")),
        ("images", ("b.jpg", (images / "flower.jpg").read_bytes(), "image/jpeg")),
    ]

    response = requests.post(
        f"{web_server}/api/v1/models/imagenet/predict/",
        files=files,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    assert [p[0]["class"] for p in response.json()["predictions"]] == ["palace", "daisy"]


def test_malformed_multipart_is_400(web_server: str, token: str) -> None:
    response = requests.post(
        f"{web_server}/api/v1/models/imagenet/predict/",
        data=b"--xyz\r\nnot a header line\r\n",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "multipart/form-data; boundary=xyz",
        },
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
