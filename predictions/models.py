"""Prediction: one recorded inference request, from any protocol."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from models_app.models import MLModel


class Protocol(models.TextChoices):
    REST = "rest"
    V2_REST = "v2-rest"
    GRAPHQL = "graphql"
    SOAP = "soap"
    WEBSOCKET = "websocket"
    GRPC = "grpc"
    V2_GRPC = "v2-grpc"
    MQTT = "mqtt"


class Prediction(models.Model):
    """What was asked of which model version by whom, what came back, and how fast."""

    model = models.ForeignKey(MLModel, on_delete=models.PROTECT, related_name="predictions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="predictions",
    )
    protocol = models.CharField(max_length=16, choices=Protocol.choices, db_index=True)
    inputs = models.JSONField()
    outputs = models.JSONField()
    cached = models.BooleanField(default=False)
    latency_ms = models.FloatField()
    request_id = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["model", "-created_at"])]

    def __str__(self) -> str:
        return f"prediction {self.pk} on {self.model_id} via {self.protocol}"
