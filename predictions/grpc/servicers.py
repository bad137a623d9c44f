"""`mlplatform.v1.PredictionService`: Predict, PredictStream and ListModels over the core."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import grpc

from mlplatform.db_errors import DATABASE_OUTAGE, database_unavailable
from mlplatform.errors import InternalError, PlatformError
from mlplatform.ids import new_request_id
from models_app.selectors import list_models
from predictions import service
from predictions.grpc.auth import current_principal
from predictions.grpc.converters import model_info, payload_of, response_of
from predictions.grpc.errors import status_for
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2_grpc as pb_grpc
from predictions.models import Protocol
from predictions.schemas import PredictRequest

logger = logging.getLogger(__name__)


class PredictionServicer(pb_grpc.PredictionServiceServicer):
    def Predict(
        self, request: pb.PredictRequest, context: grpc.ServicerContext
    ) -> pb.PredictResponse:
        try:
            return _predict(request)
        except PlatformError as error:
            context.abort(status_for(error.code), error.message)
            raise

    def PredictStream(
        self, requests: Iterator[pb.PredictRequest], context: grpc.ServicerContext
    ) -> Iterator[pb.PredictResponse]:
        for request in requests:  # in order: one stream is one conversation
            try:
                yield _predict(request)
            except PlatformError as error:
                yield pb.PredictResponse(
                    model=request.model,
                    id=request.id,
                    error=pb.Error(code=str(error.code), message=error.message),
                )

    def ListModels(
        self, request: pb.ListModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListModelsResponse:
        try:
            try:
                rows = list_models(
                    current_principal.get(),
                    name=request.name,
                    task=request.task,
                    stage=request.stage,
                )
                return pb.ListModelsResponse(models=[model_info(m) for m in rows])
            except DATABASE_OUTAGE as exc:
                raise database_unavailable() from exc
        except PlatformError as error:
            context.abort(status_for(error.code), error.message)
            raise


def _predict(request: pb.PredictRequest) -> pb.PredictResponse:
    try:
        result = service.predict(
            PredictRequest(
                model_ref=request.model,
                payload=payload_of(request),
                protocol=Protocol.GRPC,
                principal=current_principal.get(),
                request_id=request.id or new_request_id(),
            )
        )
    except PlatformError:
        raise
    except Exception as exc:
        logger.exception("unexpected error on gRPC Predict for %s", request.model)
        raise InternalError("internal error") from exc
    return response_of(result, request.id)
