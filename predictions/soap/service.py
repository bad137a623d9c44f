"""The SOAP service (Spyne): each operation builds a PredictRequest for the inference core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from spyne import Array, ByteArray, Double, Iterable, ServiceBase, Unicode, rpc

from mlplatform.auth import Principal, principal_from_authorization, require_authenticated
from mlplatform.errors import InvalidInput, PlatformError
from mlplatform.ids import new_request_id
from models_app.models import MLModel
from predictions import service as core
from predictions.models import Protocol
from predictions.schemas import PredictRequest
from predictions.soap.converters import to_fault, to_model_info, to_soap_results
from predictions.soap.types import DoubleRow, ModelInfo, PredictionResult

T = TypeVar("T")
ModelRef = Unicode(min_occurs=1, nillable=False)


def _principal(ctx: Any) -> Principal | None:
    return principal_from_authorization(ctx.transport.req.META.get("HTTP_AUTHORIZATION"))


def _request_id(ctx: Any) -> str:
    return str(ctx.transport.req.META.get("HTTP_X_REQUEST_ID") or new_request_id())


def _guarded(action: Callable[[], T]) -> T:
    try:
        return action()
    except PlatformError as error:
        raise to_fault(error) from error


def _predict(ctx: Any, model: str, payload: dict[str, Any]) -> list[PredictionResult]:
    def run() -> list[PredictionResult]:
        result = core.predict(
            PredictRequest(
                model_ref=model,
                payload=payload,
                protocol=Protocol.SOAP,
                principal=_principal(ctx),
                request_id=_request_id(ctx),
            )
        )
        return to_soap_results(result)

    return _guarded(run)


class PredictionService(ServiceBase):
    @rpc(ModelRef, Array(Double), _returns=PredictionResult)
    def Predict(ctx: Any, model: str, features: list[float] | None) -> PredictionResult:
        """One row of features, in the model's feature order."""
        return _predict(ctx, model, {"X": [list(features or [])]})[0]

    @rpc(ModelRef, Array(DoubleRow), _returns=Array(PredictionResult))
    def PredictBatch(ctx: Any, model: str, rows: list[DoubleRow] | None) -> list[PredictionResult]:
        """Several rows; one result per row."""
        values = [list(row.values or []) if row is not None else [] for row in rows or []]
        return _predict(ctx, model, {"X": values})

    @rpc(ModelRef, Unicode, _returns=PredictionResult)
    def AnalyzeSentiment(ctx: Any, model: str, text: str | None) -> PredictionResult:
        if text is None:
            raise to_fault(InvalidInput("text is required"))
        return _predict(ctx, model, {"text": text})[0]

    @rpc(ModelRef, ByteArray, _returns=PredictionResult)
    def ClassifyImage(ctx: Any, model: str, image: list[bytes] | None) -> PredictionResult:
        data = b"".join(image or [])
        return _predict(ctx, model, {"image": data})[0]

    @rpc(_returns=Iterable(ModelInfo))
    def ListModels(ctx: Any) -> list[ModelInfo]:
        def run() -> list[ModelInfo]:
            require_authenticated(_principal(ctx))
            return [to_model_info(m) for m in MLModel.objects.order_by("name", "-version")]

        return _guarded(run)
