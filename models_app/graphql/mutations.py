"""Registry mutations: trainModel, promoteModel, archiveModel — each one service call."""

from __future__ import annotations

from typing import Any

import graphene
from django.db import transaction

from mlplatform.errors import ModelNotFound
from mlplatform.graphql_scalars import JSONString, json_argument
from mlplatform.graphql_view import principal_of
from mlplatform.ids import as_db_id
from models_app.graphql.types import MLModelType, TrainingJobType
from models_app.models import MLModel
from models_app.selectors import resolve_model_ref
from models_app.services import archive_model, promote_model, start_training_job


def model_by_id(id: str) -> MLModel:
    model_id = as_db_id(str(id))
    if model_id is None:
        raise ModelNotFound(f"no model with id {id}")
    return resolve_model_ref(str(model_id))


class TrainModel(graphene.Mutation):
    """Queue a training job (staff); follow it with `trainingJob(id)`."""

    class Arguments:
        name = graphene.String(required=True)
        algorithm = graphene.String(required=True)
        dataset = graphene.String()
        data = JSONString(description='Inline data: {"X": [[...]], "y": [...]}')
        params = JSONString()
        task = graphene.String()
        feature_names = graphene.List(graphene.NonNull(graphene.String))
        auto_promote = graphene.Boolean(default_value=False)

    job = graphene.Field(TrainingJobType, required=True)

    @staticmethod
    def mutate(root: Any, info: Any, name: str, algorithm: str, **options: Any) -> TrainModel:
        params = json_argument(options.get("params"), "params") or {}
        with transaction.atomic():
            job = start_training_job(
                name=name,
                algorithm=algorithm,
                dataset=options.get("dataset") or None,
                data=json_argument(options.get("data"), "data"),
                params=params,
                task=options.get("task"),
                feature_names=options.get("feature_names"),
                auto_promote=bool(options.get("auto_promote")),  # `autoPromote: null` is False
                actor=principal_of(info),
            )
        return TrainModel(job=job)


class PromoteModel(graphene.Mutation):
    """Move a version to a stage (staff); production demotes the previous production version."""

    class Arguments:
        id = graphene.ID(required=True)
        stage = graphene.String(required=True)

    model = graphene.Field(MLModelType, required=True)

    @staticmethod
    def mutate(root: Any, info: Any, id: str, stage: str) -> PromoteModel:
        model = promote_model(model=model_by_id(id), stage=stage, actor=principal_of(info))
        return PromoteModel(model=model)


class ArchiveModel(graphene.Mutation):
    """Archive a version (staff): it stops serving."""

    class Arguments:
        id = graphene.ID(required=True)

    model = graphene.Field(MLModelType, required=True)

    @staticmethod
    def mutate(root: Any, info: Any, id: str) -> ArchiveModel:
        return ArchiveModel(model=archive_model(model=model_by_id(id), actor=principal_of(info)))


class ModelMutations(graphene.ObjectType):
    train_model = TrainModel.Field()
    promote_model = PromoteModel.Field()
    archive_model = ArchiveModel.Field()
