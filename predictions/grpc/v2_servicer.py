"""`inference.GRPCInferenceService` (KServe V2, Triton's wire format) over predictions.v2_dataplane.

Tensors arrive in `raw_input_contents` (tritonclient's default) or typed `contents`; outputs
leave in `raw_output_contents`, as Triton sends them. Errors use Triton's status mapping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc
import numpy as np

from mlplatform.errors import InternalError, InvalidInput, PlatformError
from mlplatform.ids import new_request_id
from predictions import v2_dataplane as dataplane
from predictions.grpc.auth import current_principal
from predictions.grpc.errors import status_for
from predictions.grpc.gen.inference import open_inference_pb2 as pb
from predictions.grpc.gen.inference import open_inference_pb2_grpc as pb_grpc
from predictions.models import Protocol
from predictions.v2_codec import (
    NUMPY_TYPES,
    Tensor,
    TensorPayload,
    checked,
    tensor_from_raw,
    tensor_raw,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
_CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def ServerLive(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=True)

    def ServerMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerMetadataResponse(**dataplane.server_metadata())

    def ModelReady(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _call(
            context,
            lambda: pb.ModelReadyResponse(
                ready=dataplane.model_ready(request.name, request.version, current_principal.get())
            ),
        )

    def ModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        def metadata() -> Any:
            meta = dataplane.model_metadata(request.name, request.version, current_principal.get())
            tensor = pb.ModelMetadataResponse.TensorMetadata
            return pb.ModelMetadataResponse(
                name=meta["name"],
                versions=meta["versions"],
                platform=meta["platform"],
                inputs=[tensor(**t) for t in meta["inputs"]],
                outputs=[tensor(**t) for t in meta["outputs"]],
            )

        return _call(context, metadata)

    def ModelInfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        return _call(context, lambda: _infer(request))

    def ModelStreamInfer(
        self, requests: Iterator[Any], context: grpc.ServicerContext
    ) -> Iterator[Any]:
        for request in requests:
            try:
                yield pb.ModelStreamInferResponse(infer_response=_infer(request))
            except PlatformError as error:
                yield pb.ModelStreamInferResponse(error_message=error.message)

    def RepositoryIndex(self, request: Any, context: grpc.ServicerContext) -> Any:
        def index() -> Any:
            rows = dataplane.repository_index(current_principal.get(), ready_only=request.ready)
            return pb.RepositoryIndexResponse(
                models=[pb.RepositoryIndexResponse.ModelIndex(**row) for row in rows]
            )

        return _call(context, index)

    def RepositoryModelLoad(self, request: Any, context: grpc.ServicerContext) -> Any:
        def load() -> Any:
            dataplane.load_model(request.model_name, current_principal.get())
            return pb.RepositoryModelLoadResponse()

        return _call(context, load)

    def RepositoryModelUnload(self, request: Any, context: grpc.ServicerContext) -> Any:
        def unload() -> Any:
            dataplane.unload_model(request.model_name, current_principal.get())
            return pb.RepositoryModelUnloadResponse()

        return _call(context, unload)


def _call(context: grpc.ServicerContext, operation: Callable[[], T]) -> T:
    try:
        return operation()
    except PlatformError as error:
        context.abort(status_for(error.code, v2=True), error.message)
        raise


def _infer(request: Any) -> Any:
    try:
        outcome = dataplane.infer(
            name=request.model_name,
            version=request.model_version,
            inputs=TensorPayload(_inputs(request), _parameters(request.parameters)),
            requested_outputs=[output.name for output in request.outputs],
            principal=current_principal.get(),
            protocol=Protocol.V2_GRPC,
            request_id=request.id or new_request_id(),
        )
    except PlatformError:
        raise
    except Exception as exc:
        logger.exception("unexpected error on V2 ModelInfer for %s", request.model_name)
        raise InternalError("internal error") from exc
    return pb.ModelInferResponse(
        model_name=outcome.model_name,
        model_version=outcome.model_version,
        id=request.id,
        outputs=[
            pb.ModelInferResponse.InferOutputTensor(
                name=t.name, datatype=t.datatype, shape=list(t.shape)
            )
            for t in outcome.outputs
        ],
        raw_output_contents=[tensor_raw(t) for t in outcome.outputs],
    )


def _inputs(request: Any) -> list[Tensor]:
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput("raw_input_contents must hold one entry per input")
    tensors = []
    for i, tensor in enumerate(request.inputs):
        shape = list(tensor.shape)
        if raw:
            tensors.append(tensor_from_raw(tensor.name, tensor.datatype, shape, raw[i]))
        else:
            tensors.append(_from_contents(tensor, shape))
    return tensors


def _from_contents(tensor: Any, shape: list[int]) -> Tensor:
    field = _CONTENTS_FIELD.get(tensor.datatype)
    if field is None:
        raise InvalidInput(f"input '{tensor.name}': datatype {tensor.datatype!r} is not supported")
    values = list(getattr(tensor.contents, field))
    if tensor.datatype == "BYTES":
        data: Any = values
    else:
        data = np.asarray(values, dtype=NUMPY_TYPES[tensor.datatype])
    return checked(Tensor(tensor.name, tensor.datatype, tuple(shape), data))


def _parameters(parameters: Any) -> dict[str, Any]:
    return {
        key: getattr(value, value.WhichOneof("parameter_choice"))
        for key, value in parameters.items()
        if value.WhichOneof("parameter_choice")
    }
