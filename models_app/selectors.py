"""Reads of the registry: resolve a model reference ("iris", "iris:3", "42") to one MLModel."""

from __future__ import annotations

from django.db.models import QuerySet

from mlplatform.auth import Principal, require_authenticated, require_staff
from mlplatform.errors import InvalidInput, ModelNotFound, ModelNotReady
from mlplatform.ids import as_db_id, is_digits
from models_app.models import MLModel, ModelStatus, Stage, TrainingJob
from models_app.resolution import resolution_cache


def resolve_model_ref(ref: str | int) -> MLModel:
    """The model a reference names; ready or not (the caller decides what it needs).

    `name` means its production version, else its newest ready one; `name:version` and a numeric
    id name one row exactly.
    """
    text = str(ref).strip()
    if not text:
        raise InvalidInput("model reference is empty")
    if is_digits(text):
        model_id = as_db_id(text)
        model = MLModel.objects.filter(pk=model_id).first() if model_id else None
        if model is None:
            raise ModelNotFound(f"no model with id {text}")
        return model
    if ":" in text:
        name, _, version = text.partition(":")
        number = as_db_id(version)
        if not is_digits(version):
            raise InvalidInput(f"model reference {text!r}: version must be a positive integer")
        model = MLModel.objects.filter(name=name, version=number).first() if number else None
        if model is None:
            raise ModelNotFound(f"model {text!r} does not exist")
        return model
    return _resolve_name(text)


def _resolve_name(name: str) -> MLModel:
    versions = MLModel.objects.filter(name=name)
    production = versions.filter(stage=Stage.PRODUCTION, status=ModelStatus.READY).first()
    if production is not None:
        return production
    newest_ready = versions.filter(status=ModelStatus.READY).order_by("-version").first()
    if newest_ready is not None:
        return newest_ready
    newest = versions.order_by("-version").first()
    if newest is None:
        raise ModelNotFound(f"model {name!r} does not exist")
    return newest


def resolve_ready_model(ref: str | int) -> MLModel:
    """Resolve a reference and insist the version can serve predictions (cached per process)."""
    key = str(ref).strip()
    cache = resolution_cache()
    cached = cache.get(key)
    if cached is not None:
        return cached
    model = resolve_model_ref(ref)
    if model.status != ModelStatus.READY:
        raise ModelNotReady(f"model {model.ref!r} is {model.status}, not ready")
    cache.put(key, model)
    return model


def cached_ready_model(ref: str | int) -> MLModel | None:
    """The model `resolve_ready_model` would answer from this process's cache, without a query;
    None when it would need the database."""
    return resolution_cache().get(str(ref).strip())


def next_version(name: str) -> int:
    latest = (
        MLModel.objects.filter(name=name).order_by("-version").values_list("version", flat=True)
    )
    return (latest.first() or 0) + 1


def visible_training_jobs(actor: Principal | None) -> QuerySet[TrainingJob]:
    """Training jobs are staff business."""
    require_staff(actor)
    return TrainingJob.objects.select_related("model").order_by("-created_at")


def list_models(
    actor: Principal | None, *, name: str = "", task: str = "", stage: str = ""
) -> QuerySet[MLModel]:
    """Model versions for any signed-in user, optionally filtered (gRPC ListModels)."""
    require_authenticated(actor)
    rows = MLModel.objects.order_by("name", "-version")
    if name:
        rows = rows.filter(name=name)
    if task:
        rows = rows.filter(task=task)
    if stage:
        rows = rows.filter(stage=stage)
    return rows
