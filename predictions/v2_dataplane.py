"""The Open Inference Protocol's operations over our registry and core (MLServer's DataPlane).

V2 REST and V2 gRPC both call these functions and only translate wire formats and errors, so the
two protocols cannot drift apart. Inference goes through `service.predict` like every protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlplatform.auth import Principal, require_authenticated, require_staff
from mlplatform.errors import InvalidInput, ModelNotFound
from mlplatform.ids import is_digits
from models_app.models import MLModel, ModelStatus
from models_app.registry import get_runtime, unload_runtimes
from models_app.selectors import resolve_model_ref, resolve_ready_model
from predictions import service
from predictions.schemas import PredictionResult, PredictRequest
from predictions.v2_codec import Tensor, TensorPayload, model_io_metadata, output_tensors

SERVER_NAME = "mlplatform"
SERVER_VERSION = "0.1.0"
EXTENSIONS = (
    "binary_tensor_data",
    "model_repository",
    "model_repository(unload_dependents)",
    "schedule_policy",
)


@dataclass(frozen=True, slots=True)
class InferOutcome:
    model_name: str
    model_version: str
    outputs: list[Tensor]
    result: PredictionResult


def model_ref(name: str, version: str = "") -> str:
    """V2 names a model and optionally a version; ours is `name` or `name:version`."""
    if not name:
        raise InvalidInput("model name is required")
    if ":" in name:
        raise ModelNotFound(f"unknown model '{name}'")
    if version:
        if not is_digits(version):
            raise ModelNotFound(f"unknown model '{name}' version '{version}'")
        return f"{name}:{version}"
    return name


def server_metadata() -> dict[str, Any]:
    return {"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": list(EXTENSIONS)}


def model_metadata(name: str, version: str, principal: Principal | None) -> dict[str, Any]:
    require_authenticated(principal)
    model = resolve_model_ref(model_ref(name, version))
    versions = MLModel.objects.filter(name=model.name, status=ModelStatus.READY)
    io = model_io_metadata(
        task=model.task, feature_names=model.feature_names, labels=model.labels or []
    )
    return {
        "name": model.name,
        "versions": [
            str(v) for v in versions.order_by("version").values_list("version", flat=True)
        ],
        "platform": f"mlplatform_{model.framework}",
        **io,
        "parameters": {
            "version": str(model.version),
            "task": model.task,
            "feature_names": list(model.feature_names or []),
            "labels": list(model.labels or []),
        },
    }


def model_ready(name: str, version: str, principal: Principal | None) -> bool:
    """Ready means the version resolves and can serve; unknown models raise ModelNotFound."""
    require_authenticated(principal)
    model = resolve_model_ref(model_ref(name, version))
    return bool(model.status == ModelStatus.READY)


def infer(
    *,
    name: str,
    version: str,
    inputs: TensorPayload,
    requested_outputs: Sequence[str],
    principal: Principal | None,
    protocol: str,
    request_id: str,
    model: MLModel | None = None,
) -> InferOutcome:
    """`model`: the version the event loop resolved for an inline call (else resolved here)."""
    result = service.predict(
        PredictRequest(
            model_ref=model_ref(name, version),
            payload=inputs,
            protocol=protocol,
            principal=principal,
            request_id=request_id,
        ),
        model=model,
    )
    outputs = output_tensors(
        result, task=result.task, labels=result.labels, requested=requested_outputs
    )
    model_name, _, model_version = result.model_ref.partition(":")
    return InferOutcome(model_name, model_version, outputs, result)


def repository_index(principal: Principal | None, *, ready_only: bool) -> list[dict[str, Any]]:
    """Every model version as Triton lists them: name, version, state, reason."""
    require_authenticated(principal)
    rows = MLModel.objects.order_by("name", "version")
    if ready_only:
        rows = rows.filter(status=ModelStatus.READY)
    return [
        {
            "name": model.name,
            "version": str(model.version),
            "state": "READY" if model.status == ModelStatus.READY else "UNAVAILABLE",
            "reason": "" if model.status == ModelStatus.READY else str(model.status),
        }
        for model in rows
    ]


def load_model(name: str, principal: Principal | None) -> None:
    """Load the serving version's runtime into this process now (staff); ready afterwards."""
    require_staff(principal)
    get_runtime(resolve_ready_model(model_ref(name)))


def unload_model(name: str, principal: Principal | None) -> None:
    """Free this process's loaded runtimes of every version of `name` (staff).

    The registry keeps the versions: the next request loads the runtime again. Taking a version
    out of service is archiving it (REST DELETE, GraphQL archiveModel).
    """
    require_staff(principal)
    ids = set(MLModel.objects.filter(name=name).values_list("pk", flat=True))
    if not ids:
        raise ModelNotFound(f"unknown model '{name}'")
    unload_runtimes(ids)
