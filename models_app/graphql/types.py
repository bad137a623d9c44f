"""GraphQL types of the registry: MLModel versions and training jobs."""

from __future__ import annotations

from typing import Any

import graphene
from graphene_django import DjangoObjectType

from mlplatform.graphql_scalars import JSONString
from models_app.graphql.loaders import versions_of
from models_app.models import MLModel, TrainingJob

RECENT_PREDICTIONS_MAX = 20
RECENT_PREDICTIONS_DEFAULT = 5


class MLModelType(DjangoObjectType):
    """One version of a named model."""

    ref = graphene.String(required=True, description="`name:version`")
    serving_runtime = graphene.String(required=True)
    feature_names = graphene.List(graphene.NonNull(graphene.String), required=True)
    labels = graphene.List(graphene.NonNull(graphene.String), required=True)
    metrics = JSONString(required=True)
    created_by = graphene.String(description="Username of the creator, if any.")
    versions = graphene.List(
        graphene.NonNull(lambda: MLModelType),
        required=True,
        description="Every version of this model's name, newest first.",
    )
    recent_predictions = graphene.List(
        graphene.NonNull("predictions.graphql.types.PredictionType"),
        required=True,
        first=graphene.Int(
            default_value=RECENT_PREDICTIONS_DEFAULT,
            description=f"At most {RECENT_PREDICTIONS_MAX}.",
        ),
    )
    prediction_count = graphene.Int(required=True)

    class Meta:
        model = MLModel
        name = "MLModel"
        convert_choices_to_enum = False
        fields = (
            "id",
            "name",
            "version",
            "task",
            "framework",
            "status",
            "stage",
            "description",
            "created_at",
        )

    @staticmethod
    def resolve_ref(model: MLModel, info: Any) -> str:
        return model.ref

    @staticmethod
    def resolve_serving_runtime(model: MLModel, info: Any) -> str:
        return model.serving_runtime

    @staticmethod
    def resolve_created_by(model: MLModel, info: Any) -> str | None:
        return model.created_by.get_username() if model.created_by else None

    @staticmethod
    def resolve_versions(model: MLModel, info: Any) -> list[MLModel]:
        return versions_of(info, model.name)

    @staticmethod
    def resolve_recent_predictions(model: MLModel, info: Any, first: int | None) -> list[Any]:
        if first is None:  # an explicit `first: null` replaces the default in GraphQL
            first = RECENT_PREDICTIONS_DEFAULT
        count = max(0, min(first, RECENT_PREDICTIONS_MAX))
        prefetched = getattr(model, "recent_predictions_prefetched", None)
        if prefetched is not None:
            return list(prefetched[:count])
        rows = model.predictions.select_related("model", "user").order_by("-created_at", "-id")
        return list(rows[:count])

    @staticmethod
    def resolve_prediction_count(model: MLModel, info: Any) -> int:
        annotated = getattr(model, "prediction_total", None)
        return annotated if annotated is not None else model.predictions.count()


class JobModelType(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    version = graphene.Int(required=True)


class TrainingJobType(DjangoObjectType):
    params = JSONString(required=True)
    metrics = JSONString(required=True)
    progress_log = JSONString(required=True)
    model = graphene.Field(MLModelType)

    class Meta:
        model = TrainingJob
        name = "TrainingJob"
        convert_choices_to_enum = False
        fields = (
            "id",
            "name",
            "algorithm",
            "dataset",
            "task",
            "auto_promote",
            "status",
            "progress",
            "message",
            "error",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        )
