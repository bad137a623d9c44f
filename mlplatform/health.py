"""Liveness and readiness: /healthz says the process is up, /readyz what it can serve right now."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse

from mlplatform.errors import PlatformError
from models_app.bootstrap import BUILTIN_MODEL_NAMES
from models_app.registry import get_runtime
from models_app.selectors import resolve_ready_model
from predictions.cache import prediction_cache


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """200 when predictions can be served (DB up, models load); Redis down is 'degraded'."""
    checks: dict[str, Any] = {"database": _database(), "redis": _redis()}
    checks["models"] = _models() if checks["database"] == "ok" else {"error": "database down"}
    models_ok = all(state == "ok" for state in checks["models"].values())
    ready = checks["database"] == "ok" and models_ok
    status = "ok" if ready and checks["redis"] == "ok" else ("degraded" if ready else "unavailable")
    return JsonResponse({"status": status, "checks": checks}, status=200 if ready else 503)


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:  # any driver error means "not ready", reported, not raised
        return f"down: {type(exc).__name__}"


def _redis() -> str:
    return "ok" if prediction_cache().available() else "down"


def _models() -> dict[str, str]:
    states: dict[str, str] = {}
    for name in BUILTIN_MODEL_NAMES:
        try:
            get_runtime(resolve_ready_model(name))
            states[name] = "ok"
        except PlatformError as exc:
            states[name] = f"{exc.code}: {exc.message}"
    return states
