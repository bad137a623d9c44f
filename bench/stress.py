"""`make stress`: every protocol at once, bounded, then count what was lost.

Starts the real processes (as `make bench` does), then drives REST, V2 REST, GraphQL, SOAP,
WebSocket, gRPC, V2 gRPC and MQTT together for `--seconds` (60) with `--clients` (32) concurrent
requests in all. Reports requests, errors, p50/p99 per protocol; checks that the Prediction rows
equal the successful responses; and compares each process group's memory (RSS) after a warm-up
with its memory at the end, against a stated bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench import run as bench  # noqa: E402
from bench.clients import ANSWERED, PROTOCOLS, Client, Outcome, Target  # noqa: E402
from bench.procstat import group_rss_bytes  # noqa: E402

RESULTS = ROOT / "bench" / "stress.json"
MEMORY_BOUND = (1.25, 64 * 1024 * 1024)  # at most +25% and +64 MB over the warmed-up size


async def pound(client: Client, concurrency: int, deadline: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    outcomes: list[Outcome] = []
    while time.monotonic() < deadline:
        outcomes.append(await client.run(bench.rows(100, rng), concurrency))
    latencies = sorted(x for o in outcomes for x in o.latencies)
    return {
        "requests": sum(o.ok + o.errors for o in outcomes),
        "errors": sum(o.errors for o in outcomes),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = ROOT / "var" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    url = bench.database_url(data_dir)
    env = bench.bench_env(url, data_dir, MQTT_URL=f"mqtt://127.0.0.1:{args.mqtt_port}")
    bench.manage(env, "collectstatic", "--noinput", "-v0")
    bench.prepare(env)
    before_rows = bench.recorded_by_protocol(env)
    with bench.platform(env, args.workers) as servers:
        target = Target(
            servers["http"],
            servers["grpc"],
            bench.token(servers["http"]),
            mqtt_prefix=f"bench{bench.RUN}",
            mqtt_port=args.mqtt_port,
        )
        clients = [cls(target) for cls in PROTOCOLS]
        for client in clients:
            await client.start()
            await client.run(bench.rows(50, np.random.default_rng(1)), 4)  # warm-up
        groups = servers["groups"]
        memory_before = {name: group_rss_bytes(pid) for name, pid in groups.items()}
        per_protocol = max(args.clients // len(clients), 1)
        deadline = time.monotonic() + args.seconds
        started = time.monotonic()
        results = await asyncio.gather(
            *(pound(c, per_protocol, deadline, seed=i) for i, c in enumerate(clients))
        )
        elapsed = time.monotonic() - started
        memory_after = {name: group_rss_bytes(pid) for name, pid in groups.items()}
        for client in clients:
            await client.stop()
    after_rows = bench.recorded_by_protocol(env)
    keys = {
        "REST": "rest",
        "V2 REST": "v2-rest",
        "GraphQL": "graphql",
        "SOAP": "soap",
        "WebSocket": "websocket",
        "gRPC": "grpc",
        "V2 gRPC": "v2-grpc",
        "MQTT": "mqtt",
    }
    records = {
        name: {
            "answered": ANSWERED.get(name, 0),
            "recorded": after_rows.get(key, 0) - before_rows.get(key, 0),
        }
        for name, key in keys.items()
    }
    memory = {
        name: {
            "before_mb": round(memory_before[name] / 2**20, 1),
            "after_mb": round(memory_after[name] / 2**20, 1),
            "within_bound": memory_after[name]
            <= max(memory_before[name] * MEMORY_BOUND[0], memory_before[name] + MEMORY_BOUND[1]),
        }
        for name in groups
    }
    return {
        "seconds": round(elapsed, 1),
        "clients": per_protocol * len(clients),
        "protocols": {c.name: r for c, r in zip(clients, results, strict=True)},
        "records": records,
        "records_match": all(r["answered"] == r["recorded"] for r in records.values()),
        "memory": memory,
    }


def report(results: dict[str, Any]) -> str:
    lines = [f"\n{results['clients']} clients for {results['seconds']} s, every protocol at once"]
    lines.append(f"{'protocol':<12} {'requests':>9} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    total = errors = 0
    for name, r in results["protocols"].items():
        total += r["requests"]
        errors += r["errors"]
        p50, p99 = r["p50_ms"] or 0, r["p99_ms"] or 0
        lines.append(f"{name:<12} {r['requests']:>9} {r['errors']:>7} {p50:>8.1f} {p99:>8.1f}")
    lines.append(f"{'all':<12} {total:>9} {errors:>7}")
    lines.append(f"records match responses: {results['records_match']}")
    for name, m in results["memory"].items():
        bound = "within bound" if m["within_bound"] else "OVER BOUND"
        lines.append(f"memory {name}: {m['before_mb']} -> {m['after_mb']} MB ({bound})")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with bench.broker() as port:
        args.mqtt_port = port
        results = asyncio.run(main_async(args))
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    clean = results["records_match"] and all(m["within_bound"] for m in results["memory"].values())
    errors = sum(r["errors"] for r in results["protocols"].values())
    print(
        f"\nwrote {RESULTS.relative_to(ROOT)}: {'clean' if clean and not errors else 'NOT clean'}"
    )
    return 0 if clean and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
