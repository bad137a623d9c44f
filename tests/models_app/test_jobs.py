"""Training jobs run in-process: stages, metrics, registration, failures, retries, promotion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from models_app.jobs import reap_stalled_jobs, run_training_job
from models_app.models import JobStatus, MLModel, Stage, TrainingJob
from models_app.registry import get_runtime


@pytest.fixture(autouse=True)
def quiet_heartbeat(settings: Any) -> None:
    settings.MLP_JOB_HEARTBEAT_SECONDS = 3600  # in-process jobs finish long before a beat


def queued(**fields: Any) -> TrainingJob:
    values = {"name": "job-model", "algorithm": "logistic_regression", "dataset": "iris"}
    return TrainingJob.objects.create(**{**values, **fields})


def run(job: TrainingJob) -> TrainingJob:
    run_training_job(job.pk, worker="test:1")
    job.refresh_from_db()
    return job


def test_iris_job_registers_a_ready_version_with_metrics(db: None) -> None:
    job = run(queued(task="classification"))

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.progress == 100
    assert [entry["progress"] for entry in job.progress_log] == [0, 10, 30, 70, 90, 100]
    assert [entry["message"] for entry in job.progress_log[:5]] == [
        "started on test:1 (attempt 1)",
        "loading data",
        "fitting",
        "evaluating",
        "saving",
    ]
    model = job.model
    assert model is not None
    assert (model.ref, model.status, model.stage) == ("job-model:1", "ready", Stage.NONE)
    assert set(job.metrics) >= {"accuracy", "f1_macro", "roc_auc", "cv_accuracy_mean"}
    assert job.metrics["accuracy"] > 0.85
    assert model.labels == ["setosa", "versicolor", "virginica"]
    assert model.evaluation_plot.name.endswith("evaluation.png")
    assert model.config["training"] == {
        "algorithm": "logistic_regression",
        "dataset": "iris",
        "params": {},
    }
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.attempts == 1


def test_inline_regression_predicts_the_formula(db: None) -> None:
    X = np.random.default_rng(3).uniform(0, 10, size=(40, 2))
    data = {"X": X.tolist(), "y": (0.5 * X[:, 0] + 0.3 * X[:, 1] + 0.2).tolist()}

    job = run(queued(algorithm="linear_regression", dataset="", data=data, task="regression"))

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.metrics["r2"] == pytest.approx(1.0)
    assert job.model is not None
    out = get_runtime(job.model).predict(np.array([[1.0, 2.0]]))
    assert out.values[0] == pytest.approx(1.3, abs=1e-4)


def test_retraining_a_name_adds_the_next_version(db: None) -> None:
    job = run(queued(name="iris", task="classification"))

    assert job.model is not None
    assert job.model.ref == "iris:2"
    assert MLModel.objects.get(name="iris", version=1).stage == Stage.PRODUCTION


@pytest.mark.parametrize(
    ("_case", "fields", "error"),
    [
        (
            "bad data",
            {"dataset": "", "data": {"X": "bad", "y": []}},
            "'X' must be a non-empty list",
        ),
        ("unknown dataset", {"dataset": "mnist"}, "unknown dataset 'mnist'"),
        ("bad param", {"params": {"depth": 3}}, "logistic_regression has no parameter 'depth'"),
        ("bad value", {"params": {"C": -1.0}}, "logistic_regression: The 'C' parameter"),
        ("fit error", {"params": {"solver": "liblinear", "l1_ratio": 0.5}}, "Error"),
    ],
)
def test_bad_jobs_fail_with_a_clear_error(
    _case: str, fields: dict[str, Any], error: str, db: None
) -> None:
    job = run(queued(**fields))

    assert job.status == JobStatus.FAILED
    assert error in job.error
    assert job.model is None
    assert job.finished_at is not None
    assert not MLModel.objects.filter(name="job-model").exists()


def test_a_redelivered_message_does_not_run_a_finished_job_again(db: None) -> None:
    job = run(queued())

    run_training_job(job.pk, worker="test:2")

    job.refresh_from_db()
    assert (job.attempts, job.worker) == (1, "test:1")
    assert MLModel.objects.filter(name="job-model").count() == 1


def test_auto_promote_when_first_or_better(db: None) -> None:
    first = run(queued(auto_promote=True))
    worse = run(queued(auto_promote=True, algorithm="knn", params={"n_neighbors": 100}))

    assert first.model is not None
    assert worse.model is not None
    assert first.model.stage == Stage.PRODUCTION
    assert "promoted" in first.message
    worse.model.refresh_from_db()
    assert worse.model.stage == Stage.NONE
    assert worse.metrics["accuracy"] < first.metrics["accuracy"]


def test_reaper_retries_then_fails_jobs_whose_worker_died(settings: Any, db: None) -> None:
    settings.MLP_JOB_MAX_ATTEMPTS = 2
    long_ago = timezone.now() - timedelta(minutes=10)
    retry = queued(status=JobStatus.RUNNING, attempts=1, heartbeat_at=long_ago, worker="w:1")
    give_up = queued(status=JobStatus.RUNNING, attempts=2, heartbeat_at=long_ago, worker="w:2")
    alive = queued(status=JobStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())

    assert reap_stalled_jobs() == [retry.pk]

    for job in (retry, give_up, alive):
        job.refresh_from_db()
    assert retry.status == JobStatus.QUEUED
    assert retry.message == "worker w:1 stopped responding; retrying"
    assert give_up.status == JobStatus.FAILED
    assert "gave up after 2 attempt(s)" in give_up.error
    assert alive.status == JobStatus.RUNNING
