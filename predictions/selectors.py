"""Reads of recorded predictions: who may see which."""

from __future__ import annotations

from django.db.models import QuerySet

from mlplatform.auth import Principal, require_authenticated
from predictions.models import Prediction


def visible_predictions(actor: Principal | None) -> QuerySet[Prediction]:
    """Staff see every prediction; users see their own."""
    principal = require_authenticated(actor)
    rows = Prediction.objects.select_related("model", "user").order_by("-created_at", "-id")
    return rows if principal.is_staff else rows.filter(user_id=principal.user_id)
