"""`make bench-peers`: our REST, V2 REST, gRPC and V2 gRPC beside the servers people pick instead.

Seldon MLServer 1.7.1 (default, and parallel_workers=0), the seed's Flask + gunicorn REST example
and its plain-grpcio example each run from their own virtualenv (cached, keyed by their pinned
requirements), serving the same iris LogisticRegression. One client drives everything in the
same run, protocols interleaved round by round; ratios are computed within the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import run as ours  # noqa: E402
from bench.clients import Client, FlaskRest, Grpc, Rest, Target, V2Grpc, V2Rest  # noqa: E402
from tests.servers import LOG_DIR, free_port, run_process, wait_for_http, wait_for_log  # noqa: E402

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("MLP_CACHE_DIR", Path.home() / ".cache" / "mlplatform"))
WORK = ROOT / "var" / "bench" / "peers"
RESULTS = ROOT / "bench" / "peers_results.json"


def peer_python(name: str) -> str:
    """A virtualenv with the peer's pinned requirements, built once and cached."""
    requirements = HERE / f"requirements-{name}.txt"
    key = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    venv = CACHE / f"bench-{name}-{key}"
    if not (venv / ".complete").exists():
        print(f"==> building the {name} virtualenv (first time only)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(requirements)],
            check=True,
        )
        (venv / ".complete").touch()
    return str(venv / "bin" / "python")


def train_iris(path: Path) -> None:
    import joblib
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    data = load_iris()
    labels = np.array([str(n) for n in data.target_names])
    joblib.dump(LogisticRegression(max_iter=1000).fit(data.data, labels[data.target]), path)


@contextlib.contextmanager
def mlserver(python: str, model: Path, workers: int, name: str) -> Iterator[dict[str, Any]]:
    http, grpc_port, metrics = free_port(), free_port(), free_port()
    folder = WORK / name
    (folder / "iris").mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "http_port": http,
                "grpc_port": grpc_port,
                "metrics_port": metrics,
                "parallel_workers": workers,
                "debug": False,
                "host": "127.0.0.1",
            }
        )
    )
    (folder / "iris" / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "iris",
                "implementation": "mlserver_sklearn.SKLearnModel",
                "parameters": {"uri": str(model)},
            }
        )
    )
    mlserver_bin = str(Path(python).parent / "mlserver")
    with run_process(f"peer-{name}", [mlserver_bin, "start", str(folder)], {}) as process:
        wait_for_http(f"http://127.0.0.1:{http}/v2/health/ready", process, timeout=120)
        yield {
            "http": f"http://127.0.0.1:{http}",
            "grpc": f"127.0.0.1:{grpc_port}",
            "pid": process.pid,
        }


@contextlib.contextmanager
def flask(python: str, model: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    gunicorn = str(Path(python).parent / "gunicorn")
    argv = [gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "--chdir", str(HERE), "flask_app:app"]
    with run_process("peer-flask", argv, {"IRIS_MODEL": str(model)}) as process:
        time.sleep(1.0)
        wait_for_log(LOG_DIR / "peer-flask.log", "Booting worker", process, timeout=60)
        time.sleep(1.0)
        yield {"http": f"http://127.0.0.1:{port}", "pid": process.pid}


@contextlib.contextmanager
def grpcio(python: str, model: Path) -> Iterator[dict[str, Any]]:
    port = free_port()
    argv = [python, str(HERE / "grpc_server.py"), str(port)]
    with run_process("peer-grpcio", argv, {"IRIS_MODEL": str(model)}) as process:
        wait_for_log(LOG_DIR / "peer-grpcio.log", "listening", process, timeout=60)
        yield {"grpc": f"127.0.0.1:{port}", "pid": process.pid}


async def measure_all(
    entries: list[tuple[str, Client, int]], rounds: int, requests: int
) -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng(21)
    for _, client, _ in entries:
        await client.start()
        await client.run(ours.rows(50, rng), 4)
    results: dict[str, dict[str, Any]] = {}
    for concurrency in (1, 16):
        n = requests * (1 if concurrency == 1 else 4)
        measured: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in entries}
        for _ in range(rounds):
            for name, client, pid in entries:
                measured[name].append(
                    await ours.measure(
                        client, concurrency, n, {"web": pid, "grpc": pid, "mqtt": pid}, rng
                    )
                )
        for name, values in measured.items():
            results.setdefault(name, {})[f"c{concurrency}"] = ours.summarise(values)
    for _, client, _ in entries:
        await client.stop()
    return results


def report(results: dict[str, dict[str, Any]]) -> str:
    def ratio(a: str, b: str, c: str) -> str:
        return f"x{results[a][c]['rps'] / results[b][c]['rps']:.2f}"

    lines = ["", f"{'server / protocol':<34} c=1 rps  p50 ms  cpu ms | c=16 rps  p50 ms  cpu ms"]
    for name, by_c in results.items():
        a, b = by_c["c1"], by_c["c16"]
        lines.append(
            f"{name:<34} {a['rps']:7.0f} {a['p50_ms']:7.2f} {a['cpu_ms_per_request']:7.2f} |"
            f" {b['rps']:7.0f} {b['p50_ms']:7.2f} {b['cpu_ms_per_request']:7.2f}"
        )
    pw0 = "MLServer parallel_workers=0, V2 REST"
    lines += [
        "",
        f"REST vs MLServer pw=0 V2 REST: c=1 {ratio('MLPlatform REST', pw0, 'c1')}, "
        f"c=16 {ratio('MLPlatform REST', pw0, 'c16')}",
        f"V2 REST vs MLServer pw=0 V2 REST: c=1 {ratio('MLPlatform V2 REST', pw0, 'c1')}, "
        f"c=16 {ratio('MLPlatform V2 REST', pw0, 'c16')}",
        f"V2 gRPC vs MLServer pw=0 V2 gRPC: c=1 "
        f"{ratio('MLPlatform V2 gRPC', 'MLServer parallel_workers=0, V2 gRPC', 'c1')}, c=16 "
        f"{ratio('MLPlatform V2 gRPC', 'MLServer parallel_workers=0, V2 gRPC', 'c16')}",
        "gRPC vs plain grpcio: c=16 "
        f"{ratio('MLPlatform gRPC', 'plain grpcio ThreadPool(10)', 'c16')}",
    ]
    return "\n".join(lines)


async def main_async(rounds: int, requests: int) -> dict[str, Any]:
    WORK.mkdir(parents=True, exist_ok=True)
    model = WORK / "iris.joblib"
    train_iris(model)
    pythons = {name: peer_python(name) for name in ("mlserver", "flask", "grpcio")}
    data_dir = ROOT / "var" / "bench"
    url = ours.database_url(data_dir)
    env = ours.bench_env(url, data_dir)
    ours.manage(env, "collectstatic", "--noinput", "-v0")
    ours.prepare(env)
    with (
        ours.platform(env, 2) as platform,
        mlserver(pythons["mlserver"], model, 1, "mlserver-default") as default,
        mlserver(pythons["mlserver"], model, 0, "mlserver-pw0") as pw0,
        flask(pythons["flask"], model) as flask_server,
        grpcio(pythons["grpcio"], model) as grpc_server,
    ):
        token = ours.token(platform["http"])
        us = Target(platform["http"], platform["grpc"], token)
        web, grpc_pid = platform["groups"]["web"], platform["groups"]["grpc"]

        def peer(server: dict[str, Any]) -> Target:
            return Target(server.get("http", ""), server.get("grpc", ""), "unused")

        entries: list[tuple[str, Client, int]] = [
            ("MLPlatform REST", Rest(us), web),
            ("MLPlatform V2 REST", V2Rest(us), web),
            ("MLPlatform gRPC", Grpc(us), grpc_pid),
            ("MLPlatform V2 gRPC", V2Grpc(us), grpc_pid),
            ("MLServer default, V2 REST", V2Rest(peer(default)), default["pid"]),
            ("MLServer default, V2 gRPC", V2Grpc(peer(default)), default["pid"]),
            ("MLServer parallel_workers=0, V2 REST", V2Rest(peer(pw0)), pw0["pid"]),
            ("MLServer parallel_workers=0, V2 gRPC", V2Grpc(peer(pw0)), pw0["pid"]),
            ("Flask + gunicorn (seed REST)", FlaskRest(peer(flask_server)), flask_server["pid"]),
            ("plain grpcio ThreadPool(10)", Grpc(peer(grpc_server)), grpc_server["pid"]),
        ]
        return await measure_all(entries, rounds, requests)


def main() -> int:
    rounds = int(os.environ.get("BENCH_ROUNDS", "3"))
    requests = int(os.environ.get("BENCH_REQUESTS", "300"))
    results = asyncio.run(main_async(rounds, requests))
    for by_c in results.values():
        for summary in by_c.values():
            summary.pop("latencies", None)
    RESULTS.write_text(
        json.dumps({"date": time.strftime("%Y-%m-%d"), "results": results}, indent=2) + "\n"
    )
    print(report(results))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}; medians of {rounds} interleaved rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
