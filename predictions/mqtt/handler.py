"""One MQTT request -> the inference core -> one reply body. No paho here: bytes in, bytes out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from mlplatform.auth import Principal, principal_from_token
from mlplatform.errors import InternalError, InvalidInput, PlatformError, Unauthenticated
from mlplatform.ids import new_request_id
from predictions import service
from predictions.models import Protocol
from predictions.parsing import parse_json_object
from predictions.schemas import PredictRequest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MqttSettings:
    prefix: str
    default_model: str
    require_token: bool
    bridge_principal: Principal
    max_payload_bytes: int = 10 * 1024 * 1024  # MLP_MAX_BODY_BYTES, as for HTTP bodies


def answer(model: str, payload: bytes, settings: MqttSettings) -> bytes:
    """The reply to one request: the output envelope, or {"error": {...}}; never raises."""
    correlation: Any = None
    try:
        if len(payload) > settings.max_payload_bytes:  # refused before any parsing
            raise InvalidInput(
                f"payload of {len(payload)} bytes exceeds the limit of "
                f"{settings.max_payload_bytes} bytes"
            )
        body = parse_json_object(payload, what="payload")
        correlation = body.get("id")
        result = service.predict(
            PredictRequest(
                model_ref=model,
                payload=body,
                protocol=Protocol.MQTT,
                principal=_principal(body, settings),
                request_id=str(correlation) if correlation is not None else new_request_id(),
            )
        )
        return orjson.dumps(result.envelope())
    except PlatformError as error:
        return _error(error, correlation)
    except Exception:  # the bridge must outlive any single bad message
        logger.exception("unexpected error handling an MQTT request for %s", model)
        return _error(InternalError("internal error"), correlation)


def _principal(body: dict[str, Any], settings: MqttSettings) -> Principal:
    token = body.get("token")
    if token is not None:
        if not isinstance(token, str):
            raise Unauthenticated("token must be a string")
        return principal_from_token(token)
    if settings.require_token:
        raise Unauthenticated("this bridge requires a 'token' field (MQTT_REQUIRE_TOKEN)")
    return settings.bridge_principal


def _error(error: PlatformError, correlation: Any) -> bytes:
    body = error.as_dict()
    if correlation is not None:
        body["id"] = correlation
    return orjson.dumps(body)
