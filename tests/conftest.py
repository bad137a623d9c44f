"""Test isolation and shared fixtures: own Redis db and key prefix, own artifact dir, test database.

Django settings are loaded before this file (pytest-django), so the test values are put on the
settings object here, and `test_environment()` hands the same values to server subprocesses.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.conf import settings

from mlplatform.tokens import access_token_for

RUN_ID = uuid.uuid4().hex[:8]
TEST_ROOT = Path(tempfile.mkdtemp(prefix=f"mlptest-{RUN_ID}-"))
TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
TEST_CACHE_PREFIX = f"mlptest-{RUN_ID}"
ADMIN = ("admin", "admin-test-password")
UPLOAD_LIMIT = 3_000_000  # the test servers' artifact size limit
TEST_QUEUE = f"mlptest-{RUN_ID}"

settings.REDIS_URL = TEST_REDIS_URL
settings.MLP_CACHE_PREFIX = TEST_CACHE_PREFIX
settings.CELERY_BROKER_URL = TEST_REDIS_URL
settings.CELERY_TASK_DEFAULT_QUEUE = TEST_QUEUE
settings.MEDIA_ROOT = TEST_ROOT / "artifacts"
if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(TEST_ROOT / "test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment: None, django_db_blocker: Any) -> Iterator[None]:
    """The test database, migrated and bootstrapped once: built-in models and users committed.

    Replaces pytest-django's set-up, which creates no test database when only end-to-end tests
    (which use no `db` fixture) are collected, and would leave them on the development database.
    """
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from models_app.bootstrap import run_bootstrap

    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        assert "test" in str(connection.settings_dict["NAME"]), "not on the test database"
        settings.MLP_ADMIN_USER, settings.MLP_ADMIN_PASSWORD = ADMIN
        run_bootstrap()
        _make_user("alice", staff=False)
        _make_user("staffer", staff=True)
    yield
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(f"{TEST_CACHE_PREFIX}:*"):
        client.delete(key)
    client.delete(TEST_QUEUE)
    with django_db_blocker.unblock():
        _end_other_sessions(connection)
        teardown_databases(db_cfg, verbosity=0)


def _end_other_sessions(connection: Any) -> None:
    """PostgreSQL refuses to drop a database others use; end stragglers of this test run."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _make_user(username: str, *, staff: bool) -> Any:
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = staff
    user.set_password(f"{username}-password")
    user.save()
    return user


@pytest.fixture
def user(db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="alice")


@pytest.fixture
def staff(db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="staffer")


@pytest.fixture
def user_principal(user: Any) -> Any:
    from mlplatform.auth import principal_for_user

    return principal_for_user(user)


@pytest.fixture
def staff_principal(staff: Any) -> Any:
    from mlplatform.auth import principal_for_user

    return principal_for_user(staff)


@pytest.fixture
def user_token(user: Any) -> str:
    return access_token_for(user)


def server_environment(database_url: str) -> dict[str, str]:
    """Environment for a server subprocess that shares this run's database, Redis and artifacts."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "MLP_CACHE_PREFIX": TEST_CACHE_PREFIX,
        "MLP_CELERY_QUEUE": TEST_QUEUE,
        "MLP_ARTIFACT_DIR": str(settings.MEDIA_ROOT),
        "MLP_DATA_DIR": str(TEST_ROOT),
        "DEBUG": "true",
        "MLP_GRPC_METRICS_PORT": "0",  # fixtures that scrape give their process a free port
        "MLP_MQTT_METRICS_PORT": "0",
        "MLP_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT),
    }


@pytest.fixture(scope="session")
def database_url(django_db_setup: None) -> str:
    """A DATABASE_URL naming this run's test database, for server subprocesses."""
    from urllib.parse import quote

    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    auth = quote(params["USER"] or "", safe="")
    if params.get("PASSWORD"):
        auth += ":" + quote(params["PASSWORD"], safe="")
    host = params["HOST"] or "127.0.0.1"
    port = params["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{params['NAME']}"


@pytest.fixture(scope="session")
def web_server(database_url: str) -> Iterator[str]:
    """The real web process (uvicorn on mlplatform.asgi) on a free port; yields its base URL."""
    from tests.servers import run_web_server

    with run_web_server(server_environment(database_url)) as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def _fresh_model_resolution() -> Iterator[None]:
    """Test transactions roll back registry changes without a commit to clear the cache on."""
    from models_app.resolution import clear_resolution_cache

    clear_resolution_cache()
    yield
    clear_resolution_cache()


@pytest.fixture(scope="session")
def grpc_server(database_url: str, grpc_ops_port: int) -> Iterator[str]:
    """The real gRPC process on a free port; yields its host:port."""
    from tests.servers import run_grpc_server

    env = {**server_environment(database_url), "MLP_GRPC_METRICS_PORT": str(grpc_ops_port)}
    with run_grpc_server(env) as address:
        yield address


@pytest.fixture(scope="session")
def grpc_ops_port() -> int:
    """The gRPC process's /metrics and /healthz port."""
    from tests.servers import free_port

    return free_port()


@pytest.fixture
def db_reader(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Database reads outside a test transaction, to see what server processes committed
    (on the test database, even when no other test of the run asked for it first)."""
    with django_db_blocker.unblock():
        yield


def obtain_token(base_url: str, username: str, password: str) -> str:
    response = requests.post(
        f"{base_url}/api/v1/auth/token/",
        json={"username": username, "password": password},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access"])


@pytest.fixture(scope="session")
def user_jwt(web_server: str) -> str:
    return obtain_token(web_server, "alice", "alice-password")


@pytest.fixture(scope="session")
def staff_jwt(web_server: str) -> str:
    return obtain_token(web_server, *ADMIN)
