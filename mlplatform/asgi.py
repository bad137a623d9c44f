"""ASGI entry point: hot prediction routes go to lean handlers, WebSockets to Channels, the rest
to Django."""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mlplatform.settings")
django_asgi_app = get_asgi_application()  # must run before any app import below

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

from mlplatform.events import flush_events  # noqa: E402
from mlplatform.metrics import mark_process_dead  # noqa: E402
from mlplatform.routing import websocket_application  # noqa: E402
from mlplatform.wsgi_bridge import WsgiBridge  # noqa: E402
from predictions.executor import prediction_executor  # noqa: E402
from predictions.feed import flush_feed  # noqa: E402
from predictions.recording import recorder  # noqa: E402
from predictions.rest.fastpath import PREDICT_ROUTE, PredictFastPath  # noqa: E402
from predictions.v2.rest import V2_PREFIX, V2RestHandler  # noqa: E402

predict_fast_path = PredictFastPath(
    max_body_bytes=settings.MLP_MAX_BODY_BYTES, executor=prediction_executor()
)
v2_rest = V2RestHandler(max_body_bytes=settings.MLP_MAX_BODY_BYTES, executor=prediction_executor())
websocket_app = websocket_application()
django_app: Any = (
    WsgiBridge(get_wsgi_application(), threads=settings.MLP_DJANGO_THREADS)
    if settings.MLP_DJANGO_HANDLER == "wsgi"
    else django_asgi_app
)


async def application(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        match = PREDICT_ROUTE.match(scope["path"])
        if match:
            await predict_fast_path.handle(scope, receive, send, match["ref"])
            return
        if scope["path"] == V2_PREFIX or scope["path"].startswith(V2_PREFIX + "/"):
            await v2_rest.handle(scope, receive, send)
            return
        await django_app(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket_app(scope, receive, send)
    elif scope["type"] == "lifespan":
        await _lifespan(receive, send)
    else:
        await django_app(scope, receive, send)


async def _lifespan(receive: Any, send: Any) -> None:
    """Startup does nothing heavy; shutdown waits for in-flight predictions (and their records)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            prediction_executor().shutdown()  # in-flight predictions finish, records included
            recorder().stop()
            flush_feed()
            flush_events()  # the feed events of those last records
            mark_process_dead(os.getpid())  # this worker's live gauges leave the merged view
            await send({"type": "lifespan.shutdown.complete"})
            return
