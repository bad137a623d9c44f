"""Prometheus metrics of every process, and their exposition.

The web process runs several uvicorn workers: with PROMETHEUS_MULTIPROC_DIR set (the Procfile and
compose do it), each worker writes its samples to files there and `/metrics` merges them. The
gRPC process, the MQTT bridge and tests without the variable use the in-process registry.
Metric names are the contract of the Grafana dashboard in deploy/grafana/.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

# Django's routes (GraphQL, SOAP, DRF, admin, pages), under django-prometheus's names, which the
# dashboard reads; recorded by mlplatform.http_metrics.HttpMetricsMiddleware.
HTTP_REQUESTS_BY_METHOD = Counter(
    "django_http_requests_total_by_method",
    "Requests to Django's routes, by method.",
    ["method"],
)
HTTP_RESPONSES_BY_STATUS = Counter(
    "django_http_responses_total_by_status",
    "Responses from Django's routes, by status code.",
    ["status"],
)
HTTP_LATENCY = Histogram(
    "django_http_requests_latency_including_middlewares_seconds",
    "Time in Django per request, its middleware included.",
    buckets=LATENCY_BUCKETS,
)

PREDICTIONS = Counter(
    "mlp_predictions",
    "Predictions answered, by model version, protocol and whether the cache answered.",
    ["model", "version", "protocol", "cached"],
)
PREDICTION_LATENCY = Histogram(
    "mlp_prediction_latency_seconds",
    "Time in the inference core per prediction (validation, cache, model, recording).",
    ["model", "protocol"],
    buckets=LATENCY_BUCKETS,
)
PREDICTION_ERRORS = Counter(
    "mlp_prediction_errors",
    "Predictions refused or failed, by the contract's error code and protocol.",
    ["code", "protocol"],
)
BATCH_SIZE = Histogram(
    "mlp_batch_size",
    "Instances per model call.",
    ["model"],
    buckets=BATCH_BUCKETS,
)
CACHE_REQUESTS = Counter(
    "mlp_cache_requests",
    "Prediction cache lookups: hit, miss, or error (Redis unavailable).",
    ["result"],
)
RECORDS_PENDING = Gauge(
    "mlp_prediction_records_pending",
    "Answered predictions queued for their database write (summed over processes).",
    multiprocess_mode="livesum",
)
RECORDS_LOST = Counter(
    "mlp_prediction_records_lost",
    "Answered predictions whose row could not be written (database rejected it, or still down "
    "when the process stopped). Alert on any increase.",
)
MODEL_LOAD_SECONDS = Histogram(
    "mlp_model_load_seconds",
    "Time to load a model version's runtime into a process.",
    ["model"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LOADED_MODELS = Gauge(
    "mlp_loaded_models",
    "Model runtimes loaded in memory (summed over processes).",
    multiprocess_mode="livesum",
)
LOADED_MODEL_BYTES = Gauge(
    "mlp_loaded_model_bytes",
    "Size of the artifacts of the loaded runtimes (summed over processes).",
    multiprocess_mode="livesum",
)
MQTT_IN_FLIGHT = Gauge("mlp_mqtt_in_flight", "MQTT requests being answered by the bridge.")
MQTT_RECONNECTS = Counter("mlp_mqtt_reconnects", "Times the MQTT bridge (re)connected.")


@functools.lru_cache(maxsize=4096)
def labelled(metric: Any, *values: str) -> Any:
    """`metric.labels(*values)`, remembered: prometheus_client rebuilds and locks its label
    tuple on every call (3 us, against 0.3 us here), and the core labels four times a
    prediction. Label values come from registered models and fixed names, so the set is small;
    the bound only caps memory."""
    return metric.labels(*values)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(*extra: CollectorRegistry) -> bytes:
    """The text format of this process's (or this process group's) metrics, plus `extra`."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + b"".join(generate_latest(r) for r in extra)


def mark_process_dead(pid: int) -> None:
    """Drop a finished worker's live gauges (uvicorn worker exit)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
