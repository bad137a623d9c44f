"""Idempotent platform set-up: built-in models and the admin user. `manage.py bootstrap` runs it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model

from models_app.models import MLModel, ModelStatus, Stage
from models_app.pretrained import register_imagenet, register_sentiment
from models_app.services import register_trained_model
from models_app.training import BUILTIN_TABULAR

logger = logging.getLogger(__name__)

DEBUG_ADMIN = ("admin", "admin")
BUILTIN_MODEL_NAMES: tuple[str, ...] = (*BUILTIN_TABULAR, "sentiment", "imagenet")


@dataclass
class BootstrapReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    admin_user: str | None = None
    admin_is_default: bool = False


def bootstrap_models(report: BootstrapReport) -> None:
    """Train and register each built-in model that has no ready version yet."""
    for name, train in BUILTIN_TABULAR.items():
        ready = MLModel.objects.filter(name=name, status=ModelStatus.READY)
        if ready.exists():
            report.existing.append(name)
            continue
        model = register_trained_model(
            name=name, trained=train(), actor=None, stage=Stage.PRODUCTION, by_platform=True
        )
        report.created.append(model.ref)


def bootstrap_pretrained(report: BootstrapReport) -> None:
    """Register the sentiment analyser and, when its ONNX export exists, the ImageNet model."""
    if MLModel.objects.filter(name="sentiment", status=ModelStatus.READY).exists():
        report.existing.append("sentiment")
    else:
        report.created.append(register_sentiment().ref)
    if MLModel.objects.filter(name="imagenet", status=ModelStatus.READY).exists():
        report.existing.append("imagenet")
        return
    onnx_path = Path(settings.MLP_IMAGENET_ONNX)
    if not onnx_path.is_file():
        report.skipped.append(
            f"imagenet: no ONNX export at {onnx_path}; run `make imagenet` "
            "(or set MLP_IMAGENET_ONNX)"
        )
        return
    report.created.append(register_imagenet(onnx_path).ref)


def bootstrap_admin(report: BootstrapReport) -> None:
    """Create or update the superuser from MLP_ADMIN_USER/PASSWORD (admin/admin only in DEBUG)."""
    username, password = settings.MLP_ADMIN_USER, settings.MLP_ADMIN_PASSWORD
    if not (username and password):
        if not settings.DEBUG:
            logger.warning("MLP_ADMIN_USER/MLP_ADMIN_PASSWORD not set: no admin user created")
            return
        username, password = DEBUG_ADMIN
        report.admin_is_default = True
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=username)
    user.is_staff = True
    user.is_superuser = True
    user.set_password(password)
    user.save()
    report.admin_user = username


def bootstrap_service_users() -> None:
    """The MQTT bridge predicts as this account when messages carry no token (the broker has
    authenticated the device); it cannot log in."""
    user, created = get_user_model().objects.get_or_create(username=settings.MQTT_BRIDGE_USER)
    if created:
        user.set_unusable_password()
        user.save()


def run_bootstrap() -> BootstrapReport:
    report = BootstrapReport()
    bootstrap_models(report)
    bootstrap_pretrained(report)
    bootstrap_admin(report)
    bootstrap_service_users()
    return report
