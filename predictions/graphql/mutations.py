"""createPrediction: the GraphQL adapter of the inference core."""

from __future__ import annotations

from typing import Any

import graphene

from mlplatform.errors import InvalidInput
from mlplatform.graphql_scalars import JSONString, json_argument
from mlplatform.graphql_view import principal_of
from mlplatform.ids import new_request_id
from predictions import service
from predictions.graphql.types import PredictionType
from predictions.models import Prediction, Protocol
from predictions.schemas import PredictRequest


class CreatePrediction(graphene.Mutation):
    """Predict with a model (by id or name) on any input form of the contract."""

    class Arguments:
        model_id = graphene.ID()
        model_name = graphene.String(description="`name` or `name:version`")
        input_data = JSONString(required=True)

    prediction = graphene.Field(PredictionType, required=True)

    @staticmethod
    def mutate(
        root: Any,
        info: Any,
        input_data: Any,
        model_id: str | None = None,
        model_name: str | None = None,
    ) -> CreatePrediction:
        if (model_id is None) == (model_name is None):
            raise InvalidInput("give exactly one of modelId or modelName")
        result = service.predict(
            PredictRequest(
                model_ref=str(model_id if model_id is not None else model_name),
                payload=json_argument(input_data, "inputData"),
                protocol=Protocol.GRAPHQL,
                principal=principal_of(info),
                request_id=info.context.headers.get("X-Request-ID") or new_request_id(),
                wait_for_record=True,  # the mutation returns the row: it must exist
            )
        )
        row: Prediction = result.record  # committed, its model attached: no query
        return CreatePrediction(prediction=row)


class PredictionMutations(graphene.ObjectType):
    create_prediction = CreatePrediction.Field()
