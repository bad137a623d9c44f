"""The nested GraphQL query costs the same number of SQL queries however many rows there are."""

from __future__ import annotations

import json
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mlplatform.tokens import access_token_for
from models_app.models import MLModel
from predictions.models import Prediction

NESTED = """{ allModels(first: 100) { ref createdBy predictionCount versions { ref }
  recentPredictions(first: 3) { protocol user model { name } } } }"""


def add_models(names: range, staff: Any) -> None:
    """Two versions per name, four predictions on the first."""
    for i in names:
        model = MLModel.objects.create(
            name=f"n1-{i}", version=1, task="regression", framework="sklearn", status="ready"
        )
        MLModel.objects.create(name=f"n1-{i}", version=2, task="regression", framework="sklearn")
        Prediction.objects.bulk_create(
            Prediction(
                model=model, user=staff, protocol="rest", inputs={}, outputs={}, latency_ms=1.0
            )
            for _ in range(4)
        )


def nested_query_cost(client: Client, token: str) -> tuple[int, dict[str, Any]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/graphql/",
            data=json.dumps({"query": NESTED}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"JWT {token}",
        )
    return len(queries), response.json()


def test_nested_query_count_is_constant(staff: Any) -> None:
    client, token = Client(), access_token_for(staff)
    add_models(range(3), staff)
    few, first = nested_query_cost(client, token)

    add_models(range(3, 15), staff)
    many, second = nested_query_cost(client, token)

    assert "errors" not in second, second
    assert len(second["data"]["allModels"]) == len(first["data"]["allModels"]) + 24
    assert many == few
    row = next(m for m in second["data"]["allModels"] if m["ref"] == "n1-7:1")
    assert row["predictionCount"] == 4
    assert [v["ref"] for v in row["versions"]] == ["n1-7:2", "n1-7:1"]
    assert len(row["recentPredictions"]) == 3
    assert row["recentPredictions"][0]["model"]["name"] == "n1-7"


def test_recent_predictions_with_first_null_gets_the_default(staff: Any) -> None:
    """Found by the GraphQL fuzzer: an explicit `first: null` reached the resolver as None."""
    client, token = Client(), access_token_for(staff)
    add_models(range(20, 21), staff)
    response = client.post(
        "/graphql/",
        data=json.dumps(
            {
                "query": '{ allModels(name: "n1-20") { ref recentPredictions(first: null) { user } } }'
            }
        ),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    ).json()

    assert "errors" not in response, response
    row = next(m for m in response["data"]["allModels"] if m["ref"] == "n1-20:1")
    assert len(row["recentPredictions"]) == 4  # its four; the default would allow five
