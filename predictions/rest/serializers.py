"""REST shapes of recorded predictions."""

from __future__ import annotations

from rest_framework import serializers

from predictions.models import Prediction


class PredictionSerializer(serializers.ModelSerializer[Prediction]):
    model = serializers.CharField(source="model.ref", read_only=True)
    model_id = serializers.IntegerField(read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Prediction
        fields = (
            "id",
            "model",
            "model_id",
            "user",
            "protocol",
            "inputs",
            "outputs",
            "cached",
            "latency_ms",
            "request_id",
            "created_at",
        )
        read_only_fields = fields
