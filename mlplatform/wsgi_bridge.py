"""Django's WSGI handler served under uvicorn with one thread hop a request.

a2wsgi's bridge crosses between the event loop and the request's thread four times a request
(the thread asks the loop for the body, then hands it the response start, the body and the end,
waiting on each), and each crossing wakes both sides. Here the loop reads a small body before
the hop, the thread runs Django and returns the whole response, and the loop sends it: one hop
there and back. Large or chunked bodies are still streamed to the thread, and streaming
responses (files, StreamingHttpResponse) still stream from it, with a2wsgi's own pieces.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from a2wsgi.wsgi import Body, build_environ

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class _Response:
    """What the thread hands back: status and headers, and the body unless it was streamed."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    streamed: bool = False


class WsgiBridge:
    """An ASGI app that runs a WSGI app in a thread pool of its own."""

    def __init__(self, app: WsgiApp, *, threads: int, max_buffered_body: int = 1 << 20) -> None:
        self._app = app
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="django")
        self._max_buffered_body = max_buffered_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        body = await self._buffered_body(scope, receive)
        wsgi_input: Any = io.BytesIO(body) if body is not None else Body(loop, receive)
        environ: dict[str, Any] = build_environ(scope, wsgi_input)  # type: ignore[arg-type,assignment]
        context = contextvars.copy_context()
        work = functools.partial(context.run, self._respond, environ, loop, send)
        response = await loop.run_in_executor(self._pool, work)
        if not response.streamed:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": response.headers,
                }
            )
            await send({"type": "http.response.body", "body": response.body})

    async def _buffered_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body when its declared length is small (or it has none), else None: the
        thread reads it as it needs it."""
        length: int | None = 0
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value) if value.isdigit() else None
            elif name == b"transfer-encoding":
                length = None
                break
        if length is None or length > self._max_buffered_body:
            return None
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: Django reads what came
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _respond(
        self, environ: dict[str, Any], loop: asyncio.AbstractEventLoop, send: Send
    ) -> _Response:
        """Run the app on this thread; a streaming response is sent from here, chunk by chunk."""
        response = _Response()
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            response.status = int(status.split(" ", 1)[0])
            response.headers = [
                (name.strip().encode("latin-1").lower(), value.strip().encode("latin-1"))
                for name, value in headers
            ]
            return written.append  # the legacy write() callable: buffered with the body

        iterable = self._app(environ, start_response)
        try:
            if getattr(iterable, "streaming", True):
                response.streamed = True
                self._stream(iterable, response, written, loop, send)
            else:
                response.body = b"".join([*written, *iterable])
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()  # Django's request_finished: this thread's connection is tidied here
        return response

    @staticmethod
    def _stream(
        iterable: Iterable[bytes],
        response: _Response,
        written: list[bytes],
        loop: asyncio.AbstractEventLoop,
        send: Send,
    ) -> None:
        def send_now(message: dict[str, Any]) -> None:
            asyncio.run_coroutine_threadsafe(send(message), loop).result()

        started = False
        for chunk in iterable:
            if not started:  # start_response may come with the first chunk (a generator app)
                send_now(
                    {
                        "type": "http.response.start",
                        "status": response.status,
                        "headers": response.headers,
                    }
                )
                started = True
            for piece in (*written, chunk):
                if piece:
                    send_now({"type": "http.response.body", "body": piece, "more_body": True})
            written.clear()
        if not started:
            send_now(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": response.headers,
                }
            )
        send_now({"type": "http.response.body", "body": b"".join(written)})
