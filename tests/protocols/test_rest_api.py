"""REST API v1 end to end: models, uploads, stages, training jobs, predictions, auth, docs."""

from __future__ import annotations

import io
import pickle
import time
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from skl2onnx import to_onnx
from sklearn.linear_model import LinearRegression, LogisticRegression

from tests.conftest import UPLOAD_LIMIT
from tests.protocols.conftest import Api

pytestmark = pytest.mark.e2e


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def skops_regressor() -> bytes:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 3))
    return bytes(sio.dumps(LinearRegression().fit(X, X @ np.array([1.0, 2.0, 3.0]) + 4.0)))


def zip_bomb() -> bytes:
    """60 MB of zeros in a ~60 kB archive named like a skops file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("schema.json", b"\0" * 60_000_000)
    return buffer.getvalue()


def onnx_with_external_data() -> bytes:
    """A valid ONNX graph whose weight points at a file next to it (weights.bin)."""
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((3, 1), dtype=np.float32), name="w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="../../etc/weights.bin")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 1])],
        initializer=[weight],
    )
    return bytes(helper.make_model(graph).SerializeToString())


def upload(api: Api, name: str, artifact: bytes, filename: str, **fields: Any) -> Any:
    form = {
        "name": name,
        "task": "regression",
        "feature_names": '["a", "b", "c"]',
        **fields,
    }
    return api.post(
        "/api/v1/models/", data=form, files={"artifact": (filename, io.BytesIO(artifact))}
    )


# --- models ---------------------------------------------------------------------------------------


def test_list_models_is_paginated_and_filtered(user_api: Api) -> None:
    page = user_api.get("/api/v1/models/", params={"task": "classification"}).json()

    assert set(page) == {"count", "next", "previous", "results"}
    assert {m["name"] for m in page["results"]} >= {"iris"}
    assert all(m["task"] == "classification" for m in page["results"])
    first = user_api.get("/api/v1/models/", params={"page_size": 1}).json()
    assert len(first["results"]) == 1
    assert first["next"] is not None


@pytest.mark.parametrize("ref", ["iris", "iris:1"])
def test_retrieve_by_reference(ref: str, user_api: Api) -> None:
    model = user_api.get(f"/api/v1/models/{ref}/").json()

    assert model["ref"] == "iris:1"
    assert model["feature_names"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert model["labels"] == ["setosa", "versicolor", "virginica"]
    assert model["stage"] == "production"
    assert model["serving_runtime"] == "onnx"
    assert model["metrics"]["accuracy"] > 0.9
    by_id = user_api.get(f"/api/v1/models/{model['id']}/").json()
    assert by_id["ref"] == "iris:1"


def test_unknown_model_is_404_envelope(user_api: Api) -> None:
    response = user_api.get("/api/v1/models/nope:3/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"


def test_staff_uploads_skops_and_predicts_with_it(staff_api: Api, user_api: Api) -> None:
    name = unique("uploaded")

    created = upload(staff_api, name, skops_regressor(), "model.skops")

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["ref"], body["status"], body["framework"]) == (f"{name}:1", "ready", "sklearn")
    assert body["serving_runtime"] == "onnx"
    answer = user_api.post(f"/api/v1/models/{name}/predict/", json={"a": 1, "b": 1, "c": 1})
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] == pytest.approx(10.0, abs=1e-3)


def test_staff_uploads_onnx_classifier(staff_api: Api, user_api: Api) -> None:
    X = np.random.default_rng(2).normal(size=(60, 3)).astype(np.float32)
    y = np.where(X[:, 0] > 0, "up", "down")
    clf = LogisticRegression().fit(X, y)
    onnx_bytes = to_onnx(clf, X[:1], options={id(clf): {"zipmap": False}}).SerializeToString()
    name = unique("onnx-clf")

    created = upload(
        staff_api, name, onnx_bytes, "clf.onnx", task="classification", labels='["down", "up"]'
    )

    assert created.status_code == 201, created.text
    answer = user_api.post(f"/api/v1/models/{name}/predict/", json={"X": [[3, 0, 0], [-3, 0, 0]]})
    assert answer.json()["predictions"] == ["up", "down"]


@pytest.mark.parametrize(
    ("_case", "artifact", "filename", "fields", "message"),
    [
        ("pickle", pickle.dumps(LinearRegression()), "model.pkl", {}, "pickles are refused"),
        ("pickle named skops", pickle.dumps([1]), "model.skops", {}, "skops files are zip"),
        ("not onnx", b"garbage", "model.onnx", {}, "not a readable .onnx file"),
        ("wrong width", None, "model.skops", {"feature_names": '["a"]'}, "takes 3 features"),
        ("wrong task", None, "model.skops", {"task": "classification"}, "is not a classifier"),
        ("bad json", None, "model.skops", {"feature_names": "a,b"}, "must be a JSON list"),
        ("zip bomb", zip_bomb(), "model.skops", {}, "zip bomb refused"),
        ("onnx with external data", onnx_with_external_data(), "model.onnx", {}, "external data"),
        ("too big", b"\0" * (UPLOAD_LIMIT + 1), "model.onnx", {}, "uploads are limited to"),
    ],
)
def test_bad_uploads_are_refused(
    _case: str, artifact: bytes | None, filename: str, fields: dict, message: str, staff_api: Api
) -> None:
    name = unique("bad")

    response = upload(staff_api, name, artifact or skops_regressor(), filename, **fields)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"
    assert message in response.text
    assert staff_api.get(f"/api/v1/models/{name}/").status_code == 404


def test_user_cannot_upload(user_api: Api) -> None:
    name = unique("nope")

    response = upload(user_api, name, skops_regressor(), "model.skops")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert user_api.get(f"/api/v1/models/{name}/").status_code == 404


def test_patch_stage_and_description_then_archive(staff_api: Api, user_api: Api) -> None:
    name = unique("staged")
    upload(staff_api, name, skops_regressor(), "model.skops")
    upload(staff_api, name, skops_regressor(), "model.skops")

    promoted = staff_api.patch(f"/api/v1/models/{name}:2/", json={"stage": "production"})
    described = staff_api.patch(f"/api/v1/models/{name}:1/", json={"description": "old"})

    assert promoted.json()["stage"] == "production"
    assert described.json()["description"] == "old"
    assert user_api.get(f"/api/v1/models/{name}/").json()["version"] == 2
    archived = staff_api.delete(f"/api/v1/models/{name}:2/")
    assert archived.status_code == 200
    assert (archived.json()["status"], archived.json()["stage"]) == ("archived", "none")
    assert user_api.get(f"/api/v1/models/{name}/").json()["version"] == 1
    gone = user_api.post(f"/api/v1/models/{name}:2/predict/", json={"a": 1, "b": 1, "c": 1})
    assert gone.status_code == 409
    assert gone.json()["error"]["code"] == "model_not_ready"


@pytest.mark.parametrize(("method", "body"), [("patch", {"stage": "production"}), ("delete", None)])
def test_user_cannot_change_models(method: str, body: Any, user_api: Api) -> None:
    response = getattr(user_api, method)("/api/v1/models/demo:1/", json=body)

    assert response.status_code == 403
    assert user_api.get("/api/v1/models/demo:1/").json()["status"] == "ready"


def test_bad_stage_is_invalid_input(staff_api: Api) -> None:
    response = staff_api.patch("/api/v1/models/demo:1/", json={"stage": "live"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


def test_put_is_not_offered(staff_api: Api) -> None:
    assert staff_api.put("/api/v1/models/demo:1/", json={}).status_code == 405


# --- auth -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/models/", "/api/v1/predictions/", "/api/v1/training-jobs/"]
)
def test_anonymous_is_401_envelope(path: str, anon_api: Api) -> None:
    response = anon_api.get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_jwt_prefix_works_too(web_server: str, user_jwt: str) -> None:
    api = Api(web_server, None)
    api.session.headers["Authorization"] = f"JWT {user_jwt}"

    assert api.get("/api/v1/models/").status_code == 200


def test_refresh_gives_a_working_access_token(web_server: str) -> None:
    pair = (
        Api(web_server, None)
        .post("/api/v1/auth/token/", json={"username": "alice", "password": "alice-password"})
        .json()
    )

    refreshed = Api(web_server, None).post(
        "/api/v1/auth/token/refresh/", json={"refresh": pair["refresh"]}
    )

    token = refreshed.json()["access"]
    assert Api(web_server, token).post("/api/v1/models/demo/predict/", json={"X": [[1, 2]]}).ok


def test_wrong_password_is_401(anon_api: Api) -> None:
    response = anon_api.post("/api/v1/auth/token/", json={"username": "alice", "password": "no"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


# --- training jobs --------------------------------------------------------------------------------


def test_staff_creates_a_queued_training_job(staff_api: Api) -> None:
    response = staff_api.post(
        "/api/v1/training-jobs/",
        json={"name": unique("trained"), "algorithm": "logistic_regression", "dataset": "iris"},
    )

    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["status"], job["progress"], job["model"]) == ("queued", 0, None)
    assert staff_api.get(f"/api/v1/training-jobs/{job['id']}/").json()["id"] == job["id"]


@pytest.mark.parametrize(
    ("_case", "body", "message"),
    [
        (
            "unknown algorithm",
            {"algorithm": "magic", "dataset": "iris"},
            "unknown algorithm 'magic'",
        ),
        ("unknown dataset", {"algorithm": "ridge", "dataset": "mnist"}, "unknown dataset 'mnist'"),
        (
            "wrong task",
            {"algorithm": "linear_regression", "dataset": "iris"},
            "does not do classification",
        ),
        (
            "bad param",
            {"algorithm": "ridge", "dataset": "diabetes", "params": {"depth": 3}},
            "no parameter 'depth'",
        ),
        (
            "bad value",
            {"algorithm": "ridge", "dataset": "diabetes", "params": {"alpha": "x"}},
            "alpha",
        ),
        (
            "both sources",
            {"algorithm": "ridge", "dataset": "diabetes", "data": {"X": [[1]], "y": [1]}},
            "exactly one",
        ),
        (
            "few rows",
            {"algorithm": "ridge", "data": {"X": [[1.0]] * 3, "y": [1, 2, 3]}},
            "at least 10 rows",
        ),
        (
            "missing value",
            {"algorithm": "ridge", "data": {"X": [[1.0]] * 9 + [[None]], "y": list(range(10))}},
            "X[9][0] is missing",
        ),
    ],
)
def test_bad_training_requests_are_400(
    _case: str, body: dict, message: str, staff_api: Api
) -> None:
    response = staff_api.post("/api/v1/training-jobs/", json={"name": unique("t"), **body})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_input"
    assert message in response.json()["error"]["message"]


def test_user_cannot_train(user_api: Api) -> None:
    response = user_api.post(
        "/api/v1/training-jobs/", json={"name": "x", "algorithm": "ridge", "dataset": "diabetes"}
    )

    assert response.status_code == 403
    assert user_api.get("/api/v1/training-jobs/").status_code == 403


# --- predictions ----------------------------------------------------------------------------------


def test_users_see_their_own_predictions_staff_see_all(user_api: Api, staff_api: Api) -> None:
    marker, other = unique("mine"), unique("staff")
    user_api.post(
        "/api/v1/models/demo/predict/",
        json={"X": [[1, 2]], "id": marker},
        headers={"X-Request-ID": marker},
    )
    staff_api.post(
        "/api/v1/models/demo/predict/", json={"X": [[1, 2]]}, headers={"X-Request-ID": other}
    )

    # Rows are written a few milliseconds after the answer (buffered recording): poll the listing.
    mine = listing_once(
        user_api,
        {"model": "demo", "protocol": "rest"},
        lambda rows: marker in {p["request_id"] for p in rows},
    )
    everyone = listing_once(
        staff_api, {"model": "demo:1"}, lambda rows: other in {p["request_id"] for p in rows}
    )

    assert {p["user"] for p in mine["results"]} == {"alice"}
    assert marker in {p["request_id"] for p in mine["results"]}
    assert {p["user"] for p in everyone["results"]} >= {"alice", "admin"}
    assert all(p["model"] == "demo:1" for p in everyone["results"])


def listing_once(api: Api, params: dict[str, str], shows: Callable[[list[Any]], bool]) -> Any:
    """GET /api/v1/predictions/ until `shows(results)` holds (or 10 s pass: the assert shows it)."""
    deadline = time.monotonic() + 10
    while True:
        body = api.get("/api/v1/predictions/", params=params).json()
        if shows(body["results"]) or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


# --- docs -----------------------------------------------------------------------------------------


def test_schema_documents_the_predict_route(anon_api: Api) -> None:
    schema = anon_api.get("/api/schema/", params={"format": "json"})

    assert schema.status_code == 200
    operation = schema.json()["paths"]["/api/v1/models/{ref}/predict/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["examples"]["flat"]
    assert {"200", "400", "401", "404", "409"} <= set(operation["responses"])


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_serve(path: str, anon_api: Api) -> None:
    response = anon_api.get(path)

    assert response.status_code == 200
    assert "cdn" not in response.text.lower()


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("_case", "method", "path", "status"),
    [
        ("model id", "get", f"/api/v1/models/{HUGE}/", 404),
        ("model version", "get", f"/api/v1/models/iris:{HUGE}/", 404),
        ("job id", "get", f"/api/v1/training-jobs/{HUGE}/", 404),
        ("prediction id", "get", f"/api/v1/predictions/{HUGE}/", 404),
        ("predict", "post", f"/api/v1/models/{HUGE}/predict/", 404),
        # str.isdigit() accepts '¹', int() refuses it (found by the REST fuzzer: a 500)
        ("superscript model id", "delete", "/api/v1/models/%C2%B9/", 404),
        ("superscript model id get", "get", "/api/v1/models/%C2%B9/", 404),
        ("superscript version", "get", "/api/v1/models/iris:%C2%B9/", 400),
        ("superscript predict", "post", "/api/v1/models/%C2%B9/predict/", 404),
        ("superscript filter", "get", "/api/v1/predictions/?model=%C2%B9", 200),
    ],
)
def test_ids_past_bigint_are_not_found_not_500(
    _case: str, method: str, path: str, status: int, staff_api: Api
) -> None:
    """Found by schemathesis on PostgreSQL, which raises DataError past bigint."""
    response = getattr(staff_api, method)(path, json={"X": [[1, 2]]})

    assert response.status_code == status
    assert ("error" in response.json()) == (status != 200)


def test_filter_by_huge_model_id_is_empty(staff_api: Api) -> None:
    response = staff_api.get("/api/v1/predictions/", params={"model": HUGE})

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"created_after": "2000-01-01T00:00:00Z", "created_before": "2000-01-01T00:00:00+16:00"},
        {"created_after": "0001-01-01T00:00:00+05:00"},
    ],
)
def test_odd_time_offsets_are_answered(params: dict[str, str], staff_api: Api) -> None:
    """Found by schemathesis: PostgreSQL refuses offsets past +15:59."""
    response = staff_api.get("/api/v1/predictions/", params=params)

    assert response.status_code == 200


def csv_upload(api: Api, body: str, **fields: str) -> Any:
    form = {"name": unique("csv"), "algorithm": "logistic_regression", "target": "kind", **fields}
    return api.post(
        "/api/v1/training-jobs/", data=form, files={"csv": ("flowers.csv", body.encode())}
    )


def test_csv_training_data_with_a_target_column(staff_api: Api) -> None:
    rows = "\n".join(f"{i % 7},{(i * 3) % 5},{'big' if i % 7 > 3 else 'small'}" for i in range(40))

    response = csv_upload(staff_api, "width,height,kind\n" + rows, params='{"C": 2.0}')

    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["task"], job["params"]) == ("classification", {"C": 2.0})


def test_a_csv_over_a_mebibyte_arrives_whole(staff_api: Api) -> None:
    """Bodies over 1 MiB are streamed from the event loop to Django's thread (wsgi_bridge.py),
    not read first: an error on the very last line shows every byte arrived, in order."""
    rows = [f"{i % 7},{(i * 3) % 5},{'big' if i % 7 > 3 else 'small'}" for i in range(150_000)]
    body = "\n".join(["width,height,kind", *rows, ",1,big"])
    assert len(body) > 1 << 20

    response = csv_upload(staff_api, body)

    assert response.status_code == 400, response.text
    assert "line 150002, column 'width' is empty" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("_case", "body", "fields", "message"),
    [
        ("no target column", "a,b\n1,2\n", {}, "target column 'kind' is not in the header"),
        ("empty cell", "a,kind\n1,x\n,y\n", {}, "line 3, column 'a' is empty"),
        ("text feature", "a,kind\n1,x\nred,y\n", {}, "line 3, column 'a' is not a number: 'red'"),
        ("ragged", "a,kind\n1,x\n1,2,3\n", {}, "line 3 has 3 fields, the header has 2"),
        ("no target field", "a,kind\n1,x\n", {"target": ""}, "needs 'target'"),
    ],
)
def test_bad_csv_is_refused(
    _case: str, body: str, fields: dict[str, str], message: str, staff_api: Api
) -> None:
    response = csv_upload(staff_api, body, **fields)

    assert response.status_code == 400, response.text
    assert message in response.json()["error"]["message"]
