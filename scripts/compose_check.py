"""`make compose-check`: validate docker-compose.yml without a Docker engine.

Uses `docker compose config` when the Compose plugin is installed; always runs our own checks,
which catch what breaks a deployment even when the YAML is valid: dangling depends_on, a
`service_healthy` dependency without a health check, long-running services without a restart
policy or health check, undeclared named volumes, bind mounts of files that do not exist, and
Prometheus targets that name no service.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = {"web", "grpc", "mqtt", "worker", "redis", "mosquitto", "postgres", "prometheus"}
RESTART_POLICIES = ("always", "unless-stopped", "on-failure")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
PORT = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}:)?\d{1,5}:\d{1,5}(/(tcp|udp))?$")


def problems(compose: dict[str, Any], root: Path) -> list[str]:
    found: list[str] = []
    services: dict[str, Any] = compose.get("services") or {}
    volumes = set((compose.get("volumes") or {}).keys())
    found += [f"missing service '{name}'" for name in sorted(REQUIRED - set(services))]
    for name, service in services.items():
        where = f"service '{name}'"
        if "image" not in service and "build" not in service:
            found.append(f"{where}: needs 'image' or 'build'")
        depends = service.get("depends_on") or {}
        for target, spec in depends.items() if isinstance(depends, dict) else []:
            if target not in services:
                found.append(f"{where}: depends on unknown service '{target}'")
                continue
            condition = (spec or {}).get("condition", "service_started")
            if condition not in CONDITIONS:
                found.append(f"{where}: unknown condition '{condition}'")
            if condition == "service_healthy" and "healthcheck" not in services[target]:
                found.append(f"{where}: waits for '{target}' to be healthy; it has no healthcheck")
        long_running = service.get("restart") != "no"
        if long_running and service.get("restart") not in RESTART_POLICIES:
            found.append(f"{where}: needs a restart policy")
        if long_running and "healthcheck" not in service:
            found.append(f"{where}: needs a healthcheck")
        for port in service.get("ports") or []:
            if not isinstance(port, str) or not PORT.match(port):
                found.append(f"{where}: port {port!r} should be a quoted 'host:container' string")
        for volume in service.get("volumes") or []:
            source = str(volume).split(":")[0]
            if source.startswith((".", "/")):
                if not (root / source).exists():
                    found.append(f"{where}: bind mount source {source} does not exist")
            elif source not in volumes:
                found.append(f"{where}: named volume '{source}' is not declared")
        command = service.get("command")
        script = command.split()[0] if isinstance(command, str) else ""
        if script.startswith("scripts/") and not (root / script).exists():
            found.append(f"{where}: command {script} does not exist")
    found += _prometheus_targets(services, root)
    return found


def _prometheus_targets(services: dict[str, Any], root: Path) -> list[str]:
    config = root / "deploy" / "prometheus" / "prometheus.yml"
    if not config.exists():
        return ["deploy/prometheus/prometheus.yml is missing"]
    scrape = yaml.safe_load(config.read_text()).get("scrape_configs") or []
    found = []
    for job in scrape:
        for static in job.get("static_configs") or []:
            for target in static.get("targets") or []:
                host = target.split(":")[0]
                if host not in services:
                    found.append(
                        f"prometheus job '{job['job_name']}' scrapes unknown host '{host}'"
                    )
    return found


def main() -> int:
    path = ROOT / "docker-compose.yml"
    compose = yaml.safe_load(path.read_text())
    found = problems(compose, ROOT)
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        result = subprocess.run(
            [docker, "compose", "-f", str(path), "config", "-q"], capture_output=True, text=True
        )
        if result.returncode != 0:
            found.append(f"docker compose config: {result.stderr.strip()}")
    else:
        print("(docker compose is not installed here: structural checks only)")
    for problem in found:
        print(f"docker-compose.yml: {problem}")
    if not found:
        print(f"docker-compose.yml: {len(compose['services'])} services OK")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
