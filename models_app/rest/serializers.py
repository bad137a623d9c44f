"""REST shapes of the registry: model versions, uploads, patches and training jobs."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from rest_framework import serializers

from models_app.models import UPLOAD_TASK_CHOICES, MLModel, Stage, TrainingJob


class MLModelSerializer(serializers.ModelSerializer[MLModel]):
    ref = serializers.CharField(read_only=True, help_text="`name:version`, usable as `{ref}`.")
    serving_runtime = serializers.CharField(read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = MLModel
        fields = (
            "id",
            "name",
            "version",
            "ref",
            "task",
            "framework",
            "serving_runtime",
            "status",
            "stage",
            "description",
            "feature_names",
            "labels",
            "metrics",
            "created_at",
            "created_by",
        )
        read_only_fields = fields


class JSONListField(serializers.ListField):
    """A list of strings sent as a JSON string (multipart forms) or a real list (JSON bodies)."""

    child = serializers.CharField(max_length=200)

    def get_value(self, dictionary: Any) -> Any:
        if self.field_name not in dictionary:
            return serializers.empty
        if hasattr(dictionary, "getlist"):  # a multipart form: one field holding JSON text
            values = dictionary.getlist(self.field_name)
            return values[0] if len(values) == 1 else values
        return dictionary[self.field_name]

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                raise serializers.ValidationError('must be a JSON list, e.g. ["a", "b"]') from None
        return list(super().to_internal_value(data))


class JSONObjectField(serializers.DictField):
    """An object sent as JSON text (multipart forms) or a real object (JSON bodies)."""

    def get_value(self, dictionary: Any) -> Any:
        if self.field_name not in dictionary:
            return serializers.empty
        if hasattr(dictionary, "getlist"):
            return dictionary.get(self.field_name)
        return dictionary[self.field_name]

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except json.JSONDecodeError:
                raise serializers.ValidationError(
                    'must be a JSON object, e.g. {"C": 1.0}'
                ) from None
        return dict(super().to_internal_value(data))


class ModelUploadSerializer(serializers.Serializer[Any]):
    artifact = serializers.FileField(help_text="A `.skops` (scikit-learn) or `.onnx` file.")
    name = serializers.SlugField(max_length=100)
    task = serializers.ChoiceField(choices=UPLOAD_TASK_CHOICES)
    feature_names = JSONListField(help_text="Feature names in input order, as a JSON list.")
    labels = JSONListField(required=False, default=list, help_text="Class labels (classifiers).")
    description = serializers.CharField(required=False, default="", allow_blank=True)

    def validate_artifact(self, value: Any) -> Any:
        """Refuse oversized files before anything reads them (MLP_MAX_UPLOAD_BYTES)."""
        limit = settings.MLP_MAX_UPLOAD_BYTES
        if value.size > limit:
            raise serializers.ValidationError(
                f"the artifact is {value.size} bytes; uploads are limited to {limit} bytes"
            )
        return value


class ModelPatchSerializer(serializers.Serializer[Any]):
    stage = serializers.ChoiceField(choices=Stage.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)


class JobModelSerializer(serializers.ModelSerializer[MLModel]):
    class Meta:
        model = MLModel
        fields = ("id", "name", "version")
        read_only_fields = fields


class TrainingJobSerializer(serializers.ModelSerializer[TrainingJob]):
    model = JobModelSerializer(read_only=True, allow_null=True)

    class Meta:
        model = TrainingJob
        fields = (
            "id",
            "name",
            "algorithm",
            "dataset",
            "task",
            "params",
            "auto_promote",
            "status",
            "progress",
            "message",
            "metrics",
            "error",
            "attempts",
            "model",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


class TrainingJobCreateSerializer(serializers.Serializer[Any]):
    name = serializers.SlugField(max_length=100, help_text="Model name; a new version is added.")
    algorithm = serializers.CharField(max_length=64)
    dataset = serializers.CharField(max_length=64, required=False, allow_blank=True)
    data = serializers.JSONField(
        required=False, help_text='Inline data: {"X": [[...]], "y": [...]}'
    )
    params = JSONObjectField(required=False, default=dict)
    task = serializers.ChoiceField(choices=UPLOAD_TASK_CHOICES, required=False)
    feature_names = serializers.ListField(child=serializers.CharField(), required=False)
    csv = serializers.FileField(
        required=False, help_text="Training data as CSV with a header row (multipart)."
    )
    target = serializers.CharField(
        required=False, help_text="The CSV column to predict; the others are features."
    )
    auto_promote = serializers.BooleanField(
        required=False, default=False, help_text="Promote if it beats production's key metric."
    )
