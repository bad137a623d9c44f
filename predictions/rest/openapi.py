"""OpenAPI description of `POST /api/v1/models/{ref}/predict/`, which the lean ASGI path serves.

A drf-spectacular postprocessing hook adds the operation to the generated schema, so the hot path
is documented beside the DRF routes without a second implementation of it.
"""

from __future__ import annotations

from typing import Any

PREDICT_PATH = "/api/v1/models/{ref}/predict/"

NUMBER_ROWS = {"type": "array", "items": {"type": "array", "items": {"type": "number"}}}

PREDICT_REQUEST = {
    "type": "object",
    "description": (
        "One of: `X` (rows in the model's feature order), `instances` (named rows), a flat object "
        "of named features (one instance), `text`/`texts` (sentiment), `image`/`images` (base64, "
        "image models). `id` is echoed back."
    ),
    "properties": {
        "X": NUMBER_ROWS,
        "instances": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": {"type": "number"}},
        },
        "text": {"type": "string"},
        "texts": {"type": "array", "items": {"type": "string"}},
        "image": {"type": "string", "format": "byte"},
        "images": {"type": "array", "items": {"type": "string", "format": "byte"}},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3},
        "id": {"description": "Correlation id, echoed in the response."},
    },
    "additionalProperties": {"type": "number", "description": "A named feature (flat form)."},
}

MULTIPART_REQUEST = {
    "type": "object",
    "description": "Image models: the photo as a file field `image` (or several `images`).",
    "properties": {
        "image": {"type": "string", "format": "binary"},
        "top_k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3},
        "id": {"type": "string"},
    },
}

PREDICTION_ENVELOPE = {
    "type": "object",
    "required": ["model", "predictions", "cached", "latency_ms"],
    "properties": {
        "model": {"type": "string", "example": "iris:1"},
        "predictions": {
            "type": "array",
            "description": "Regression: numbers; classification: labels; sentiment: "
            "{sentiment_score, classification}; images: top-k [{class, confidence}].",
            "items": {},
        },
        "prediction": {"description": "The first prediction, when one instance was sent."},
        "probabilities": {
            "type": "array",
            "items": {"type": "object", "additionalProperties": {"type": "number"}},
            "description": "Classification only: probability per label, per row.",
        },
        "cached": {"type": "boolean"},
        "latency_ms": {"type": "number"},
        "id": {"description": "The request's `id`, echoed."},
    },
}

ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": [
                        "invalid_input",
                        "model_not_found",
                        "model_not_ready",
                        "unauthenticated",
                        "forbidden",
                        "rate_limited",
                        "unavailable",
                        "internal",
                    ],
                },
                "message": {"type": "string"},
                "details": {"nullable": True},
            },
        }
    },
}

EXAMPLES = {
    "flat": {
        "summary": "One iris flower, named features",
        "value": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    },
    "rows": {
        "summary": "Rows in feature order",
        "value": {"X": [[5.1, 3.5, 1.4, 0.2]], "id": "r1"},
    },
    "instances": {
        "summary": "Named rows",
        "value": {"instances": [{"feature1": 1.0, "feature2": 2.0}]},
    },
    "text": {"summary": "Sentiment", "value": {"text": "I love machine learning!"}},
}

ERROR_RESPONSES = {
    "400": ("invalid_input", "X[0][1] (sepal_width) must be a number, got string 'a'"),
    "401": ("unauthenticated", "authentication required: send 'Authorization: Bearer <token>'"),
    "404": ("model_not_found", "model 'iris:9' does not exist"),
    "409": ("model_not_ready", "model 'iris:2' is training, not ready"),
    "500": ("internal", "the model failed to run on this input"),
    "503": ("unavailable", "the prediction could not be recorded; try again"),
}


def _error_response(code: str, message: str) -> dict[str, Any]:
    example = {"error": {"code": code, "message": message, "details": None}}
    return {
        "description": f"`{code}`: {message}",
        "content": {"application/json": {"schema": _ref("ErrorEnvelope"), "example": example}},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def add_predict_operation(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Postprocessing hook: put the predict operation and its schemas into the document."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["PredictRequest"] = PREDICT_REQUEST
    schemas["PredictionEnvelope"] = PREDICTION_ENVELOPE
    schemas["ErrorEnvelope"] = ERROR_ENVELOPE
    result["paths"][PREDICT_PATH] = {
        "post": {
            "operationId": "models_predict",
            "summary": "Predict with a model",
            "description": (
                "Runs the model named by `{ref}`: `name` (its production version, else the "
                "newest ready one), `name:version`, or a numeric id. Every prediction is recorded."
            ),
            "tags": ["models"],
            "parameters": [
                {
                    "name": "ref",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "example": "iris",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": _ref("PredictRequest"), "examples": EXAMPLES},
                    "multipart/form-data": {"schema": MULTIPART_REQUEST},
                },
            },
            "security": [{"jwtAuth": []}],
            "responses": {
                "200": {
                    "description": "The prediction envelope.",
                    "content": {"application/json": {"schema": _ref("PredictionEnvelope")}},
                },
                **{
                    status: _error_response(code, message)
                    for status, (code, message) in ERROR_RESPONSES.items()
                },
            },
        }
    }
    return result
