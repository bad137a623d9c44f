"""Registry queries: allModels, modelsCount, model, trainingJob, trainingJobs."""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import Count, Prefetch, QuerySet

from mlplatform.auth import require_authenticated
from mlplatform.errors import InvalidInput, ModelNotFound
from mlplatform.graphql_view import principal_of
from mlplatform.ids import as_db_id
from models_app.graphql.loaders import remember_names
from models_app.graphql.types import RECENT_PREDICTIONS_MAX, MLModelType, TrainingJobType
from models_app.models import MLModel, TrainingJob
from models_app.selectors import resolve_model_ref, visible_training_jobs

MAX_PAGE = 100
ORDERINGS = {
    "name": "name",
    "version": "version",
    "createdAt": "created_at",
    "created_at": "created_at",
    "task": "task",
    "status": "status",
    "stage": "stage",
}
FILTERS = {
    "name": graphene.String(),
    "task": graphene.String(),
    "status": graphene.String(),
    "stage": graphene.String(),
}


def filtered_models(**filters: Any) -> QuerySet[MLModel]:
    rows = MLModel.objects.all()
    for field in ("name", "task", "status", "stage"):
        if filters.get(field):
            rows = rows.filter(**{field: filters[field]})
    return rows


def ordering(order_by: str | None) -> list[str]:
    if not order_by:
        return ["name", "-version"]
    descending = order_by.startswith("-")
    key = ORDERINGS.get(order_by.lstrip("-"))
    if key is None:
        allowed = ", ".join(sorted({k for k in ORDERINGS if "_" not in k}))
        raise InvalidInput(f"orderBy {order_by!r} is not one of {allowed} (prefix - to reverse)")
    return [f"-{key}" if descending else key, "-version"]


def page(rows: Any, first: int | None, offset: int | None) -> Any:
    size = MAX_PAGE if first is None else first
    start = offset or 0
    if size < 0 or start < 0:
        raise InvalidInput("first and offset must not be negative")
    if size > MAX_PAGE:
        raise InvalidInput(f"first may be at most {MAX_PAGE}")
    return rows[start : start + size]


def requested(info: Any, field: str) -> bool:
    """Whether the current selection asks for `field` (camelCase), at any depth below."""

    def walk(selections: Any) -> bool:
        for selection in selections or []:
            if getattr(selection, "name", None) and selection.name.value == field:
                return True
            if walk(getattr(getattr(selection, "selection_set", None), "selections", None)):
                return True
        return False

    return any(
        walk(node.selection_set.selections) for node in info.field_nodes if node.selection_set
    )


class ModelQueries(graphene.ObjectType):
    all_models = graphene.List(
        graphene.NonNull(MLModelType),
        required=True,
        order_by=graphene.String(),
        first=graphene.Int(),
        offset=graphene.Int(),
        **FILTERS,
    )
    models_count = graphene.Int(required=True, **FILTERS)
    model = graphene.Field(
        MLModelType, id=graphene.ID(), name=graphene.String(), version=graphene.Int()
    )
    training_job = graphene.Field(TrainingJobType, id=graphene.ID(required=True))
    training_jobs = graphene.List(
        graphene.NonNull(TrainingJobType),
        required=True,
        status=graphene.String(),
        first=graphene.Int(),
        offset=graphene.Int(),
    )

    @staticmethod
    def resolve_all_models(
        root: Any,
        info: Any,
        order_by: str | None = None,
        first: int | None = None,
        offset: int | None = None,
        **filters: Any,
    ) -> list[MLModel]:
        require_authenticated(principal_of(info))
        rows = filtered_models(**filters).select_related("created_by").order_by(*ordering(order_by))
        if requested(info, "predictionCount"):
            rows = rows.annotate(prediction_total=Count("predictions"))
        if requested(info, "recentPredictions"):
            # Reached through the reverse relation: the registry does not import predictions.
            prediction_model: Any = MLModel._meta.get_field("predictions").related_model
            recent = prediction_model.objects.select_related("model", "user").order_by(
                "-created_at", "-id"
            )
            rows = rows.prefetch_related(
                Prefetch(
                    "predictions",
                    queryset=recent[:RECENT_PREDICTIONS_MAX],
                    to_attr="recent_predictions_prefetched",
                )
            )
        models = list(page(rows, first, offset))
        remember_names(info, {m.name for m in models})
        return models

    @staticmethod
    def resolve_models_count(root: Any, info: Any, **filters: Any) -> int:
        require_authenticated(principal_of(info))
        return filtered_models(**filters).count()

    @staticmethod
    def resolve_model(
        root: Any,
        info: Any,
        id: str | None = None,
        name: str | None = None,
        version: int | None = None,
    ) -> MLModel:
        require_authenticated(principal_of(info))
        if id is not None:
            model_id = as_db_id(str(id))
            if model_id is None:
                raise ModelNotFound(f"no model with id {id}")
            return resolve_model_ref(str(model_id))
        if name is None:
            raise InvalidInput("give the model's id, or its name (and optionally version)")
        return resolve_model_ref(f"{name}:{version}" if version is not None else name)

    @staticmethod
    def resolve_training_job(root: Any, info: Any, id: str) -> TrainingJob | None:
        job_id = as_db_id(str(id))
        jobs = visible_training_jobs(principal_of(info))
        return jobs.filter(pk=job_id).first() if job_id else None

    @staticmethod
    def resolve_training_jobs(
        root: Any,
        info: Any,
        status: str | None = None,
        first: int | None = None,
        offset: int | None = None,
    ) -> list[TrainingJob]:
        jobs = visible_training_jobs(principal_of(info))
        if status:
            jobs = jobs.filter(status=status)
        return list(page(jobs, first, offset))
