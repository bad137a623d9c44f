"""Request metrics for Django's routes at three samples a request.

django-prometheus's two middlewares wrote about eleven samples a request (by method, transport,
view, status, charset, body sizes, two latencies), each relabelled per call: a tenth of a
GraphQL prediction's CPU in the web process (measured with them removed). The dashboard reads
requests by method, responses by status and the latency; those keep django-prometheus's names.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from mlplatform.metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS_BY_METHOD,
    HTTP_RESPONSES_BY_STATUS,
    labelled,
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class HttpMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        method = request.method if request.method in _METHODS else "other"  # a bounded label
        labelled(HTTP_REQUESTS_BY_METHOD, method).inc()
        response = self.get_response(request)
        labelled(HTTP_RESPONSES_BY_STATUS, str(response.status_code)).inc()
        HTTP_LATENCY.observe(time.perf_counter() - started)
        return response
