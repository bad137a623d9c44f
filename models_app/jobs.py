"""Running training jobs (called by the Celery task) and recovering jobs whose worker died.

A job is claimed atomically (queued -> running), so a redelivered message never runs it twice.
While it runs, a heartbeat thread stamps `heartbeat_at`; the reaper turns running jobs with a
stale heartbeat back into queued ones (retry) or failed ones, so none stays "running" forever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone

from mlplatform.errors import PlatformError
from models_app.algorithms import build_estimator
from models_app.datasets import Dataset, inline_dataset, load_bundled
from models_app.job_events import publish_job
from models_app.models import JobStatus, MLModel, Stage, TrainingJob
from models_app.plots import evaluation_plot
from models_app.services import promote_model_by_platform, register_trained_model
from models_app.training import TrainedModel, fit_and_evaluate

logger = logging.getLogger(__name__)


def run_training_job(job_id: int, *, worker: str) -> None:
    """Claim and run one job; every failure ends in a failed job with a message, never a crash."""
    now = timezone.now()
    claimed = TrainingJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker,
        attempts=F("attempts") + 1,
        error="",
    )
    if not claimed:
        logger.info("job %s is not queued any more; nothing to do", job_id)
        return
    job = TrainingJob.objects.select_related("model").get(pk=job_id)
    _report(job, 0, f"started on {worker} (attempt {job.attempts})")
    try:
        with _heartbeat(job_id):
            model = _train(job, lambda progress, message: _report(job, progress, message))
        _finish(job, model)
    except PlatformError as exc:
        _fail(job, exc.message)
    except Exception as exc:  # any estimator error: recorded precisely, the worker carries on
        logger.exception("training job %s failed", job_id)
        _fail(job, f"{type(exc).__name__}: {exc}")


def _train(job: TrainingJob, report: Callable[[int, str], None]) -> MLModel:
    report(10, "loading data")
    data = _load(job)
    estimator = build_estimator(job.algorithm, data.task, job.params)
    result = fit_and_evaluate(
        estimator,
        data.X,
        data.y,
        task=data.task,
        stratify=data.task == "classification",
        on_stage=report,
    )
    report(90, "saving")
    trained = TrainedModel(
        estimator=result.estimator,
        task=data.task,
        feature_names=data.feature_names,
        labels=[str(c) for c in getattr(result.estimator, "classes_", [])],
        metrics=result.metrics,
        probe=result.X_test,
        description=f"{job.algorithm} trained by job {job.pk}",
        recipe={"algorithm": job.algorithm, "dataset": job.dataset, "params": job.params},
        evaluation_plot=evaluation_plot(data.task, result.y_test, result.y_pred, data.labels),
    )
    return register_trained_model(name=job.name, trained=trained, actor=None, by_platform=True)


def _load(job: TrainingJob) -> Dataset:
    if job.dataset:
        return load_bundled(job.dataset)
    return inline_dataset(job.data, task=job.task, feature_names=job.feature_names or None)


def _report(job: TrainingJob, progress: int, message: str) -> None:
    job.progress = progress
    job.message = message
    job.progress_log = [*job.progress_log, _log_entry(progress, message)]
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["progress", "message", "progress_log", "heartbeat_at"])
    publish_job(job)


def _finish(job: TrainingJob, model: MLModel) -> None:
    promoted = job.auto_promote and _beats_production(model)
    with transaction.atomic():
        if promoted:
            promote_model_by_platform(model=model, stage=Stage.PRODUCTION)
        job.status = JobStatus.SUCCEEDED
        job.progress = 100
        job.message = f"registered {model.ref}" + (" and promoted it" if promoted else "")
        job.metrics = model.metrics
        job.model = model
        job.finished_at = timezone.now()
        job.progress_log = [*job.progress_log, _log_entry(100, job.message)]
        job.save()
        publish_job(job)


def _beats_production(model: MLModel) -> bool:
    current = (
        MLModel.objects.filter(name=model.name, stage=Stage.PRODUCTION).exclude(pk=model.pk).first()
    )
    if current is None:
        return True
    ours, theirs = model.primary_metric, current.primary_metric
    return bool(ours and theirs and ours[0] == theirs[0] and ours[1] > theirs[1])


def _fail(job: TrainingJob, error: str) -> None:
    job.status = JobStatus.FAILED
    job.error = error[:2000]
    job.message = "failed"
    job.finished_at = timezone.now()
    job.progress_log = [*job.progress_log, _log_entry(job.progress, f"failed: {error[:200]}")]
    job.save(update_fields=["status", "error", "message", "finished_at", "progress_log"])
    publish_job(job)


def _log_entry(progress: int, message: str) -> dict[str, Any]:
    return {"progress": progress, "message": message, "at": timezone.now().isoformat()}


@contextmanager
def _heartbeat(job_id: int) -> Iterator[None]:
    """Stamp the job every few seconds while a long fit holds this thread."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.MLP_JOB_HEARTBEAT_SECONDS):
                TrainingJob.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        finally:
            connections.close_all()

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def reap_stalled_jobs() -> list[int]:
    """Running jobs whose heartbeat stopped become queued (retry) or failed; returns the retried."""
    cutoff = timezone.now() - timedelta(seconds=settings.MLP_JOB_STALL_SECONDS)
    retried: list[int] = []
    for job in TrainingJob.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff):
        stale = TrainingJob.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, heartbeat_at=job.heartbeat_at
        )
        if job.attempts < settings.MLP_JOB_MAX_ATTEMPTS:
            message = f"worker {job.worker} stopped responding; retrying"
            if stale.update(status=JobStatus.QUEUED, message=message, progress=0):
                retried.append(job.pk)
                _publish_current(job.pk)
        else:
            error = (
                f"worker {job.worker} stopped responding during training "
                f"(gave up after {job.attempts} attempt(s))"
            )
            if stale.update(
                status=JobStatus.FAILED, error=error, message="failed", finished_at=timezone.now()
            ):
                _publish_current(job.pk)
    return retried


def _publish_current(job_id: int) -> None:
    publish_job(TrainingJob.objects.select_related("model").get(pk=job_id))
