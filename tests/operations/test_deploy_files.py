"""The shipped deployment files hold together: compose, Prometheus, nginx, Grafana."""

from __future__ import annotations

import copy
import json
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
check = runpy.run_path(str(ROOT / "scripts" / "compose_check.py"))


@pytest.fixture
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_shipped_compose_file_passes(compose: dict[str, Any]) -> None:
    assert check["problems"](compose, ROOT) == []


@pytest.mark.parametrize(
    ("_case", "breakage", "expected"),
    [
        ("dangling dependency", lambda c: c["services"]["web"]["depends_on"].update({"ghost": {}}), "unknown service 'ghost'"),
        ("no healthcheck", lambda c: c["services"]["grpc"].pop("healthcheck"), "'grpc': needs a healthcheck"),
        ("healthy dependency without a check", lambda c: c["services"]["redis"].pop("healthcheck"), "waits for 'redis' to be healthy"),
        ("no restart policy", lambda c: c["services"]["mqtt"].pop("restart"), "'mqtt': needs a restart policy"),
        ("missing bind source", lambda c: c["services"]["prometheus"]["volumes"].append("./nope.yml:/x"), "./nope.yml does not exist"),
        ("undeclared volume", lambda c: c["services"]["web"]["volumes"].append("ghost:/x"), "named volume 'ghost'"),
        ("missing service", lambda c: c["services"].pop("prometheus"), "missing service 'prometheus'"),
    ],
)  # fmt: skip
def test_the_check_catches_broken_files(
    compose: dict[str, Any], _case: str, breakage: Any, expected: str
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["web"].setdefault("volumes", [])
    breakage(broken)

    assert any(expected in problem for problem in check["problems"](broken, ROOT))


def test_grafana_dashboard_queries_metrics_we_export() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "mlplatform.json").read_text())
    exported = (ROOT / "mlplatform" / "metrics.py").read_text() + (
        ROOT / "models_app" / "job_metrics.py"
    ).read_text()
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]

    assert len(expressions) >= 8
    for name in {n for e in expressions for n in re.findall(r"\bmlp_[a-z_]+", e)}:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert f'"{base}"' in exported, f"the dashboard queries {name}, which nothing exports"


def test_nginx_routes_websockets_with_upgrade_headers() -> None:
    config = (ROOT / "deploy" / "nginx" / "mlplatform.conf").read_text()

    assert "location /ws/" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    assert "grpc_pass grpc://mlplatform_grpc;" in config
    assert config.count("{") == config.count("}")
