"""Prediction queries: the predictions a caller may see, filtered and paged."""

from __future__ import annotations

from typing import Any

import graphene

from mlplatform.graphql_view import principal_of
from mlplatform.ids import as_db_id
from models_app.graphql.queries import page
from predictions.graphql.types import PredictionType
from predictions.models import Prediction
from predictions.selectors import visible_predictions


class PredictionQueries(graphene.ObjectType):
    predictions = graphene.List(
        graphene.NonNull(PredictionType),
        required=True,
        model_id=graphene.ID(),
        protocol=graphene.String(),
        cached=graphene.Boolean(),
        first=graphene.Int(),
        offset=graphene.Int(),
    )

    @staticmethod
    def resolve_predictions(
        root: Any,
        info: Any,
        model_id: str | None = None,
        protocol: str | None = None,
        cached: bool | None = None,
        first: int | None = None,
        offset: int | None = None,
    ) -> list[Prediction]:
        rows = visible_predictions(principal_of(info))
        if model_id is not None:
            number = as_db_id(str(model_id))
            rows = rows.filter(model_id=number) if number else rows.none()
        if protocol:
            rows = rows.filter(protocol=protocol)
        if cached is not None:
            rows = rows.filter(cached=cached)
        return list(page(rows, first, offset))
