"""`manage.py bootstrap`: register built-in models and the admin user (safe to run repeatedly)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from models_app.bootstrap import run_bootstrap


class Command(BaseCommand):
    help = "Train and register the built-in models and create the admin user (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        report = run_bootstrap()
        for ref in report.created:
            self.stdout.write(self.style.SUCCESS(f"registered {ref}"))
        for name in report.existing:
            self.stdout.write(f"{name}: ready version exists, kept")
        for reason in report.skipped:
            self.stdout.write(self.style.WARNING(f"skipped {reason}"))
        if report.admin_is_default:
            self.stdout.write(
                self.style.WARNING(
                    "!!! DEBUG: admin user 'admin' with password 'admin' created. "
                    "Set MLP_ADMIN_USER and MLP_ADMIN_PASSWORD for anything but local development."
                )
            )
        elif report.admin_user:
            self.stdout.write(f"admin user {report.admin_user!r} created/updated")
