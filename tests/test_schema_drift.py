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


def test_generated_grpc_code_matches_the_protos(tmp_path: Path) -> None:
    """protos/ is the source; predictions/grpc/gen/ must be exactly what `make protos` makes."""
    import runpy

    committed = COMMITTED.parent.parent / "predictions" / "grpc" / "gen"
    generate = runpy.run_path(str(COMMITTED.parent.parent / "scripts" / "gen_protos.py"))[
        "generate"
    ]

    generate(tmp_path)

    def files(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): p.read_text()
            for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    assert files(tmp_path) == files(committed), "generated gRPC code drifted: run `make protos`"
