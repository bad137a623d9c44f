"""Clients for the end-to-end protocol tests: tokens from the real token endpoint."""

from __future__ import annotations

from typing import Any

import pytest
import requests


class Api:
    """A tiny REST client bound to a base URL and a token."""

    def __init__(self, base_url: str, token: str | None) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def __getattr__(self, method: str) -> Any:
        def call(path: str, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", 30)
            return self.session.request(method.upper(), f"{self.base_url}{path}", **kwargs)

        return call


@pytest.fixture(scope="session")
def user_api(web_server: str, user_jwt: str) -> Api:
    return Api(web_server, user_jwt)


@pytest.fixture(scope="session")
def staff_api(web_server: str, staff_jwt: str) -> Api:
    return Api(web_server, staff_jwt)


@pytest.fixture(scope="session")
def anon_api(web_server: str) -> Api:
    return Api(web_server, None)


@pytest.fixture(scope="session")
def photo() -> bytes:
    """A real photograph shipped with scikit-learn (a palace in China)."""
    from pathlib import Path

    import sklearn

    return (Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg").read_bytes()
