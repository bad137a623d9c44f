"""`make bench-choices`: the serving choices behind the defaults, measured side by side in one run.

Four web processes on one bench database, each serving the same REST, GraphQL and SOAP calls
(iris, one row, recorded) and a DRF read (the iris entry of the model list): uvicorn with
Django's routes through its WSGI handler (our WSGI bridge, the default) with 1 and with 2
workers, uvicorn with Django's ASGI handler, and daphne. Protocols and servers are interleaved
round by round; medians of requests/s and server CPU per request are printed and written to
bench/choices_results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import run as ours  # noqa: E402
from bench.clients import DrfModels, GraphQL, Rest, Soap, Target  # noqa: E402
from tests.servers import LOG_DIR, free_port, run_process, wait_for_http  # noqa: E402

RESULTS = ROOT / "bench" / "choices_results.json"
CLIENTS = (Rest, GraphQL, Soap, DrfModels)
SERVERS: dict[str, tuple[list[str], dict[str, str]]] = {
    "uvicorn, Django via WSGI (default), 1 worker": (
        ["scripts/run_web.sh"],
        {"MLP_WEB_WORKERS": "1", "MLP_DJANGO_HANDLER": "wsgi"},
    ),
    "uvicorn, Django via WSGI, 2 workers": (
        ["scripts/run_web.sh"],
        {"MLP_WEB_WORKERS": "2", "MLP_DJANGO_HANDLER": "wsgi"},
    ),
    "uvicorn, Django via ASGI, 1 worker": (
        ["scripts/run_web.sh"],
        {"MLP_WEB_WORKERS": "1", "MLP_DJANGO_HANDLER": "asgi"},
    ),
    "daphne, Django via WSGI": (
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", "{port}"],
        {"MLP_DJANGO_HANDLER": "wsgi"},
    ),
}


@contextlib.contextmanager
def web_servers(env: dict[str, str]) -> Iterator[dict[str, tuple[str, int]]]:
    """Every server of SERVERS, up at once; yields name -> (base URL, process group)."""
    with contextlib.ExitStack() as stack:
        started: dict[str, tuple[str, int]] = {}
        processes = []
        for name, (argv, extra) in SERVERS.items():
            port = free_port()
            argv = [a.replace("{port}", str(port)) for a in argv]
            if "daphne" in argv:
                argv.append("mlplatform.asgi:application")
            metrics = LOG_DIR.parent / "metrics" / f"choices-{port}"
            metrics.mkdir(parents=True, exist_ok=True)  # run_web.sh makes its own; daphne not
            server_env = {
                **env,
                **extra,
                "MLP_HTTP_PORT": str(port),
                "PYTHON": sys.executable,
                "PROMETHEUS_MULTIPROC_DIR": str(metrics),
            }
            process = stack.enter_context(run_process(f"choices-web-{port}", argv, server_env))
            started[name] = (f"http://127.0.0.1:{port}", process.pid)
            processes.append(process)
        for (base, _), process in zip(started.values(), processes, strict=True):
            wait_for_http(f"{base}/healthz", process)
        yield started


async def compare(env: dict[str, str], rounds: int, requests: int) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    with web_servers(env) as servers:
        token = ours.token(next(iter(servers.values()))[0])
        clients = {
            (server, cls.__name__): cls(Target(base, "", token))
            for server, (base, _) in servers.items()
            for cls in CLIENTS
        }
        for client in clients.values():
            await client.start()
            await client.run(ours.rows(30, rng), 4)  # warm-up
        measured: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        for _ in range(rounds):
            for (server, kind), client in clients.items():
                group = {"web": servers[server][1]}
                for concurrency in (1, 16):
                    n = requests * (1 if concurrency == 1 else 4)
                    result = await ours.measure(client, concurrency, n, group, rng)
                    measured.setdefault((server, kind, concurrency), []).append(result)
        for client in clients.values():
            await client.stop()
    return {
        f"{server} | {kind} | c={concurrency}": {
            "rps": statistics.median(r["rps"] for r in runs),
            "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
        }
        for (server, kind, concurrency), runs in measured.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per round at c=1")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data_dir = ROOT / "var" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    env = ours.bench_env(ours.database_url(data_dir), data_dir)
    ours.prepare(env)
    results = asyncio.run(compare(env, args.rounds, args.requests))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\n{'server | protocol | concurrency':<72} {'rps':>7} {'cpu ms/req':>11}")
    for key, value in results.items():
        print(f"{key:<72} {value['rps']:7.0f} {value['cpu_ms_per_request']:11.2f}")
    print(f"\nwrote {RESULTS.relative_to(ROOT)}; medians of {args.rounds} interleaved rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
