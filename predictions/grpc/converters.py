"""mlplatform.v1 messages <-> the core's request payloads and results. No logic beyond shapes."""

from __future__ import annotations

from typing import Any

import orjson

from mlplatform.errors import InvalidInput
from models_app.models import MLModel
from predictions.grpc.gen.mlplatform.v1 import prediction_pb2 as pb
from predictions.parsing import parse_json_object
from predictions.schemas import PredictionResult


def payload_of(request: pb.PredictRequest) -> dict[str, Any]:
    """The contract's JSON input form equivalent to the typed request."""
    kind = request.WhichOneof("input")
    payload: dict[str, Any]
    if kind == "features":
        payload = dict(request.features.values)
    elif kind == "rows":
        payload = {"X": [list(row.values) for row in request.rows.rows]}
    elif kind == "texts":
        payload = {"texts": list(request.texts.texts)}
    elif kind == "images":
        payload = {"images": list(request.images.images)}
        if request.images.top_k:
            payload["top_k"] = request.images.top_k
    elif kind == "json":
        payload = parse_json_object(request.json, what="json")
    else:
        raise InvalidInput("the request has no input: set features, rows, texts, images or json")
    if request.id:
        payload["id"] = request.id
    return payload


def response_of(result: PredictionResult, request_id: str) -> pb.PredictResponse:
    envelope = result.envelope()
    return pb.PredictResponse(
        model=result.model_ref,
        id=request_id,
        cached=result.cached,
        latency_ms=result.latency_ms,
        predictions=[
            _prediction(item, result, i) for i, item in enumerate(envelope["predictions"])
        ],
        json=orjson.dumps(envelope).decode(),
    )


def _prediction(item: Any, result: PredictionResult, index: int) -> pb.Prediction:
    if result.task == "regression":
        return pb.Prediction(number=float(item))
    if result.task == "classification":
        probabilities = result.output.probabilities
        row = probabilities[index] if probabilities else {}
        return pb.Prediction(label=pb.Label(label=str(item), probabilities=row))
    if result.task == "sentiment":
        return pb.Prediction(
            sentiment=pb.Sentiment(
                sentiment_score=float(item["sentiment_score"]),
                classification=str(item["classification"]),
            )
        )
    return pb.Prediction(
        classes=pb.TopK(
            classes=[
                pb.ClassScore(class_name=str(c["class"]), confidence=float(c["confidence"]))
                for c in item
            ]
        )
    )


def model_info(model: MLModel) -> pb.ModelInfo:
    return pb.ModelInfo(
        id=model.pk,
        name=model.name,
        version=model.version,
        ref=model.ref,
        task=model.task,
        framework=model.framework,
        status=model.status,
        stage=model.stage,
        feature_names=list(model.feature_names or []),
        labels=[str(label) for label in model.labels or []],
    )
