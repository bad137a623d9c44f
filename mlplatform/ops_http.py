"""A tiny HTTP endpoint for processes that are not web servers (gRPC, MQTT bridge): /metrics and
/healthz, on their own port, so Prometheus and orchestrators can watch them like the web process.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from mlplatform.metrics import exposition

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], dict[str, Any]]  # {"status": "ok" | ..., ...}; "ok" answers 200


class OpsServer:
    def __init__(self, host: str, port: int, health: HealthCheck) -> None:
        self.health = health
        handler = _handler_for(self)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="ops", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler_for(server: OpsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] == "/metrics":
                self._send(200, exposition(), CONTENT_TYPE_LATEST)
            elif self.path.split("?")[0] == "/healthz":
                state = server.health()
                status = 200 if state.get("status") == "ok" else 503
                self._send(status, json.dumps(state).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
            pass

    return Handler


def start_ops_server(host: str, port: int, health: HealthCheck, what: str) -> OpsServer | None:
    """Start one unless the port is 0 (disabled); a busy port is logged, never fatal."""
    if not port:
        return None
    try:
        ops = OpsServer(host, port, health)
    except OSError as exc:
        logger.warning(
            "%s: metrics/health port %s unavailable (%s); continuing without", what, port, exc
        )
        return None
    ops.start()
    logger.info("%s: /metrics and /healthz on %s:%s", what, host, ops.port)
    return ops
