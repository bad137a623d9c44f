"""A GraphQL query text is parsed and validated once; what is invalid is still reported."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from mlplatform import graphql_documents
from mlplatform.tokens import access_token_for

COUNT = "query Count($task: String) { modelsCount(task: $task) }"


def post(client: Client, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/graphql/",
        data=json.dumps({"query": query, "variables": variables}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"JWT {token}",
    )
    return dict(response.json())


def test_a_query_text_is_validated_once(user: Any, monkeypatch: Any) -> None:
    validations: list[object] = []
    validate = graphql_documents.validate
    monkeypatch.setattr(
        graphql_documents,
        "validate",
        lambda *args: validations.append(args) or validate(*args),
    )
    graphql_documents.valid_document.cache_clear()
    token = access_token_for(user)

    everything = post(Client(), token, COUNT, {})
    regressions = post(Client(), token, COUNT, {"task": "regression"})

    assert len(validations) == 1
    assert everything["data"]["modelsCount"] >= regressions["data"]["modelsCount"] >= 2


def test_invalid_queries_are_reported_every_time(user: Any) -> None:
    token = access_token_for(user)

    answers = [post(Client(), token, "{ allModels { colour } }", {}) for _ in range(2)]

    for answer in answers:
        assert answer["errors"][0]["extensions"]["code"] == "invalid_input"
        assert "colour" in answer["errors"][0]["message"]
