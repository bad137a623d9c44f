"""V2 REST (Open Inference Protocol, Triton's wire format) as a lean ASGI handler under /v2/.

JSON and the binary tensor data extension (`binary_data_size`, `Inference-Header-Content-Length`),
which tritonclient.http uses by default. Errors are `{"error": "<message>"}` with Triton's status
mapping. The operations themselves live in predictions.v2_dataplane, shared with V2 gRPC.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import orjson

from mlplatform.asgi_io import Receive, Scope, Send, headers_of, read_body, respond, respond_json
from mlplatform.auth import Principal, principal_from_authorization
from mlplatform.errors import ErrorCode, InternalError, InvalidInput, PlatformError
from mlplatform.ids import new_request_id
from models_app.models import MLModel
from predictions import v2_dataplane as dataplane
from predictions.executor import PredictionExecutor
from predictions.models import Protocol
from predictions.parsing import claimed_tensor_instances, parse_json_object
from predictions.v2_codec import (
    Tensor,
    TensorPayload,
    tensor_from_json,
    tensor_from_raw,
    tensor_json_data,
    tensor_raw,
)

logger = logging.getLogger(__name__)

V2_PREFIX = "/v2"
HEADER_LENGTH = "inference-header-content-length"
_MODEL = r"/v2/models/(?P<name>[^/]+)(?:/versions/(?P<version>[^/]+))?"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("GET", re.compile(r"^/v2/health/live/?$"), "live"),
    ("GET", re.compile(r"^/v2/health/ready/?$"), "ready"),
    ("GET", re.compile(r"^/v2/?$"), "server_metadata"),
    ("GET", re.compile(rf"^{_MODEL}/?$"), "model_metadata"),
    ("GET", re.compile(rf"^{_MODEL}/ready/?$"), "model_ready"),
    ("POST", re.compile(rf"^{_MODEL}/infer/?$"), "infer"),
    ("POST", re.compile(r"^/v2/repository/index/?$"), "repository_index"),
    ("POST", re.compile(r"^/v2/repository/models/(?P<name>[^/]+)/load/?$"), "load"),
    ("POST", re.compile(r"^/v2/repository/models/(?P<name>[^/]+)/unload/?$"), "unload"),
]
# Triton's mapping: unknown model 404, not ready 503, everything else about the request 400.
V2_HTTP_STATUS: dict[str, int] = {
    ErrorCode.MODEL_NOT_FOUND: 404,
    ErrorCode.MODEL_NOT_READY: 503,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}


class V2RestHandler:
    def __init__(self, *, max_body_bytes: int, executor: PredictionExecutor) -> None:
        self.max_body_bytes = max_body_bytes
        self.executor = executor

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        headers = headers_of(scope)
        try:
            route = _route(method, path)
            if route is None:
                raise _NotFound(f"no route for {method} {path}")
            name, params = route
            if name == "live":
                await respond_json(send, 200, {"live": True})
                return
            if name == "ready":
                await respond_json(send, 200, {"ready": True})
                return
            if name == "server_metadata":
                await respond_json(send, 200, dataplane.server_metadata())
                return
            body = await read_body(receive, self.max_body_bytes) if method == "POST" else b""
            principal = principal_from_authorization(headers.get("authorization"))
            if name == "infer":
                request, binary = _infer_body(body, headers)
                status, payload, extra = await self.executor.run_for_model(
                    _infer_ref(params),
                    _claimed_instances(request),
                    _infer,
                    params,
                    request,
                    binary,
                    principal,
                )
            else:
                status, payload, extra = await self.executor.run(
                    _OPERATIONS[name], params, body, headers, principal
                )
            await respond(send, status, payload, **extra)
        except _NotFound as exc:
            await respond_json(send, 404, {"error": str(exc)})
        except PlatformError as exc:
            await respond_json(send, V2_HTTP_STATUS.get(exc.code, 400), {"error": exc.message})
        except Exception:
            logger.exception("unhandled error on %s %s", method, path)
            await respond_json(send, 500, {"error": InternalError("internal error").message})


class _NotFound(Exception):
    pass


def _route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for verb, pattern, name in ROUTES:
        match = pattern.match(path)
        if match:
            if verb != method:
                raise InvalidInput(f"use {verb} for {path}")
            return name, {k: v or "" for k, v in match.groupdict().items()}
    return None


Outcome = tuple[int, bytes, dict[str, Any]]


def _json(body: Any) -> Outcome:
    return 200, orjson.dumps(body), {}


def _model_metadata(
    params: dict[str, str], body: bytes, headers: dict[str, str], principal: Principal | None
) -> Outcome:
    return _json(dataplane.model_metadata(params["name"], params["version"], principal))


def _model_ready(
    params: dict[str, str], body: bytes, headers: dict[str, str], principal: Principal | None
) -> Outcome:
    ready = dataplane.model_ready(params["name"], params["version"], principal)
    if not ready:  # Triton answers 400 for a model that exists but is not ready
        return 400, orjson.dumps({"error": f"model '{params['name']}' is not ready"}), {}
    return _json({"name": params["name"], "ready": True})


def _repository_index(
    params: dict[str, str], body: bytes, headers: dict[str, str], principal: Principal | None
) -> Outcome:
    request = parse_json_object(body, what="request") if body.strip() else {}
    return _json(dataplane.repository_index(principal, ready_only=bool(request.get("ready"))))


def _load(
    params: dict[str, str], body: bytes, headers: dict[str, str], principal: Principal | None
) -> Outcome:
    dataplane.load_model(params["name"], principal)
    return _json({})


def _unload(
    params: dict[str, str], body: bytes, headers: dict[str, str], principal: Principal | None
) -> Outcome:
    dataplane.unload_model(params["name"], principal)
    return _json({})


def _infer_ref(params: dict[str, str]) -> str | None:
    """Our reference for the route's model, or None when it names none (the operation itself
    then reports that, after the body's own errors, as before)."""
    try:
        return dataplane.model_ref(params["name"], params["version"])
    except PlatformError:
        return None


def _infer_body(body: bytes, headers: dict[str, str]) -> tuple[dict[str, Any], bytes]:
    """The request's JSON part, parsed, and its binary tensor data (binary extension)."""
    json_part, binary = _split(body, headers.get(HEADER_LENGTH))
    return parse_json_object(json_part, what="request"), binary


def _claimed_instances(request: dict[str, Any]) -> int | None:
    """How many instances the request's tensor shapes claim (None: they do not say)."""
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
        return None
    return claimed_tensor_instances([item.get("shape") for item in inputs])


def _infer(
    params: dict[str, str],
    request: dict[str, Any],
    binary: bytes,
    principal: Principal | None,
    *,
    model: MLModel | None = None,
) -> Outcome:
    inputs = _inputs(request.get("inputs"), binary)
    requested, binary_outputs = _requested_outputs(request)
    request_id = request.get("id")
    outcome = dataplane.infer(
        name=params["name"],
        version=params["version"],
        inputs=TensorPayload(inputs, _parameters(request.get("parameters"))),
        requested_outputs=requested,
        principal=principal,
        protocol=Protocol.V2_REST,
        request_id=str(request_id) if request_id else new_request_id(),
        model=model,
    )
    response: dict[str, Any] = {
        "model_name": outcome.model_name,
        "model_version": outcome.model_version,
        "outputs": [],
    }
    if request_id is not None:
        response["id"] = request_id
    chunks: list[bytes] = []
    for tensor in outcome.outputs:
        entry: dict[str, Any] = {
            "name": tensor.name,
            "datatype": tensor.datatype,
            "shape": list(tensor.shape),
        }
        if binary_outputs(tensor.name):
            raw = tensor_raw(tensor)
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = tensor_json_data(tensor)
        response["outputs"].append(entry)
    header = orjson.dumps(response)
    if not chunks:
        return 200, header, {}
    extra = {
        "content_type": b"application/octet-stream",
        "headers": [(b"inference-header-content-length", str(len(header)).encode())],
    }
    return 200, header + b"".join(chunks), extra


_OPERATIONS: dict[str, Callable[..., Outcome]] = {
    "model_metadata": _model_metadata,
    "model_ready": _model_ready,
    "repository_index": _repository_index,
    "load": _load,
    "unload": _unload,
}


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        raise InvalidInput("Inference-Header-Content-Length must be an integer") from None
    if not 0 <= length <= len(body):
        raise InvalidInput("Inference-Header-Content-Length is larger than the body")
    return body[:length], body[length:]


def _parameters(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("parameters must be an object")
    return value


def _inputs(value: Any, binary: bytes) -> list[Tensor]:
    if not isinstance(value, list) or not value:
        raise InvalidInput("'inputs' must be a non-empty list")
    tensors: list[Tensor] = []
    offset = 0
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise InvalidInput(f"inputs[{i}] must be an object")
        name = str(item.get("name", f"input-{i}"))
        datatype = item.get("datatype")
        shape = item.get("shape")
        if not isinstance(datatype, str) or shape is None:
            raise InvalidInput(f"input '{name}' needs 'datatype' and 'shape'")
        size = _parameters(item.get("parameters")).get("binary_data_size")
        if size is not None:
            if not isinstance(size, int) or size < 0 or offset + size > len(binary):
                raise InvalidInput(f"input '{name}': binary_data_size does not fit the body")
            tensors.append(tensor_from_raw(name, datatype, shape, binary[offset : offset + size]))
            offset += size
        elif "data" in item:
            tensors.append(tensor_from_json(name, datatype, shape, item["data"]))
        else:
            raise InvalidInput(f"input '{name}' has neither 'data' nor 'binary_data_size'")
    if offset != len(binary):
        raise InvalidInput(f"{len(binary) - offset} unclaimed byte(s) after the tensors")
    return tensors


def _requested_outputs(request: dict[str, Any]) -> tuple[list[str], Callable[[str], bool]]:
    """Names asked for, and which outputs go binary (per output, else the request default)."""
    default_binary = bool(_parameters(request.get("parameters")).get("binary_data_output", False))
    outputs = request.get("outputs") or []
    if not isinstance(outputs, list):
        raise InvalidInput("'outputs' must be a list")
    names: list[str] = []
    binary: dict[str, bool] = {}
    for i, item in enumerate(outputs):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInput(f"outputs[{i}] must be an object with a 'name'")
        names.append(item["name"])
        flag = _parameters(item.get("parameters")).get("binary_data")
        binary[item["name"]] = default_binary if flag is None else bool(flag)
    return names, lambda name: binary.get(name, default_binary)
