"""Liveness and readiness: /healthz says the process is up, /readyz what it can serve right now."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from mlplatform.errors import PlatformError
from models_app.bootstrap import BUILTIN_MODEL_NAMES
from models_app.registry import get_runtime
from models_app.selectors import resolve_ready_model
from predictions.cache import prediction_cache
from predictions.recording import recorder


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when predictions can be served (DB up, models load); anything else down is 'degraded'.

    Redis down means no cache, no live feed and no new training jobs; the MQTT broker down means
    no MQTT traffic. Predictions over HTTP, WebSockets and gRPC still work, so the process stays
    in the load balancer and says what is missing.
    """
    checks: dict[str, Any] = {
        "database": _database(),
        "redis": _redis(),
        "broker": _broker(),
        "mqtt": _tcp(settings.MQTT_URL, default_port=1883),
        "recording": _recording(),
    }
    checks["models"] = _models() if checks["database"] == "ok" else {"error": "database down"}
    models_ok = all(state == "ok" for state in checks["models"].values())
    ready = checks["database"] == "ok" and models_ok and checks["recording"] == "ok"
    optional_ok = all(checks[name] == "ok" for name in ("redis", "broker", "mqtt"))
    status = "ok" if ready and optional_ok else ("degraded" if ready else "unavailable")
    return JsonResponse({"status": status, "checks": checks}, status=200 if ready else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "not ready", reported, not raised
        return f"down: {type(exc).__name__}"


def _recording() -> str:
    """This process's recorder: down while its writes fail (it refuses predictions then)."""
    failure = recorder().failing()
    if failure is None:
        return "ok"
    return f"down: {type(failure).__name__}, {recorder().pending()} answered rows queued"


def _redis() -> str:
    return "ok" if prediction_cache().available() else "down"


def _broker() -> str:
    """The Celery broker (Redis unless CELERY_BROKER_URL says otherwise)."""
    if settings.CELERY_BROKER_URL == settings.REDIS_URL:
        return _redis()
    return _tcp(settings.CELERY_BROKER_URL, default_port=6379)


def _tcp(url: str, *, default_port: int) -> str:
    target = urlparse(url)
    try:
        with socket.create_connection(
            (target.hostname or "127.0.0.1", target.port or default_port), timeout=1.0
        ):
            return "ok"
    except OSError as exc:
        return f"down: {exc.strerror or type(exc).__name__}"


def _models() -> dict[str, str]:
    states: dict[str, str] = {}
    for name in BUILTIN_MODEL_NAMES:
        try:
            get_runtime(resolve_ready_model(name))
            states[name] = "ok"
        except PlatformError as exc:
            states[name] = f"{exc.code}: {exc.message}"
    return states
