"""Registry tables: MLModel (one version of a named model) and TrainingJob."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Task(models.TextChoices):
    REGRESSION = "regression"
    CLASSIFICATION = "classification"
    SENTIMENT = "sentiment"
    IMAGE_CLASSIFICATION = "image-classification"


UPLOAD_TASK_CHOICES = [
    (Task.REGRESSION.value, Task.REGRESSION.label),
    (Task.CLASSIFICATION.value, Task.CLASSIFICATION.label),
]


class Framework(models.TextChoices):
    SKLEARN = "sklearn"
    ONNX = "onnx"
    VADER = "vader"


class ModelStatus(models.TextChoices):
    QUEUED = "queued"
    TRAINING = "training"
    READY = "ready"
    FAILED = "failed"
    ARCHIVED = "archived"


class Stage(models.TextChoices):
    NONE = "none"
    STAGING = "staging"
    PRODUCTION = "production"


def artifact_path(instance: MLModel, filename: str) -> str:
    return f"models/{instance.name}/v{instance.version}/{filename}"


class MLModel(models.Model):
    """One version of a named model; `name:version` is unique."""

    name = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    task = models.CharField(max_length=32, choices=Task.choices)
    framework = models.CharField(max_length=32, choices=Framework.choices)
    status = models.CharField(
        max_length=16, choices=ModelStatus.choices, default=ModelStatus.QUEUED, db_index=True
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.NONE)
    description = models.TextField(blank=True, default="")
    feature_names = models.JSONField(default=list, blank=True)
    labels = models.JSONField(default=list, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    config = models.JSONField(
        default=dict, blank=True, help_text="Runtime settings, e.g. sentiment thresholds."
    )
    artifact = models.FileField(upload_to=artifact_path, max_length=500, blank=True)
    artifact_sha256 = models.CharField(
        max_length=64, blank=True, default="", help_text="Digest of the artifact's bytes."
    )
    evaluation_plot = models.FileField(
        upload_to=artifact_path,
        max_length=500,
        blank=True,
        help_text="Confusion matrix (classifiers) or predicted vs actual (regressors), PNG.",
    )
    serving_artifact = models.FileField(
        upload_to=artifact_path,
        max_length=500,
        blank=True,
        help_text="ONNX copy verified to predict like the artifact; served when present.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "ML model"
        verbose_name_plural = "ML models"
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="mlmodel_unique_name_version"),
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(stage="production"),
                name="mlmodel_one_production_per_name",
            ),
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        """The canonical reference `name:version` shown to clients."""
        return f"{self.name}:{self.version}"

    @property
    def serving_runtime(self) -> str:
        return (
            "onnx" if self.serving_artifact or self.framework == Framework.ONNX else self.framework
        )

    @property
    def primary_metric(self) -> tuple[str, Any] | None:
        """The metric people look at first: accuracy for classifiers, r2 for regressors."""
        for key in ("accuracy", "r2"):
            if key in self.metrics:
                return key, self.metrics[key]
        return None


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class TrainingJob(models.Model):
    """An asynchronous training run that produces a new MLModel version when it succeeds."""

    name = models.SlugField(max_length=100)
    algorithm = models.CharField(max_length=64)
    dataset = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField(null=True, blank=True)
    task = models.CharField(max_length=32, choices=Task.choices, default=Task.REGRESSION)
    feature_names = models.JSONField(default=list, blank=True)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    auto_promote = models.BooleanField(default=False)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=255, blank=True, default="")
    progress_log = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True, default="")
    model = models.ForeignKey(
        MLModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.pk} {self.name} ({self.status})"
