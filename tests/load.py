"""A steady REST predict load from a few client threads, for fault tests: every answer kept by
request id, so a test can compare what clients were told with the rows that were written."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests


class Load:
    """Four clients predicting until stopped; every answer kept by request id."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}"}
        self.answers: dict[str, requests.Response] = {}
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client) for _ in range(4)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def _client(self) -> None:
        while not self._stop.is_set():
            request_id = uuid.uuid4().hex
            sepal = 4.0 + int(request_id[:4], 16) / 65536
            try:
                answer = requests.post(
                    f"{self.base}/api/v1/models/iris/predict/",
                    json={"X": [[sepal, 3.0, 1.4, 0.2]]},
                    headers={**self.headers, "X-Request-ID": request_id},
                    timeout=30,
                )
            except requests.RequestException as error:  # the web process must stay up
                with self._lock:
                    self.failures.append(repr(error))
                continue
            with self._lock:
                self.answers[request_id] = answer

    def statuses(self) -> dict[int, int]:
        with self._lock:
            counts: dict[int, int] = {}
            for answer in self.answers.values():
                counts[answer.status_code] = counts.get(answer.status_code, 0) + 1
            return counts


def wait_for(check: Any, timeout: float, load: Load) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not in time: {load.statuses()} {load.failures[:3]}"
        time.sleep(0.2)
