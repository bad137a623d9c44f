"""GraphQL type of a recorded prediction."""

from __future__ import annotations

from typing import Any

import graphene
from graphene_django import DjangoObjectType

from mlplatform.graphql_scalars import JSONString
from models_app.graphql.types import MLModelType
from predictions.models import Prediction


class PredictionType(DjangoObjectType):
    inputs = JSONString(required=True)
    output = JSONString(required=True, description="The output envelope, as on every protocol.")
    latency_ms = graphene.Float(required=True)
    model = graphene.Field(MLModelType, required=True)
    user = graphene.String(description="Username of the caller.")

    class Meta:
        model = Prediction
        name = "Prediction"
        convert_choices_to_enum = False
        fields = ("id", "protocol", "cached", "request_id", "created_at")

    @staticmethod
    def resolve_output(prediction: Prediction, info: Any) -> Any:
        return prediction.outputs

    @staticmethod
    def resolve_user(prediction: Prediction, info: Any) -> str | None:
        return prediction.user.get_username() if prediction.user else None
