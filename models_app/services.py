"""Registry use cases: register a version, promote, archive. Admin, REST and GraphQL call these."""

from __future__ import annotations

import hashlib
import logging

import skops.io as sio
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from mlplatform.auth import Principal, require_staff
from mlplatform.errors import InvalidInput, ModelNotReady
from models_app.algorithms import build_estimator
from models_app.artifacts import check_artifact
from models_app.conversion import convert_to_onnx
from models_app.datasets import inline_dataset, load_bundled
from models_app.dispatch import dispatch_training_job
from models_app.models import Framework, MLModel, ModelStatus, Stage, TrainingJob
from models_app.resolution import registry_changed
from models_app.selectors import next_version
from models_app.training import TrainedModel

logger = logging.getLogger(__name__)

_VERSION_RETRIES = 3


def register_trained_model(
    *,
    name: str,
    trained: TrainedModel,
    actor: Principal | None,
    stage: str = Stage.NONE,
    by_platform: bool = False,
) -> MLModel:
    """Store a fitted sklearn estimator as the next version of `name`, with its ONNX fast path.

    The skops file is the source of truth; the ONNX copy is kept only when it predicts the same.
    Staff only, unless the platform itself registers (`by_platform`, bootstrap).
    """
    if not by_platform:
        require_staff(actor)
    skops_bytes = sio.dumps(trained.estimator)
    onnx_bytes = convert_to_onnx(trained.estimator, trained.probe) if len(trained.probe) else None
    for attempt in range(_VERSION_RETRIES):
        try:
            with transaction.atomic():
                model = MLModel(
                    name=name,
                    version=next_version(name),
                    task=trained.task,
                    framework=Framework.SKLEARN,
                    status=ModelStatus.READY,
                    description=trained.description,
                    feature_names=list(trained.feature_names),
                    labels=list(trained.labels),
                    metrics=dict(trained.metrics),
                    config={"training": trained.recipe} if trained.recipe else {},
                    artifact_sha256=hashlib.sha256(skops_bytes).hexdigest(),
                    created_by_id=actor.user_id if actor else None,
                )
                model.artifact.save("model.skops", ContentFile(skops_bytes), save=False)
                if onnx_bytes is not None:
                    model.serving_artifact.save("model.onnx", ContentFile(onnx_bytes), save=False)
                if trained.evaluation_plot:
                    plot = ContentFile(trained.evaluation_plot)
                    model.evaluation_plot.save("evaluation.png", plot, save=False)
                model.save()
                if stage == Stage.PRODUCTION:
                    _make_production(model)
                registry_changed()
                return model
        except IntegrityError:
            if attempt == _VERSION_RETRIES - 1:
                raise
            logger.info("version race on %s, retrying", name)
    raise AssertionError("unreachable")


def promote_model(*, model: MLModel, stage: str, actor: Principal | None) -> MLModel:
    """Move a ready version to a stage; production demotes the previous production version."""
    require_staff(actor)
    if stage not in Stage.values:
        raise InvalidInput(
            f"stage must be one of {', '.join(Stage.values)}", details={"stage": stage}
        )
    if stage == Stage.PRODUCTION and model.status != ModelStatus.READY:
        raise ModelNotReady(
            f"model {model.ref} is {model.status}; only ready models go to production"
        )
    return _set_stage(model, stage)


def archive_model(*, model: MLModel, actor: Principal | None) -> MLModel:
    """Archive a version: it stops serving and leaves any stage; its rows and artifact stay."""
    require_staff(actor)
    model.status = ModelStatus.ARCHIVED
    model.stage = Stage.NONE
    with transaction.atomic():
        model.save(update_fields=["status", "stage"])
        registry_changed()
    return model


def _make_production(model: MLModel) -> None:
    MLModel.objects.filter(name=model.name, stage=Stage.PRODUCTION).exclude(pk=model.pk).update(
        stage=Stage.NONE
    )
    model.stage = Stage.PRODUCTION
    model.save(update_fields=["stage"])


def register_prebuilt_model(
    *,
    name: str,
    task: str,
    framework: str,
    artifact: bytes | None,
    artifact_filename: str = "",
    labels: list[str] | None = None,
    config: dict[str, object] | None = None,
    description: str = "",
    identity: str = "",
    actor: Principal | None,
    stage: str = Stage.NONE,
    by_platform: bool = False,
) -> MLModel:
    """Register a model that needs no training here (pretrained ONNX, lexicon-based analysers).

    `identity` stands in for the artifact digest when there is no artifact file (e.g. the lexicon
    version), so cached predictions stay tied to what produced them.
    """
    if not by_platform:
        require_staff(actor)
    digest = hashlib.sha256(artifact).hexdigest() if artifact is not None else identity
    with transaction.atomic():
        model = MLModel(
            name=name,
            version=next_version(name),
            task=task,
            framework=framework,
            status=ModelStatus.READY,
            description=description,
            labels=list(labels or []),
            config=dict(config or {}),
            artifact_sha256=digest,
            created_by_id=actor.user_id if actor else None,
        )
        if artifact is not None:
            model.artifact.save(artifact_filename, ContentFile(artifact), save=False)
        model.save()
        registry_changed()
        if stage == Stage.PRODUCTION:
            _make_production(model)
    return model


def register_uploaded_model(
    *,
    name: str,
    task: str,
    filename: str,
    data: bytes,
    feature_names: list[str],
    labels: list[str],
    description: str,
    actor: Principal | None,
) -> MLModel:
    """Validate an uploaded .skops/.onnx artifact, then store it as the next version of `name`."""
    require_staff(actor)
    checked = check_artifact(
        filename=filename, data=data, task=task, feature_names=feature_names, labels=labels
    )
    onnx_bytes = None
    if checked.estimator is not None:
        onnx_bytes = convert_to_onnx(checked.estimator, checked.probe)
    extension = ".skops" if checked.framework == Framework.SKLEARN else ".onnx"
    with transaction.atomic():
        model = MLModel(
            name=name,
            version=next_version(name),
            task=task,
            framework=checked.framework,
            status=ModelStatus.READY,
            description=description,
            feature_names=list(feature_names),
            labels=checked.labels,
            artifact_sha256=hashlib.sha256(data).hexdigest(),
            created_by_id=actor.user_id if actor else None,
        )
        model.artifact.save(f"model{extension}", ContentFile(data), save=False)
        if onnx_bytes is not None:
            model.serving_artifact.save("model.onnx", ContentFile(onnx_bytes), save=False)
        model.save()
        registry_changed()
    return model


def update_model(
    *, model: MLModel, actor: Principal | None, description: str | None, stage: str | None
) -> MLModel:
    """PATCH semantics: change the description and/or the stage (via promote_model)."""
    require_staff(actor)
    if description is not None:
        model.description = description
        model.save(update_fields=["description"])
    if stage is not None:
        promote_model(model=model, stage=stage, actor=actor)
    return model


def start_training_job(
    *,
    name: str,
    algorithm: str,
    dataset: str | None,
    data: dict[str, object] | None,
    params: dict[str, object],
    task: str | None,
    feature_names: list[str] | None,
    actor: Principal | None,
    auto_promote: bool = False,
) -> TrainingJob:
    """Validate a training request up front (400 rather than a failed job), then queue it."""
    require_staff(actor)
    if bool(dataset) == (data is not None):
        raise InvalidInput("give exactly one of 'dataset' (a bundled data set) or 'data' ({X, y})")
    source = (
        load_bundled(dataset)
        if dataset
        else inline_dataset(data, task=task, feature_names=feature_names)
    )
    if task and task != source.task:
        raise InvalidInput(f"dataset {dataset!r} is a {source.task} data set, not {task}")
    build_estimator(algorithm, source.task, params)
    job = TrainingJob.objects.create(
        name=name,
        algorithm=algorithm,
        dataset=dataset or "",
        data=data if data is not None else None,
        params=dict(params),
        task=source.task,
        feature_names=list(feature_names or []),
        auto_promote=auto_promote,
        message="queued",
        created_by_id=actor.user_id if actor else None,
    )
    transaction.on_commit(lambda: dispatch_training_job(job.pk))
    return job


def promote_model_by_platform(*, model: MLModel, stage: str) -> MLModel:
    """Promotion decided by the platform itself (a job's auto_promote), not by a user."""
    return _set_stage(model, stage)


def _set_stage(model: MLModel, stage: str) -> MLModel:
    with transaction.atomic():
        if stage == Stage.PRODUCTION:
            _make_production(model)
        else:
            model.stage = stage
            model.save(update_fields=["stage"])
        registry_changed()
    return model
