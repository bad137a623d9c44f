"""Production mode refuses to start with unsafe settings, and says every reason at once."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from mlplatform.safety import DEV_SECRET_KEY, check_production_settings

GOOD_KEY = "k" * 50


def test_safe_production_settings_pass() -> None:
    check_production_settings(
        debug=False, secret_key=GOOD_KEY, admin_user="ops", admin_password="long-unique-password"
    )


@pytest.mark.parametrize(
    ("_case", "kwargs", "reason"),
    [
        ("debug", {"debug": True}, "DEBUG is on"),
        ("default key", {"secret_key": DEV_SECRET_KEY}, "SECRET_KEY is the development default"),
        ("short key", {"secret_key": "short"}, "shorter than 32 characters"),
        ("admin/admin", {"admin_user": "admin", "admin_password": "admin"}, "default credentials"),
        ("weak password", {"admin_password": "changeme"}, "default password"),
    ],
)
def test_unsafe_production_settings_are_refused(_case: str, kwargs: dict, reason: str) -> None:
    values = {
        "debug": False,
        "secret_key": GOOD_KEY,
        "admin_user": "ops",
        "admin_password": "x" * 20,
    }

    with pytest.raises(ImproperlyConfigured, match=reason):
        check_production_settings(**{**values, **kwargs})


def test_manage_py_refuses_unsafe_production() -> None:
    env = {**os.environ, "DJANGO_ENV": "production", "DEBUG": "true"}
    env.pop("SECRET_KEY", None)

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert "refusing to start in production: DEBUG is on; SECRET_KEY" in result.stderr


def test_production_settings_pass_check_deploy_with_no_warning(tmp_path: Any) -> None:
    """`DJANGO_ENV=production` with real secrets: Django's deployment checklist is clean."""
    import secrets
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "DEBUG": "",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "MLP_ADMIN_USER": "ops",
        "MLP_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "ALLOWED_HOSTS": "ml.example.com",
        "MLP_DATA_DIR": str(tmp_path),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_env_example_lists_every_setting() -> None:
    """The contract: `.env.example` lists every variable settings.py reads."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    read = set(
        re.findall(r'env_\w+\("([A-Z0-9_]+)"', (root / "mlplatform/settings.py").read_text())
    )
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (root / ".env.example").read_text(), re.M))

    assert read - documented == set()


def test_production_collectstatic_builds_the_manifest(tmp_path: Any) -> None:
    """Production serves hashed, compressed static files: collectstatic must succeed."""
    import secrets
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "MLP_ADMIN_USER": "ops",
        "MLP_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "ALLOWED_HOSTS": "ml.example.com",
        "MLP_DATA_DIR": str(tmp_path),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/graphiql/graphiql.min.js" in manifest
    assert "live/live.js" in manifest
