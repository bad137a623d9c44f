"""WebSocket routes (Channels): prediction streams, the live feed and training-job progress."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from django.urls import path, re_path

from mlplatform.ws import TokenAuthMiddleware
from models_app.ws.consumers import JobProgressConsumer
from predictions.ws.consumers import FeedConsumer, PredictConsumer

websocket_urlpatterns = [
    re_path(r"^ws/predict/(?P<ref>[^/]+)/?$", PredictConsumer.as_asgi()),
    path("ws/feed/", FeedConsumer.as_asgi()),
    re_path(r"^ws/jobs/(?P<job_id>[0-9]{1,18})/?$", JobProgressConsumer.as_asgi()),
]


def websocket_application() -> Any:
    """Session + token auth (Origin checked for sessions, see mlplatform.ws), then the routes."""
    return AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))
