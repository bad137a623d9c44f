"""The WSGI bridge Django's routes run through: bodies in, responses out, whole or streamed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from mlplatform.wsgi_bridge import WsgiBridge

Environ = dict[str, Any]


class Echo:
    """Answers with the body it read, and notes the threads it ran and was closed on."""

    def __init__(self) -> None:
        self.threads: list[str] = []

    def __call__(self, environ: Environ, start_response: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        body = environ["wsgi.input"].read()
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Seen", str(len(body)))])
        return _Closing(
            [b"got:", body], on_close=lambda: self.threads.append(threading.current_thread().name)
        )


class _Closing(list[bytes]):
    streaming = False

    def __init__(self, chunks: list[bytes], on_close: Any) -> None:
        super().__init__(chunks)
        self._on_close = on_close

    def close(self) -> None:
        self._on_close()


def _exchange(
    app: Any, chunks: list[bytes], headers: list[tuple[bytes, bytes]], **bridge: Any
) -> list[dict[str, Any]]:
    """One request through the bridge on an event loop of its own thread (the browser tests keep
    a loop running on the main one); returns what the bridge sent."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo",
        "query_string": b"",
        "http_version": "1.1",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
    }
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        await WsgiBridge(app, threads=2, **bridge)(scope, receive, send)

    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, run()).result()
    return sent


def _body(sent: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_a_small_body_is_read_first_and_the_response_sent_whole() -> None:
    app = Echo()
    sent = _exchange(app, [b"hello ", b"world"], [(b"content-length", b"11")])

    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain"), (b"x-seen", b"11")],
    }
    assert sent[1:] == [{"type": "http.response.body", "body": b"got:hello world"}]
    ran, closed = app.threads
    assert ran.startswith("django")
    assert closed == ran, "closed on its own thread, where Django tidies its connection"


@pytest.mark.parametrize(
    ("_case", "headers"),
    [
        ("longer than the buffer", [(b"content-length", b"11")]),
        ("chunked, length unknown", [(b"transfer-encoding", b"chunked")]),
    ],
)
def test_other_bodies_are_streamed_to_the_thread(
    _case: str, headers: list[tuple[bytes, bytes]]
) -> None:
    sent = _exchange(Echo(), [b"hello ", b"world"], headers, max_buffered_body=4)

    assert _body(sent) == b"got:hello world"


def streamed(environ: Environ, start_response: Any) -> Iterator[bytes]:
    """A generator app (streaming, as Django's FileResponse is), using the legacy write() once."""
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"first;")
    yield from [b"second;", b"", b"third"]


def test_a_response_that_does_not_say_it_is_whole_is_sent_chunk_by_chunk() -> None:
    sent = _exchange(streamed, [b""], [])

    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    assert [m["body"] for m in sent[1:]] == [b"first;", b"second;", b"third", b""]
    assert sent[-1].get("more_body", False) is False


def test_a_failing_app_raises_to_the_server() -> None:
    """uvicorn answers 500 for an app that raises before it responds."""

    def broken(environ: Environ, start_response: Any) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        _exchange(broken, [b""], [])
