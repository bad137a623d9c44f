"""Core results and errors to SOAP: results per instance, PlatformError to a Fault (one table)."""

from __future__ import annotations

from typing import Any

from lxml import etree
from spyne.model.fault import Fault

from mlplatform.errors import ErrorCode, PlatformError
from models_app.models import MLModel
from predictions.schemas import PredictionResult as CoreResult
from predictions.soap.types import (
    ClassScore,
    LabelProbability,
    ModelInfo,
    PredictionResult,
)

SERVER_CODES = frozenset({ErrorCode.INTERNAL, ErrorCode.UNAVAILABLE})


def to_fault(error: PlatformError) -> Fault:
    """`Client` for the caller's mistakes, `Server` for ours; detail carries the contract code."""
    detail = etree.Element("code")
    detail.text = str(error.code)
    faultcode = "Server" if error.code in SERVER_CODES else "Client"
    return Fault(faultcode=faultcode, faultstring=error.message, detail=detail)


def to_soap_results(result: CoreResult) -> list[PredictionResult]:
    probabilities = result.output.probabilities or []
    results = []
    for index, item in enumerate(result.output.predictions):
        soap = PredictionResult(
            model=result.model_ref, cached=result.cached, latencyMs=round(result.latency_ms, 3)
        )
        if isinstance(item, dict):  # sentiment
            soap.sentimentScore = item["sentiment_score"]
            soap.classification = item["classification"]
            soap.prediction = item["classification"]
        elif isinstance(item, list):  # image classes
            soap.classes = [
                ClassScore(**{"class": c["class"], "confidence": c["confidence"]}) for c in item
            ]
            soap.prediction = item[0]["class"] if item else None
        else:
            soap.prediction = _text(item)
        if index < len(probabilities):
            soap.probabilities = [
                LabelProbability(label=label, value=value)
                for label, value in probabilities[index].items()
            ]
        results.append(soap)
    return results


def to_model_info(model: MLModel) -> ModelInfo:
    return ModelInfo(
        id=model.pk,
        name=model.name,
        version=model.version,
        ref=model.ref,
        task=model.task,
        status=model.status,
        stage=model.stage,
        featureNames=list(model.feature_names),
        labels=list(model.labels),
    )


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)
