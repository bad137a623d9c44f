"""GraphQL end to end: HTTP against the real server, tokens shared with REST, errors with codes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from predictions.models import Prediction
from tests.conftest import ADMIN
from tests.recorded import never_recorded

pytestmark = pytest.mark.e2e

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
CREATE = """
mutation($name: String, $id: ID, $input: JSONString!) {
  createPrediction(modelName: $name, modelId: $id, inputData: $input) {
    prediction { id output cached latencyMs model { name version } }
  }
}"""


def gql(
    base: str, query: str, variables: dict | None = None, token: str | None = None, **headers: str
) -> dict[str, Any]:
    if token:
        headers.setdefault("Authorization", f"JWT {token}")
    response = requests.post(
        f"{base}/graphql/",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=30,
    )
    assert response.status_code in (200, 400), response.text
    return dict(response.json())


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.fixture(scope="module")
def gql_token(web_server: str) -> str:
    body = gql(
        web_server,
        'mutation { tokenAuth(username: "alice", password: "alice-password") { token } }',
    )
    return str(body["data"]["tokenAuth"]["token"])


# --- auth -----------------------------------------------------------------------------------------


def test_protected_query_needs_a_token(web_server: str, gql_token: str) -> None:
    anonymous = gql(web_server, "{ me { username } }")
    signed_in = gql(web_server, "{ me { username isStaff } }", token=gql_token)

    assert codes(anonymous) == ["unauthenticated"]
    assert signed_in["data"]["me"] == {"username": "alice", "isStaff": False}


def test_one_token_for_every_protocol(web_server: str, gql_token: str, user_jwt: str) -> None:
    """A tokenAuth token works on REST; a REST token works on GraphQL, with either prefix."""
    rest = requests.post(
        f"{web_server}/api/v1/models/demo/predict/",
        json={"X": [[1, 2]]},
        headers={"Authorization": f"Bearer {gql_token}"},
        timeout=10,
    )
    drf = requests.get(
        f"{web_server}/api/v1/models/", headers={"Authorization": f"JWT {gql_token}"}, timeout=10
    )
    graphql_with_rest_token = gql(
        web_server, "{ me { username } }", Authorization=f"Bearer {user_jwt}"
    )

    assert rest.status_code == 200
    assert drf.status_code == 200
    assert graphql_with_rest_token["data"]["me"]["username"] == "alice"


def test_only_a_browser_gets_a_csrf_cookie(web_server: str, gql_token: str) -> None:
    """GraphiQL in a browser posts with the CSRF cookie; a client that sends its token in a
    header gets none (minting one on every response was a sixth of a createPrediction's CPU)."""
    query = {"query": "{ me { username } }"}
    with_token = requests.post(
        f"{web_server}/graphql/",
        json=query,
        headers={"Authorization": f"JWT {gql_token}"},
        timeout=10,
    )
    graphiql = requests.get(f"{web_server}/graphql/", headers={"Accept": "text/html"}, timeout=10)

    assert with_token.json()["data"]["me"]["username"] == "alice"
    assert "csrftoken" not in with_token.cookies
    assert "csrftoken" in graphiql.cookies


def test_verify_and_refresh(web_server: str, gql_token: str) -> None:
    verified = gql(
        web_server, "mutation($t: String!) { verifyToken(token: $t) { payload } }", {"t": gql_token}
    )
    refreshed = gql(
        web_server, "mutation($t: String!) { refreshToken(token: $t) { token } }", {"t": gql_token}
    )

    assert verified["data"]["verifyToken"]["payload"]["username"] == "alice"
    new_token = refreshed["data"]["refreshToken"]["token"]
    assert (
        gql(web_server, "{ me { username } }", token=new_token)["data"]["me"]["username"] == "alice"
    )


def test_bad_credentials_and_tampered_token(web_server: str, gql_token: str) -> None:
    wrong = gql(web_server, 'mutation { tokenAuth(username: "alice", password: "x") { token } }')
    tampered = gql(web_server, "{ me { username } }", token=gql_token[:-4] + "AAAA")

    assert wrong["errors"][0]["message"] == "Please enter valid credentials"
    assert codes(wrong) == ["unauthenticated"]
    assert codes(tampered) == ["unauthenticated"]


# --- queries --------------------------------------------------------------------------------------


def test_all_models_filters_order_and_pages(web_server: str, gql_token: str) -> None:
    body = gql(
        web_server,
        """{ regression: allModels(task: "regression", orderBy: "-name") { ref task stage }
             page: allModels(first: 2, offset: 1, orderBy: "name") { name }
             everything: modelsCount
             regressions: modelsCount(task: "regression") }""",
        token=gql_token,
    )["data"]

    refs = [m["ref"] for m in body["regression"]]
    assert {"demo:1", "diabetes:1"} <= set(refs)
    assert all(m["task"] == "regression" for m in body["regression"])
    names = [m["ref"].split(":")[0] for m in body["regression"]]
    assert names == sorted(names, reverse=True)
    assert len(body["page"]) == 2
    assert body["regressions"] == len(body["regression"])
    assert body["everything"] >= 5


def test_model_by_name_and_id_with_nested_fields(web_server: str, gql_token: str) -> None:
    by_name = gql(
        web_server,
        """{ model(name: "iris") { id ref featureNames labels metrics servingRuntime
             versions { ref } predictionCount recentPredictions(first: 2) { protocol } } }""",
        token=gql_token,
    )["data"]["model"]
    by_id = gql(web_server, f'{{ model(id: "{by_name["id"]}") {{ ref }} }}', token=gql_token)

    assert by_name["ref"] == "iris:1"
    assert by_name["labels"] == ["setosa", "versicolor", "virginica"]
    assert json.loads(by_name["metrics"])["accuracy"] > 0.9
    assert "iris:1" in [v["ref"] for v in by_name["versions"]]
    assert by_id["data"]["model"]["ref"] == "iris:1"


@pytest.mark.parametrize(
    ("_case", "query", "code"),
    [
        ("unknown model", '{ model(name: "nope") { ref } }', "model_not_found"),
        ("bad id", '{ model(id: "abc") { ref } }', "model_not_found"),
        ("bad ordering", '{ allModels(orderBy: "colour") { ref } }', "invalid_input"),
        ("page too big", "{ allModels(first: 1000) { ref } }", "invalid_input"),
        ("jobs are staff", "{ trainingJobs { id } }", "forbidden"),
        ("no such field", "{ allModels { colour } }", "invalid_input"),
        ("NUL in a filter", '{ allModels(name: "a\\u0000") { ref } }', "invalid_input"),
        (
            "NUL in a username",  # found by the fuzzer: PostgreSQL refused it, we answered internal
            'mutation { tokenAuth(username: "\\u0000", password: "") { token } }',
            "invalid_input",
        ),
    ],
)
def test_query_errors_carry_codes(
    _case: str, query: str, code: str, web_server: str, gql_token: str
) -> None:
    assert codes(gql(web_server, query, token=gql_token)) == [code]


def test_depth_limit_refuses_deep_queries(web_server: str, gql_token: str) -> None:
    deep = "{ allModels { " + "versions { " * 10 + "ref" + " }" * 10 + " } }"

    body = gql(web_server, deep, token=gql_token)

    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


def test_wide_queries_are_refused_by_the_field_limit(web_server: str, gql_token: str) -> None:
    wide = "{ " + " ".join(f"m{i}: allModels {{ id }}" for i in range(150)) + " }"
    via_fragments = (
        "fragment F on MLModel { id name } { a: allModels { ...F } b: allModels { ...F } }"
    )

    refused = gql(web_server, wide, token=gql_token)
    allowed = gql(web_server, via_fragments, token=gql_token)

    assert "the limit is 200" in refused["errors"][0]["message"]
    assert "data" not in refused or refused["data"] is None
    assert "errors" not in allowed, allowed


# --- createPrediction -----------------------------------------------------------------------------


def test_create_prediction_matches_rest(web_server: str, gql_token: str, user_jwt: str) -> None:
    for model, payload in (("iris", {"X": [[6.2, 2.9, 4.3, 1.3]]}), ("demo", {"X": [[1.5, 2.5]]})):
        body = gql(
            web_server, CREATE, {"name": model, "input": json.dumps(payload)}, token=gql_token
        )
        rest = requests.post(
            f"{web_server}/api/v1/models/{model}/predict/",
            json=payload,
            headers={"Authorization": f"Bearer {user_jwt}"},
            timeout=10,
        ).json()

        prediction = body["data"]["createPrediction"]["prediction"]
        output = json.loads(prediction["output"])
        assert prediction["model"] == {"name": model, "version": 1}
        assert output["predictions"] == rest["predictions"]
        assert output.get("probabilities") == rest.get("probabilities")
        assert prediction["latencyMs"] >= 0


def test_create_prediction_by_id_records_protocol(
    web_server: str, gql_token: str, db_reader: None
) -> None:
    iris_id = gql(web_server, '{ model(name: "iris") { id } }', token=gql_token)["data"]["model"][
        "id"
    ]

    body = gql(web_server, CREATE, {"id": iris_id, "input": json.dumps(SETOSA)}, token=gql_token)

    row = Prediction.objects.get(pk=body["data"]["createPrediction"]["prediction"]["id"])
    assert (row.protocol, row.model.ref, row.user.username) == ("graphql", "iris:1", "alice")


@pytest.mark.parametrize(
    ("_case", "variables", "code"),
    [
        ("bad json", {"name": "iris", "input": "{not json"}, "invalid_input"),
        ("short row", {"name": "iris", "input": '{"X": [[1, 2]]}'}, "invalid_input"),
        ("text value", {"name": "iris", "input": '{"X": [[1, "a", 3, 4]]}'}, "invalid_input"),
        ("unknown model", {"name": "nope", "input": "{}"}, "model_not_found"),
        ("both refs", {"name": "iris", "id": "1", "input": "{}"}, "invalid_input"),
        ("no ref", {"input": "{}"}, "invalid_input"),
        (
            "NUL in id",
            {"name": "iris", "input": '{"X": [[1, 2, 3, 4]], "id": "\\u0000"}'},
            "invalid_input",
        ),
    ],
)
def test_bad_predictions_get_codes_and_no_row(
    _case: str, variables: dict, code: str, web_server: str, gql_token: str, db_reader: None
) -> None:
    request_id = f"gql-{uuid.uuid4().hex}"

    body = gql(web_server, CREATE, variables, token=gql_token, **{"X-Request-ID": request_id})

    assert codes(body) == [code]
    assert (body.get("data") or {}).get("createPrediction") is None
    assert never_recorded(Prediction.objects.filter(request_id=request_id))


def test_create_prediction_needs_a_token(web_server: str) -> None:
    body = gql(web_server, CREATE, {"name": "iris", "input": json.dumps(SETOSA)})

    assert codes(body) == ["unauthenticated"]


# --- management mutations -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def staff_gql_token(web_server: str) -> str:
    body = gql(
        web_server,
        "mutation($u: String!, $p: String!) { tokenAuth(username: $u, password: $p) { token } }",
        {"u": ADMIN[0], "p": ADMIN[1]},
    )
    return str(body["data"]["tokenAuth"]["token"])


def test_train_promote_archive(web_server: str, staff_gql_token: str, gql_token: str) -> None:
    name = f"gql-{uuid.uuid4().hex[:6]}"
    trained = gql(
        web_server,
        """mutation($name: String!) { trainModel(name: $name, algorithm: "ridge",
             dataset: "diabetes", params: "{\\"alpha\\": 0.5}") { job { id status params } } }""",
        {"name": name},
        token=staff_gql_token,
    )
    refused = gql(
        web_server,
        'mutation { trainModel(name: "x", algorithm: "ridge", dataset: "diabetes") { job { id } }}',
        token=gql_token,
    )
    demo_id = gql(web_server, '{ model(name: "demo") { id } }', token=gql_token)["data"]["model"][
        "id"
    ]
    user_promote = gql(
        web_server,
        'mutation($id: ID!) { promoteModel(id: $id, stage: "staging") { model { stage } } }',
        {"id": demo_id},
        token=gql_token,
    )

    job = trained["data"]["trainModel"]["job"]
    assert (job["status"], json.loads(job["params"])) == ("queued", {"alpha": 0.5})
    assert codes(refused) == ["forbidden"]
    assert codes(user_promote) == ["forbidden"]


def test_train_model_with_auto_promote_null(web_server: str, staff_gql_token: str) -> None:
    """An explicit null replaces an argument's default in GraphQL; the job must not fail on it."""
    trained = gql(
        web_server,
        """mutation($name: String!) { trainModel(name: $name, algorithm: "ridge",
             dataset: "diabetes", autoPromote: null) { job { status autoPromote } } }""",
        {"name": f"gql-{uuid.uuid4().hex[:6]}"},
        token=staff_gql_token,
    )

    assert trained["data"]["trainModel"]["job"] == {"status": "queued", "autoPromote": False}


def test_staff_promotes_and_archives(web_server: str, staff_gql_token: str, staff_jwt: str) -> None:
    import io

    import numpy as np
    import skops.io as sio
    from sklearn.linear_model import LinearRegression

    X = np.random.default_rng(9).normal(size=(30, 2))
    name = f"gqlm-{uuid.uuid4().hex[:6]}"
    uploaded = requests.post(
        f"{web_server}/api/v1/models/",
        data={"name": name, "task": "regression", "feature_names": '["a", "b"]'},
        files={"artifact": ("m.skops", io.BytesIO(sio.dumps(LinearRegression().fit(X, X[:, 0]))))},
        headers={"Authorization": f"Bearer {staff_jwt}"},
        timeout=30,
    ).json()

    promoted = gql(
        web_server,
        'mutation($id: ID!) { promoteModel(id: $id, stage: "production") { model { id stage } } }',
        {"id": uploaded["id"]},
        token=staff_gql_token,
    )
    archived = gql(
        web_server,
        "mutation($id: ID!) { archiveModel(id: $id) { model { status stage } } }",
        {"id": uploaded["id"]},
        token=staff_gql_token,
    )

    assert promoted["data"]["promoteModel"]["model"]["stage"] == "production"
    assert archived["data"]["archiveModel"]["model"] == {"status": "archived", "stage": "none"}
