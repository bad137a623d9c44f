"""The committed OpenAPI schema is what the code generates, with no warnings (`make schema`)."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

COMMITTED = Path(__file__).resolve().parent.parent / "schema" / "openapi.yaml"


def test_openapi_schema_matches_the_code(tmp_path: Path) -> None:
    generated = tmp_path / "openapi.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated))

    assert generated.read_text() == COMMITTED.read_text(), "schema drifted: run `make schema`"


def test_graphql_schema_matches_the_code(tmp_path: Path) -> None:
    generated = tmp_path / "schema.graphql"

    call_command("graphql_schema", "--out", str(generated))

    committed = COMMITTED.parent.parent / "schema.graphql"
    assert generated.read_text() == committed.read_text(), "schema drifted: run `make schema`"
