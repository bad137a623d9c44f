"""The layering rule of DESIGN.md: the domain imports no protocol library, imports point one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_LIBRARIES = ("rest_framework", "graphene", "graphql", "spyne", "channels", "grpc", "paho")
ADAPTER_DIRS = {"rest", "graphql", "soap", "ws", "grpc", "mqtt", "management", "migrations", "v2"}
ADAPTER_FILES = {"admin.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _domain_modules(app: str) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / app).rglob("*.py"))
        if not (set(path.relative_to(ROOT / app).parts[:-1]) & ADAPTER_DIRS)
        and path.name not in ADAPTER_FILES
    ]


@pytest.mark.parametrize(
    "path",
    _domain_modules("models_app") + _domain_modules("predictions"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_domain_imports_no_protocol_library(path: Path) -> None:
    offending = {name for name in _imports(path) if name.split(".")[0] in PROTOCOL_LIBRARIES}

    assert offending == set()


@pytest.mark.parametrize(
    "path", sorted((ROOT / "models_app").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_registry_never_imports_predictions(path: Path) -> None:
    assert {n for n in _imports(path) if n.split(".")[0] == "predictions"} == set()


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "models_app" / "runtimes").rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_runtimes_are_free_of_django(path: Path) -> None:
    assert {n for n in _imports(path) if n.split(".")[0] in ("django", "mlplatform")} == set()
