"""Schemathesis against the live GraphQL schema (bounded): no 5xx, no `internal` error codes.

Every query and mutation gets generated arguments as a regular user: refusals must come back as
GraphQL errors with the contract's codes, never as server failures.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.e2e

EXAMPLES_PER_OPERATION = 10
DETERMINISTIC = bool(os.environ.get("CI"))  # as in test_rest_fuzz.py


# Our JSONString inputs: valid contract bodies, other JSON, and text that is no JSON at all.
JSON_INPUTS = st.sampled_from(
    [
        '{"X": [[5.1, 3.5, 1.4, 0.2]]}',
        '{"feature1": 1, "feature2": 2}',
        '{"text": "great"}',
        "[1, 2]",
        "{}",
        '{"X": "nope"}',
    ]
) | st.text(max_size=40)
schemathesis.graphql.scalar("JSONString", JSON_INPUTS.map(schemathesis.graphql.nodes.String))


def test_graphql_never_fails_on_generated_queries(web_server: str, user_jwt: str) -> None:
    schema = schemathesis.graphql.from_url(f"{web_server}/graphql/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        _fuzz(operation, user_jwt)


def _fuzz(operation: Any, token: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=DETERMINISTIC,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(headers={"Authorization": f"JWT {token}"}, timeout=30)
        assert response.status_code < 500, f"{operation.label}: {response.text[:500]}"
        body = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        assert "internal" not in codes, f"{operation.label}: {response.text[:500]}"

    run()
