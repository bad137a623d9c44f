"""Refuses unsafe production configurations before Django starts; called from settings.py."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789abcdefghijklmnop"
DEFAULT_ADMIN_PASSWORDS = {"", "admin", "password", "changeme"}


def check_production_settings(
    *, debug: bool, secret_key: str, admin_user: str, admin_password: str
) -> None:
    """Raise ImproperlyConfigured listing every unsafe production setting at once."""
    problems: list[str] = []
    if debug:
        problems.append("DEBUG is on")
    if secret_key == DEV_SECRET_KEY or len(secret_key) < 32:
        problems.append("SECRET_KEY is the development default or shorter than 32 characters")
    if admin_user and admin_password in DEFAULT_ADMIN_PASSWORDS:
        problems.append("MLP_ADMIN_PASSWORD is a default password")
    if admin_user == "admin" and admin_password == "admin":
        problems.append("admin/admin are default credentials")
    if problems:
        raise ImproperlyConfigured("refusing to start in production: " + "; ".join(problems))
