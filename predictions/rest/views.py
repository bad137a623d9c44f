"""REST list of recorded predictions (the predict route itself is the lean path in fastpath.py)."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, viewsets

from mlplatform.auth import principal_for_user
from mlplatform.drf_lookup import SafeIdLookupMixin
from predictions.models import Prediction
from predictions.rest.filters import PredictionFilter
from predictions.rest.serializers import PredictionSerializer
from predictions.selectors import visible_predictions


class PredictionViewSet(
    SafeIdLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Prediction],
):
    """Every prediction made on any protocol: users see their own, staff see all."""

    serializer_class = PredictionSerializer
    filterset_class = PredictionFilter
    queryset = Prediction.objects.none()

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Prediction.objects.none()
        return visible_predictions(principal_for_user(self.request.user))
