"""Django middleware: every request gets an id (the client's X-Request-ID, or a new one).

The id is put where the adapters read it (the request's X-Request-ID header), into the log
context, and onto the response, so a client can quote it and an operator can grep for it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from mlplatform.ids import new_request_id
from mlplatform.logs import request_id_var

_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def request_id_of(request: HttpRequest) -> str:
    supplied = request.META.get("HTTP_X_REQUEST_ID", "")
    request_id = supplied if _VALID.match(supplied) else new_request_id()
    request.META["HTTP_X_REQUEST_ID"] = request_id
    return request_id


class RequestIdMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        request_id = request_id_of(request)
        token = request_id_var.set(request_id)
        try:
            response: HttpResponse = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        token = request_id_var.set(request_id)
        try:
            get_response: Callable[[HttpRequest], Awaitable[HttpResponse]] = self.get_response
            response = await get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response
