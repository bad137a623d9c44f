"""Structured logs: every record carries the request id of the prediction being served.

Adapters pass a request id (X-Request-ID, the message's id, or a fresh one) into the core, which
sets `request_id_var` for the call, so log lines from validation, models and recording of that
prediction share the id that is also stored on its Prediction row. `MLP_LOG_FORMAT=json` (the
production default) writes one JSON object per line.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


def logging_config(*, json_format: bool, level: str) -> dict[str, object]:
    formatter = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if json_format
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "mlplatform.logs.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Spyne logs every SOAP fault (a client's mistake) as an ERROR traceback: keep them quiet.
        "loggers": {
            "spyne.application.client": {"level": "CRITICAL"},
            "spyne.application.server": {"level": "ERROR"},
        },
    }
