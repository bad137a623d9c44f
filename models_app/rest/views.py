"""REST views of the registry: each action hands its request to a service and returns the result."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, parsers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from mlplatform.auth import principal_for_user
from mlplatform.drf_lookup import SafeIdLookupMixin
from mlplatform.errors import InvalidInput
from models_app.datasets import csv_training_data
from models_app.models import MLModel, TrainingJob
from models_app.rest.filters import MLModelFilter
from models_app.rest.serializers import (
    MLModelSerializer,
    ModelPatchSerializer,
    ModelUploadSerializer,
    TrainingJobCreateSerializer,
    TrainingJobSerializer,
)
from models_app.selectors import resolve_model_ref, visible_training_jobs
from models_app.services import (
    archive_model,
    register_uploaded_model,
    start_training_job,
    update_model,
)


class MLModelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[MLModel]):
    """Model versions; `{ref}` is `name` (production, else newest ready), `name:version` or id."""

    queryset = MLModel.objects.select_related("created_by").order_by("name", "-version")
    serializer_class = MLModelSerializer
    filterset_class = MLModelFilter
    lookup_field = "ref"
    lookup_value_regex = r"[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    parser_classes = [parsers.JSONParser, parsers.MultiPartParser, parsers.FormParser]

    def get_object(self) -> MLModel:
        return resolve_model_ref(self.kwargs["ref"])

    def retrieve(self, request: Request, ref: str) -> Response:
        return Response(MLModelSerializer(self.get_object()).data)

    @extend_schema(request=ModelUploadSerializer, responses={201: MLModelSerializer})
    def create(self, request: Request) -> Response:
        """Upload a `.skops` or `.onnx` artifact (staff); it is validated before it is stored."""
        form = ModelUploadSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        artifact = form.validated_data["artifact"]
        model = register_uploaded_model(
            name=form.validated_data["name"],
            task=form.validated_data["task"],
            filename=artifact.name,
            data=artifact.read(),
            feature_names=form.validated_data["feature_names"],
            labels=form.validated_data["labels"],
            description=form.validated_data["description"],
            actor=principal_for_user(request.user),
        )
        return Response(MLModelSerializer(model).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ModelPatchSerializer, responses={200: MLModelSerializer})
    def partial_update(self, request: Request, ref: str) -> Response:
        """Change the stage (production demotes the previous one) or the description (staff)."""
        patch = ModelPatchSerializer(data=request.data)
        patch.is_valid(raise_exception=True)
        model = update_model(
            model=self.get_object(),
            actor=principal_for_user(request.user),
            description=patch.validated_data.get("description"),
            stage=patch.validated_data.get("stage"),
        )
        return Response(MLModelSerializer(model).data)

    @extend_schema(responses={200: MLModelSerializer})
    def destroy(self, request: Request, ref: str) -> Response:
        """Archive the version (staff): it stops serving; its record and predictions stay."""
        model = archive_model(model=self.get_object(), actor=principal_for_user(request.user))
        return Response(MLModelSerializer(model).data)


class TrainingJobViewSet(
    SafeIdLookupMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[TrainingJob],
):
    """Asynchronous training runs (staff): create one, then follow its status and progress."""

    queryset = TrainingJob.objects.select_related("model").order_by("-created_at")
    serializer_class = TrainingJobSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return TrainingJob.objects.none()
        return visible_training_jobs(principal_for_user(self.request.user))

    @extend_schema(request=TrainingJobCreateSerializer, responses={202: TrainingJobSerializer})
    def create(self, request: Request) -> Response:
        form = TrainingJobCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        values = form.validated_data
        data, feature_names = values.get("data"), values.get("feature_names")
        if values.get("csv") is not None:
            if not values.get("target"):
                raise InvalidInput("a CSV upload needs 'target', the column to predict")
            data, feature_names = csv_training_data(values["csv"].read(), target=values["target"])
        with transaction.atomic():
            job = start_training_job(
                name=values["name"],
                algorithm=values["algorithm"],
                dataset=values.get("dataset") or None,
                data=data,
                params=values["params"],
                task=values.get("task"),
                feature_names=feature_names,
                auto_promote=values["auto_promote"],
                actor=principal_for_user(request.user),
            )
        return Response(TrainingJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
