"""Starting real server processes for end-to-end tests, and waiting until they answer."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = PROJECT_ROOT / "test-artifacts" / "logs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def run_process(
    name: str, argv: list[str], env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server in its own process group, output in test-artifacts/logs; SIGTERM the group
    afterwards (SIGKILL if it has not stopped within 20 s)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        argv,
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_group(process)
        log.close()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and everything it started: a crash, not a shutdown."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for_log(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{path.name}: process exited with {process.returncode}")
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{path.name}: {text!r} did not appear within {timeout}s")


@contextlib.contextmanager
def run_worker(env: dict[str, str], queue: str, name: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real Celery worker (prefork, one child) consuming `queue`; yields once it is ready."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "mlplatform",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
        "--queues",
        queue,
        "--hostname",
        f"{name}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    with run_process(name, argv, env) as process:
        wait_for_log(LOG_DIR / f"{name}.log", "ready.", process, timeout=60)
        yield process


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {LOG_DIR}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


@contextlib.contextmanager
def run_web_server(env: dict[str, str], workers: int = 1) -> Iterator[str]:
    with run_web_server_process(env, workers) as (base_url, _):
        yield base_url


@contextlib.contextmanager
def run_web_server_process(
    env: dict[str, str], workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """uvicorn on mlplatform.asgi (multiprocess metrics, as in production); yields (URL, process)."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "mlplatform.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
    ]
    metrics_dir = LOG_DIR.parent / "metrics" / f"web-{port}"  # as scripts/run_web.sh does
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), **env}
    with run_process(f"web-{port}", argv, env) as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base_url}/healthz", process)
        yield base_url, process


@contextlib.contextmanager
def run_grpc_server(env: dict[str, str], name: str = "grpc") -> Iterator[str]:
    """The real gRPC process (`manage.py grpcserver`) on a free port; yields host:port."""
    with run_grpc_server_process(env, name) as (address, _):
        yield address


@contextlib.contextmanager
def run_grpc_server_process(
    env: dict[str, str], name: str = "grpc"
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    argv = [sys.executable, "manage.py", "grpcserver", "--address", f"127.0.0.1:{port}"]
    with run_process(f"{name}-{port}", argv, env) as process:
        wait_for_log(LOG_DIR / f"{name}-{port}.log", "gRPC server listening", process, timeout=60)
        yield f"127.0.0.1:{port}", process
