"""Django admin for the registry: browse versions, promote, archive, inspect metrics."""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from mlplatform.auth import principal_for_user
from mlplatform.errors import PlatformError
from models_app.models import MLModel, Stage, TrainingJob
from models_app.services import archive_model, promote_model, start_training_job


@admin.register(MLModel)
class MLModelAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "version",
        "task",
        "framework",
        "serving",
        "status_badge",
        "stage_badge",
        "key_metric",
        "created_at",
    )
    list_display_links = ("name", "version")
    list_filter = ("task", "status", "stage", "framework", "created_at")
    search_fields = ("name", "description")
    ordering = ("name", "-version")
    date_hierarchy = "created_at"
    list_per_page = 50
    actions = ("promote_to_production", "promote_to_staging", "archive_versions", "retrain")
    readonly_fields = (
        "name",
        "version",
        "task",
        "framework",
        "serving",
        "status",
        "stage",
        "artifact_link",
        "serving_artifact_link",
        "feature_list",
        "label_list",
        "metrics_table",
        "plot",
        "created_at",
        "created_by",
    )
    fieldsets = (
        (None, {"fields": ("name", "version", "task", "framework", "serving", "description")}),
        ("Lifecycle", {"fields": ("status", "stage", "created_at", "created_by")}),
        ("Schema", {"fields": ("feature_list", "label_list")}),
        ("Evaluation", {"fields": ("metrics_table", "plot")}),
        ("Artifacts", {"fields": ("artifact_link", "serving_artifact_link")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training, upload or bootstrap, which validate artifacts

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # predictions point at versions: archive instead of deleting

    @admin.display(description="serving")
    def serving(self, obj: MLModel) -> str:
        return obj.serving_runtime

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: MLModel) -> str:
        colours = {"ready": "#2e7d32", "failed": "#c62828", "archived": "#757575"}
        return _badge(obj.status, colours.get(obj.status, "#ef6c00"))

    @admin.display(description="stage", ordering="stage")
    def stage_badge(self, obj: MLModel) -> str:
        if obj.stage == Stage.NONE:
            return "—"
        return _badge(obj.stage, "#1565c0" if obj.stage == Stage.PRODUCTION else "#6a1b9a")

    @admin.display(description="key metric")
    def key_metric(self, obj: MLModel) -> str:
        metric = obj.primary_metric
        return f"{metric[0]} {metric[1]:.3f}" if metric else "—"

    @admin.display(description="features")
    def feature_list(self, obj: MLModel) -> str:
        return ", ".join(obj.feature_names) or "—"

    @admin.display(description="labels")
    def label_list(self, obj: MLModel) -> str:
        return ", ".join(obj.labels) or "—"

    @admin.display(description="hold-out metrics")
    def metrics_table(self, obj: MLModel) -> str:
        if not obj.metrics:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th style='padding-right:1em'>{}</th><td>{}</td></tr>",
            sorted(obj.metrics.items()),
        )
        return format_html("<table>{}</table>", rows)

    @admin.display(description="evaluation plot")
    def plot(self, obj: MLModel) -> str:
        if not obj.evaluation_plot:
            return "—"
        try:
            with obj.evaluation_plot.open("rb") as handle:
                encoded = base64.b64encode(handle.read()).decode()
        except OSError:
            return "missing on disk"
        return format_html(
            "<img alt='evaluation plot' style='max-width:520px' src='data:image/png;base64,{}'>",
            encoded,
        )

    @admin.display(description="artifact (source of truth)")
    def artifact_link(self, obj: MLModel) -> str:
        return _file_info(obj.artifact)

    @admin.display(description="serving artifact (verified ONNX)")
    def serving_artifact_link(self, obj: MLModel) -> str:
        return _file_info(obj.serving_artifact)

    @admin.action(description="Promote to production (demotes the current production version)")
    def promote_to_production(self, request: HttpRequest, queryset: QuerySet[MLModel]) -> None:
        names = list(queryset.values_list("name", flat=True))
        if len(names) != len(set(names)):
            self.message_user(request, "Select one version per model name.", messages.ERROR)
            return
        self._apply(
            request,
            queryset,
            lambda m, actor: promote_model(model=m, stage=Stage.PRODUCTION, actor=actor),
            "promoted to production",
        )

    @admin.action(description="Move to staging")
    def promote_to_staging(self, request: HttpRequest, queryset: QuerySet[MLModel]) -> None:
        self._apply(
            request,
            queryset,
            lambda m, actor: promote_model(model=m, stage=Stage.STAGING, actor=actor),
            "moved to staging",
        )

    @admin.action(description="Archive (stop serving)")
    def archive_versions(self, request: HttpRequest, queryset: QuerySet[MLModel]) -> None:
        self._apply(
            request, queryset, lambda m, actor: archive_model(model=m, actor=actor), "archived"
        )

    @admin.action(description="Retrain (same algorithm, data and parameters)")
    def retrain(self, request: HttpRequest, queryset: QuerySet[MLModel]) -> None:
        actor = principal_for_user(request.user)
        for model in queryset:
            recipe = model.config.get("training")
            if not recipe or not recipe.get("dataset"):
                self.message_user(
                    request,
                    f"No training recipe for {model.ref}: it was not trained on a bundled data set",
                    messages.ERROR,
                )
                continue
            try:
                with transaction.atomic():
                    job = start_training_job(
                        name=model.name,
                        algorithm=recipe["algorithm"],
                        dataset=recipe["dataset"],
                        data=None,
                        params=recipe.get("params", {}),
                        task=model.task,
                        feature_names=None,
                        actor=actor,
                    )
            except PlatformError as exc:
                self.message_user(request, f"{model.ref}: {exc.message}", messages.ERROR)
                continue
            self.message_user(request, f"Training job {job.pk} queued for {model.name}.")

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[MLModel], action: Any, verb: str
    ) -> None:
        actor = principal_for_user(request.user)
        done = []
        for model in queryset:
            try:
                action(model, actor)
                done.append(model.ref)
            except PlatformError as exc:
                self.message_user(request, f"{model.ref}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(done)}.", messages.SUCCESS)


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "name",
        "algorithm",
        "dataset",
        "status",
        "progress",
        "model",
        "created_at",
    )
    list_filter = ("status", "algorithm", "created_at")
    search_fields = ("name", "algorithm", "message", "error")
    readonly_fields = tuple(f.name for f in TrainingJob._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


def _badge(text: str, colour: str) -> str:
    return format_html(
        "<span style='background:{};color:#fff;border-radius:8px;padding:1px 8px;"
        "font-size:11px;font-weight:600'>{}</span>",
        colour,
        text,
    )


def _file_info(field: Any) -> str:
    if not field:
        return "—"
    try:
        size = f"{field.size / 1024:.1f} KiB"
    except OSError:
        size = "missing on disk"
    return format_html("<code>{}</code> ({})", field.name, size)
