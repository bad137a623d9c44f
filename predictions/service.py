"""The inference core: the only code that authorises, resolves, validates, caches, runs, records.

Every protocol adapter builds a PredictRequest, calls `predict`, and translates the result or the
PlatformError into its own idiom.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from django.conf import settings

from mlplatform.auth import require_authenticated
from mlplatform.db_errors import DATABASE_OUTAGE, database_unavailable
from mlplatform.errors import PlatformError
from mlplatform.logs import request_id_var
from mlplatform.metrics import (
    BATCH_SIZE,
    PREDICTION_ERRORS,
    PREDICTION_LATENCY,
    PREDICTIONS,
    labelled,
)
from models_app.models import MLModel
from models_app.registry import get_runtime, is_loaded
from models_app.selectors import cached_ready_model, resolve_ready_model
from predictions.batching import Batchers
from predictions.cache import prediction_cache
from predictions.costs import ModelCosts
from predictions.inference import run_runtime
from predictions.limits import Rate, RateLimiter, parse_overrides
from predictions.models import Prediction
from predictions.parsing import InputLimits, ModelSchema, batch_length, parse_input
from predictions.recording import recorder
from predictions.schemas import InferenceOutput, ModelInput, PredictionResult, PredictRequest

logger = logging.getLogger(__name__)


def predict(request: PredictRequest, *, model: MLModel | None = None) -> PredictionResult:
    """Answer one prediction request; raises PlatformError, and then nothing was recorded.

    `model`: the version `inline_model` resolved for this request, which then runs on the
    caller's event loop, past the dynamic batcher: predictions on a loop run one at a time, so
    there is nothing to batch with, and waiting there for a batch that a pool thread leads would
    stall the loop. Else None: it is resolved here."""
    token = request_id_var.set(request.request_id)  # every log line of this call carries it
    try:
        try:
            return _predict(request, model)
        except DATABASE_OUTAGE as error:
            raise database_unavailable() from error
    except PlatformError as error:
        PREDICTION_ERRORS.labels(str(error.code), request.protocol).inc()
        raise
    finally:
        request_id_var.reset(token)


def inline_model(
    model_ref: str, *, instances: int | None, wait_for_record: bool = False
) -> MLModel | None:
    """The model `model_ref` names when a prediction of `instances` with it blocks on nothing
    but a Redis round trip, so an event loop may run `predict` itself instead of handing it to a
    thread (the hand-over cost a REST prediction a fifth of its CPU at c=1, README): the
    reference resolved and the runtime loaded in this process, the model measured cheaper than
    MLP_INLINE_MAX_MS for this many instances (on the loop predictions run one at a time, so
    dynamic batching is left to dearer ones), and the row queued for the writer rather than
    awaited. `instances`: what the body claims (`parsing.claimed_instances`); None, unknown.
    None: use a thread."""
    limit_ms = settings.MLP_INLINE_MAX_MS
    if limit_ms <= 0 or instances is None or wait_for_record or not recorder().queues():
        return None
    model = cached_ready_model(model_ref)
    if model is None or not is_loaded(model):
        return None
    seconds = model_costs().seconds(_cache_identity(model), instances)
    if seconds is None or seconds * 1000.0 > limit_ms:
        return None
    return model


def _predict(request: PredictRequest, on_loop: MLModel | None) -> PredictionResult:
    started = time.perf_counter()
    model = on_loop
    principal = require_authenticated(request.principal)
    rate_limiter().check(principal.user_id, request.protocol)
    if model is None:
        model = resolve_ready_model(request.model_ref)
    model_input = parse_input(request.payload, schema_of(model), limits=input_limits())
    output, cached = _infer(model, model_input, batched=on_loop is None)
    latency_ms = (time.perf_counter() - started) * 1000.0
    result = PredictionResult(
        model_ref=model.ref,
        output=output,
        single=model_input.single,
        cached=cached,
        latency_ms=latency_ms,
        correlation_id=request.payload.get("id") if isinstance(request.payload, Mapping) else None,
        task=model.task,
        labels=list(model.labels or []),
    )
    row = Prediction.answered(
        model=model,
        user_id=principal.user_id,
        protocol=request.protocol,
        inputs=model_input.summary(),
        outputs=result.envelope(),
        cached=cached,
        latency_ms=latency_ms,
        request_id=request.request_id[:64],
    )
    result.record = recorder().record(row, wait=request.wait_for_record)
    result.prediction_id = row.pk
    _observe(model, request.protocol, cached, time.perf_counter() - started)
    logger.debug(
        "predicted %s via %s (cached=%s, %.2f ms)", model.ref, request.protocol, cached, latency_ms
    )
    return result


def _observe(model: MLModel, protocol: str, cached: bool, seconds: float) -> None:
    labelled(
        PREDICTIONS, model.name, str(model.version), protocol, "true" if cached else "false"
    ).inc()
    labelled(PREDICTION_LATENCY, model.name, protocol).observe(seconds)


def input_limits() -> InputLimits:
    return InputLimits(
        max_batch=settings.MLP_MAX_BATCH_SIZE, max_image_bytes=settings.MLP_MAX_IMAGE_BYTES
    )


def schema_of(model: MLModel) -> ModelSchema:
    return ModelSchema(ref=model.ref, task=model.task, feature_names=model.feature_names)


def _cache_identity(model: MLModel) -> str:
    """Version plus artifact digest: a new database reusing ids never reads another's answers."""
    return f"{model.name}:{model.version}:{model.artifact_sha256 or model.pk}"


def _infer(
    model: MLModel, model_input: ModelInput, *, batched: bool
) -> tuple[InferenceOutput, bool]:
    cache = prediction_cache()
    identity = _cache_identity(model)
    key = cache.key(identity, model_input)
    hit = cache.get(key)
    if hit is not None:
        return hit, True
    runtime = get_runtime(model)

    def run(batch: ModelInput) -> InferenceOutput:
        instances = batch_length(batch)
        labelled(BATCH_SIZE, model.name).observe(instances)
        started = time.perf_counter()
        try:
            return run_runtime(runtime, batch, max_pixels=settings.MLP_MAX_IMAGE_PIXELS)
        finally:
            model_costs().observe(identity, time.perf_counter() - started, instances)

    if batched and settings.MLP_BATCH_MAX_SIZE > 1:
        output = batchers().for_model(identity).run(model_input, run)
    else:
        output = run(model_input)
    cache.set(key, output)
    return output, False


_costs = ModelCosts()


def model_costs() -> ModelCosts:
    return _costs


_batchers: Batchers | None = None


def batchers() -> Batchers:
    global _batchers
    if _batchers is None:
        _batchers = Batchers(
            max_size=settings.MLP_BATCH_MAX_SIZE, max_wait=settings.MLP_BATCH_MAX_WAIT_MS / 1000.0
        )
    return _batchers


_limiter: RateLimiter | None = None


def rate_limiter() -> RateLimiter:
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter(
            Rate.parse(settings.MLP_RATE_LIMIT), parse_overrides(settings.MLP_RATE_LIMITS)
        )
    return _limiter
