"""`make bench`: the same workload over every protocol, side by side, in one run.

Starts the real processes (web with uvicorn workers, gRPC, MQTT bridge) in production mode on a
bench database, then, interleaving protocols round by round: iris, one row per request, each
request a fresh input (cache misses), at concurrency 1 and 16, after a warm-up. Also: dynamic
batching on a RandomForest at concurrency 64 (on vs off), cache hits vs misses, one image over
REST vs raw onnxruntime, and the in-process floor (the core without any protocol). Prints rps,
p50, p99 and server CPU per request, writes bench/results.json and bench/results.png, and checks
that the Prediction rows recorded equal the successful responses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import requests  # noqa: E402

from bench.clients import ANSWERED, PROTOCOLS, Client, Outcome, Rest, Target  # noqa: E402
from bench.procstat import group_cpu_seconds  # noqa: E402
from tests.servers import (  # noqa: E402
    LOG_DIR,
    free_port,
    run_process,
    wait_for_http,
    wait_for_log,
)

RESULTS = ROOT / "bench" / "results.json"
CHART = ROOT / "bench" / "results.png"
RUN = uuid.uuid4().hex[:6]


def bench_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "DJANGO_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": SECRET,
        "MLP_ADMIN_USER": "bench",
        "MLP_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "MLP_DATA_DIR": str(data_dir),
        "MLP_ARTIFACT_DIR": str(data_dir / "artifacts"),
        "REDIS_URL": "redis://127.0.0.1:6379/14",
        "MLP_CACHE_PREFIX": f"bench-{RUN}",
        "MQTT_TOPIC_PREFIX": f"bench{RUN}",
        "MQTT_SHARE_GROUP": f"bench{RUN}",
        "MLP_GRPC_METRICS_PORT": "0",
        "MLP_MQTT_METRICS_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "MLP_LOG_FORMAT": "text",
        **extra,
    }


SECRET = secrets.token_urlsafe(50)
ADMIN_PASSWORD = secrets.token_urlsafe(16)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**os.environ, **env}, check=True
    )


def prepare(env: dict[str, str]) -> None:
    """Migrate, bootstrap the built-in models, and register `forest` (a RandomForest)."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "bootstrap")
    manage(env, "shell", "-c", FOREST)


FOREST = """
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from models_app.models import MLModel
from models_app.services import register_trained_model
from models_app.training import TrainedModel
if not MLModel.objects.filter(name="forest").exists():
    data = load_iris()
    labels = [str(n) for n in data.target_names]
    estimator = RandomForestClassifier(n_estimators=200, random_state=0).fit(data.data, data.target)
    estimator.classes_ = __import__("numpy").array(labels)
    register_trained_model(
        name="forest", actor=None, by_platform=True,
        trained=TrainedModel(estimator=estimator, task="classification",
            feature_names=["sepal_length", "sepal_width", "petal_length", "petal_width"],
            labels=labels, metrics={}, probe=data.data[:0], description="bench forest"),
    )
"""


@contextlib.contextmanager
def broker() -> Iterator[int]:
    """Our shipped development broker settings (TCP_NODELAY on) on a free port."""
    port = free_port()
    config = LOG_DIR / f"bench-mosquitto-{port}.conf"
    config.parent.mkdir(parents=True, exist_ok=True)
    shipped = (ROOT / "deploy" / "mosquitto" / "mosquitto-dev.conf").read_text()
    config.write_text(shipped.replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1"))
    with run_process(f"bench-mosquitto-{port}", ["mosquitto", "-c", str(config)], {}):
        time.sleep(0.5)
        yield port


@contextlib.contextmanager
def platform(env: dict[str, str], workers: int) -> Iterator[dict[str, Any]]:
    """Web, gRPC and MQTT processes; yields their addresses and process-group ids."""
    http_port, grpc_port = free_port(), free_port()
    web_env = {
        **env,
        "MLP_HTTP_PORT": str(http_port),
        "MLP_WEB_WORKERS": str(workers),
        "PYTHON": sys.executable,
        "PROMETHEUS_MULTIPROC_DIR": str(LOG_DIR.parent / "metrics" / f"bench-{http_port}"),
    }
    grpc_argv = [sys.executable, "manage.py", "grpcserver", "--address", f"127.0.0.1:{grpc_port}"]
    bridge_argv = [sys.executable, "manage.py", "mqttbridge"]
    with (
        run_process(f"bench-web-{http_port}", ["scripts/run_web.sh"], web_env) as web,
        run_process(f"bench-grpc-{grpc_port}", grpc_argv, env) as grpc_process,
        run_process(f"bench-mqtt-{grpc_port}", bridge_argv, env) as bridge,
    ):
        base = f"http://127.0.0.1:{http_port}"
        wait_for_http(f"{base}/healthz", web)
        wait_for_log(LOG_DIR / f"bench-grpc-{grpc_port}.log", "listening", grpc_process, 60)
        wait_for_log(LOG_DIR / f"bench-mqtt-{grpc_port}.log", "MQTT bridge on", bridge, 60)
        time.sleep(1.0)
        yield {
            "http": base,
            "grpc": f"127.0.0.1:{grpc_port}",
            "groups": {"web": web.pid, "grpc": grpc_process.pid, "mqtt": bridge.pid},
        }


def server_group(protocol: str) -> str:
    return {"gRPC": "grpc", "V2 gRPC": "grpc", "MQTT": "mqtt"}.get(protocol, "web")


def rows(n: int, rng: np.random.Generator) -> list[list[float]]:
    """Fresh iris-like rows: every request a cache miss."""
    base = np.array([5.8, 3.0, 3.8, 1.2])
    return (base + rng.normal(0, 0.5, size=(n, 4))).round(6).tolist()  # type: ignore[no-any-return]


async def measure(
    client: Client, concurrency: int, n: int, groups: dict[str, int], rng: np.random.Generator
) -> dict[str, Any]:
    group = groups[server_group(client.name)]
    cpu_before = group_cpu_seconds(group)
    outcome: Outcome = await client.run(rows(n, rng), concurrency)
    cpu = group_cpu_seconds(group) - cpu_before
    return {
        "rps": outcome.rps,
        "ok": outcome.ok,
        "errors": outcome.errors,
        "latencies": outcome.latencies,
        "cpu_ms_per_request": 1000 * cpu / max(outcome.ok, 1),
    }


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(x for r in rounds for x in r["latencies"])
    return {
        "rps": statistics.median(r["rps"] for r in rounds),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else None,
        "cpu_ms_per_request": statistics.median(r["cpu_ms_per_request"] for r in rounds),
        "ok": sum(r["ok"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
    }


async def protocol_matrix(
    target: Target, groups: dict[str, int], concurrencies: list[int], rounds: int, scale: int
) -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng(7)
    clients = [cls(target) for cls in PROTOCOLS]
    for client in clients:
        await client.start()
        await client.run(rows(30, rng), 4)  # warm-up: models loaded, connections open
    results: dict[str, dict[str, Any]] = {}
    for concurrency in concurrencies:
        n = scale * (1 if concurrency == 1 else 4)
        per_client: dict[str, list[dict[str, Any]]] = {c.name: [] for c in clients}
        for _ in range(rounds):  # interleaved: drift on the machine hits every protocol alike
            for client in clients:
                per_client[client.name].append(await measure(client, concurrency, n, groups, rng))
        for name, measured in per_client.items():
            results.setdefault(name, {})[f"c{concurrency}"] = summarise(measured)
    for client in clients:
        await client.stop()
    return results


def recorded_by_protocol(env: dict[str, str]) -> dict[str, int]:
    script = (
        "import json; from django.db.models import Count\n"
        "from predictions.models import Prediction\n"
        "counts = Prediction.objects.values_list('protocol').annotate(n=Count('id'))\n"
        "print(json.dumps(dict(counts)))"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {k: int(v) for k, v in json.loads(out.strip().splitlines()[-1]).items()}


def token(base: str) -> str:
    answer = requests.post(
        f"{base}/api/v1/auth/token/",
        json={"username": "bench", "password": ADMIN_PASSWORD},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access"])


async def batching_scenario(
    target: Target, groups: dict[str, int], n: int, seed: int
) -> dict[str, Any]:
    rng = np.random.default_rng(seed)  # each run its own rows: never served from the cache
    client = Rest(Target(target.http, target.grpc, target.token, model="forest"))
    await client.start()
    await client.run(rows(64, rng), 16)
    measured = [await measure(client, 64, n, groups, rng) for _ in range(3)]
    await client.stop()
    return summarise(measured)


async def cache_scenario(
    target: Target, groups: dict[str, int], n: int, model: str = "iris"
) -> dict[str, Any]:
    """The same input again and again (hits) vs fresh inputs (misses), REST at c=16. On iris the
    model costs ~10 us, so a hit saves little; on the forest it saves the model call."""
    rng = np.random.default_rng(13)
    client = Rest(Target(target.http, target.grpc, target.token, model=model))
    await client.start()
    same = [[5.1, 3.5, 1.4, 0.2]] * n
    await client.run(same[:10], 1)
    hits = await client.run(same, 16)
    misses = await client.run(rows(n, rng), 16)
    await client.stop()
    return {"hits_rps": hits.rps, "misses_rps": misses.rps, "ratio": hits.rps / misses.rps}


def image_scenario(target: Target) -> dict[str, Any]:
    """One photo per request at c=1, as base64 in JSON and as a multipart file upload (what
    `curl -F image=@photo.jpg` sends), against the same work in-process."""
    import base64

    import sklearn

    photo = (Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg").read_bytes()
    headers = {"Authorization": f"Bearer {target.token}"}
    session = requests.Session()
    url = f"{target.http}/api/v1/models/imagenet/predict/"
    timings: dict[str, list[float]] = {"json": [], "multipart": []}
    in_core: list[float] = []  # the envelope's latency_ms: time inside the inference core
    for i in range(60):
        unique = photo + bytes([i, 0, i])  # trailing bytes: the same picture, a new cache key
        form = "json" if i % 2 else "multipart"
        started = time.perf_counter()
        if form == "json":
            body = {"json": {"image": base64.b64encode(unique).decode()}}
        else:
            body = {"files": {"image": ("photo.jpg", unique, "image/jpeg")}}
        answer = session.post(url, headers=headers, timeout=60, **body)
        timings[form].append(time.perf_counter() - started)
        answer.raise_for_status()
        in_core.append(answer.json()["latency_ms"])
        ANSWERED["REST"] = ANSWERED.get("REST", 0) + 1
    raw = raw_image_ms(photo)
    json_p50, multipart_p50 = (
        1000 * statistics.median(timings[form][5:]) for form in ("json", "multipart")
    )
    return {
        "rest_p50_ms": json_p50,
        "multipart_p50_ms": multipart_p50,
        "raw_onnxruntime_ms": raw,
        "core_p50_ms": statistics.median(in_core[5:]),
        "ratio": json_p50 / raw,
        "multipart_ratio": multipart_p50 / raw,
    }


def raw_image_ms(photo: bytes) -> float:
    """One image through onnxruntime in this process: decode, preprocess, run (no protocol)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlplatform.settings")
    from models_app.runtimes.image_runtime import OnnxImageRuntime

    labels = [str(i) for i in range(1000)]
    runtime = OnnxImageRuntime.from_file(str(ROOT / "var/build/efficientnet_lite0.onnx"), labels)
    for _ in range(3):
        runtime.classify([photo], top_k=3, max_pixels=40_000_000)
    timings = []
    for _ in range(15):
        started = time.perf_counter()
        runtime.classify([photo], top_k=3, max_pixels=40_000_000)
        timings.append(time.perf_counter() - started)
    return 1000 * statistics.median(timings)


def in_process_floor(env: dict[str, str], n: int) -> dict[str, float]:
    script = f"""
import time, numpy as np
from mlplatform.auth import Principal
from predictions import service
from predictions.recording import recorder
from predictions.schemas import PredictRequest
rng = np.random.default_rng(3)
who = Principal(user_id=1, username="bench", is_staff=True)
def one(row):
    request = PredictRequest(model_ref="iris", payload={{"X": [row]}}, protocol="rest",
                             principal=who, request_id="floor")
    service.predict(request)
for r in (np.array([5.8, 3.0, 3.8, 1.2]) + rng.normal(0, .5, (30, 4))).tolist(): one(r)
rows = (np.array([5.8, 3.0, 3.8, 1.2]) + rng.normal(0, .5, ({n}, 4))).tolist()
t = time.process_time(); w = time.perf_counter()
for r in rows: one(r)
print("FLOOR", (time.perf_counter() - w) / {n} * 1000, (time.process_time() - t) / {n} * 1000)
recorder().stop()
"""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("FLOOR"))
    _, wall, cpu = line.split()
    return {
        "ms_per_request": float(wall),
        "cpu_ms_per_request": float(cpu),
        "rps_c1": 1000 / float(wall),
    }


def database_url(data_dir: Path) -> str:
    url = "postgres://postgres@127.0.0.1:5432/mlplatform_bench"
    created = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-tAc", "SELECT 1"],
        capture_output=True,
        text=True,
    )
    if created.returncode != 0:
        return f"sqlite:///{data_dir / 'bench.sqlite3'}"
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-c",
            "DROP DATABASE IF EXISTS mlplatform_bench",
        ],
        capture_output=True,
        check=True,
    )
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-c", "CREATE DATABASE mlplatform_bench"],
        capture_output=True,
        check=True,
    )
    return url


def report(results: dict[str, Any]) -> str:
    lines = [
        "",
        "protocol      c=1 rps   p50 ms  p99 ms  cpu ms/req | c=16 rps  p50 ms  p99 ms  cpu ms/req",
    ]
    for name, by_c in results["protocols"].items():
        a, b = by_c["c1"], by_c["c16"]
        lines.append(f"{name:<12} {_cells(a)} | {_cells(b)}")
    floor = results["floor"]
    lines.append(
        f"{'in-process':<12} {floor['rps_c1']:8.0f} {floor['ms_per_request']:8.2f}"
        f"         {floor['cpu_ms_per_request']:10.2f} | (the core alone, no protocol)"
    )
    batching = results["batching"]
    lines.append(
        f"\nbatching (forest, REST, c=64): on {batching['on']['rps']:.0f} rps p99 "
        f"{batching['on']['p99_ms']:.1f} ms; off {batching['off']['rps']:.0f} rps p99 "
        f"{batching['off']['p99_ms']:.1f} ms; x{batching['on']['rps'] / batching['off']['rps']:.2f}"
    )
    for key, model in (("cache", "iris"), ("cache_forest", "forest")):
        cache = results[key]
        lines.append(
            f"cache ({model}, REST, c=16): hits {cache['hits_rps']:.0f} rps, "
            f"misses {cache['misses_rps']:.0f} rps, x{cache['ratio']:.2f}"
        )
    image = results["image"]
    lines.append(
        f"image (REST, c=1): p50 {image['rest_p50_ms']:.1f} ms as base64 JSON "
        f"(x{image['ratio']:.2f}), {image['multipart_p50_ms']:.1f} ms as a multipart file "
        f"(x{image['multipart_ratio']:.2f}); raw onnxruntime {image['raw_onnxruntime_ms']:.1f} ms, "
        f"time in the core {image['core_p50_ms']:.1f} ms"
    )
    lines.append(f"records: {results['records']}")
    return "\n".join(lines)


def _cells(summary: dict[str, Any]) -> str:
    return (
        f"{summary['rps']:8.0f} {summary['p50_ms']:7.2f} {summary['p99_ms']:7.2f} "
        f"{summary['cpu_ms_per_request']:10.2f}"
    )


def chart(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results["protocols"])
    c1 = [results["protocols"][n]["c1"]["rps"] for n in names]
    c16 = [results["protocols"][n]["c16"]["rps"] for n in names]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    ax.bar(x - 0.2, c1, 0.4, label="concurrency 1", color="#8fb0ff")
    ax.bar(x + 0.2, c16, 0.4, label="concurrency 16", color="#3358d4")
    ax.axhline(
        results["floor"]["rps_c1"], color="#1f9d62", linestyle="--", label="in-process floor (c=1)"
    )
    ax.set_xticks(x, names)
    ax.set_ylabel("requests / s (iris, one row, recorded)")
    ax.set_title(f"MLPlatform, every protocol, one run ({time.strftime('%Y-%m-%d')}, 2 cores)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(CHART, dpi=110)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = ROOT / "var" / "bench"
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url(data_dir)
    env = bench_env(url, data_dir, MQTT_URL=f"mqtt://127.0.0.1:{args.mqtt_port}")
    manage(env, "collectstatic", "--noinput", "-v0")
    prepare(env)
    results: dict[str, Any] = {"database": url.split(":")[0], "workers": args.workers}
    before = recorded_by_protocol(env)
    with platform(env, args.workers) as servers:
        target = Target(
            servers["http"],
            servers["grpc"],
            token(servers["http"]),
            mqtt_prefix=f"bench{RUN}",
            mqtt_port=args.mqtt_port,
        )
        results["protocols"] = await protocol_matrix(
            target, servers["groups"], [1, 16], args.rounds, args.requests
        )
        results["batching"] = {
            "on": await batching_scenario(target, servers["groups"], args.requests * 2, seed=11)
        }
        results["cache"] = await cache_scenario(target, servers["groups"], args.requests * 2)
        results["cache_forest"] = await cache_scenario(
            target, servers["groups"], args.requests, model="forest"
        )
        results["image"] = image_scenario(target)
    with platform({**env, "MLP_BATCH_MAX_SIZE": "1"}, args.workers) as servers:
        target = Target(servers["http"], servers["grpc"], token(servers["http"]))
        results["batching"]["off"] = await batching_scenario(
            target, servers["groups"], args.requests * 2, seed=12
        )
    results["floor"] = in_process_floor(env, args.requests)
    ANSWERED["REST"] = ANSWERED.get("REST", 0) + args.requests + 30  # the floor records as rest
    after = recorded_by_protocol(env)
    protocol_names = {
        "REST": "rest",
        "V2 REST": "v2-rest",
        "GraphQL": "graphql",
        "SOAP": "soap",
        "WebSocket": "websocket",
        "gRPC": "grpc",
        "V2 gRPC": "v2-grpc",
        "MQTT": "mqtt",
    }
    results["records"] = {
        name: {
            "answered": ANSWERED.get(name, 0),
            "recorded": after.get(key, 0) - before.get(key, 0),
        }
        for name, key in protocol_names.items()
    }
    results["records_match"] = all(
        r["answered"] == r["recorded"] for r in results["records"].values()
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per round at c=1")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers")
    args = parser.parse_args()
    with broker() as port:
        args.mqtt_port = port
        results = asyncio.run(main_async(args))
    for by_c in results["protocols"].values():
        for summary in by_c.values():
            summary.pop("latencies", None)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    chart(results)
    print(report(results))
    print(f"\nwrote {RESULTS.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
