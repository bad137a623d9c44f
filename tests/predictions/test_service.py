"""The inference core, once and exhaustively: input forms, errors, cache, Redis down, recording."""

from __future__ import annotations

import math
from typing import Any

import pytest

from mlplatform.auth import Principal
from mlplatform.errors import ErrorCode, PlatformError
from models_app.models import Framework, MLModel, ModelStatus, Task
from predictions import service
from predictions.cache import PredictionCache
from predictions.models import Prediction
from predictions.schemas import PredictRequest

SETOSA = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA_ROW = [6.9, 3.1, 5.4, 2.1]


def ask(payload: Any, principal: Principal | None, ref: str = "iris") -> Any:
    return service.predict(
        PredictRequest(model_ref=ref, payload=payload, protocol="rest", principal=principal)
    )


def error_of(payload: Any, principal: Principal | None, ref: str = "iris") -> PlatformError:
    before = Prediction.objects.count()
    with pytest.raises(PlatformError) as caught:
        ask(payload, principal, ref)
    assert Prediction.objects.count() == before, "a failed request must write no Prediction row"
    return caught.value


# --- input forms ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "payload", "expected", "single"),
    [
        ("flat", SETOSA, ["setosa"], True),
        ("X", {"X": [list(SETOSA.values()), VIRGINICA_ROW]}, ["setosa", "virginica"], False),
        ("instances", {"instances": [SETOSA]}, ["setosa"], False),
        ("ints are numbers", {"X": [[5, 3, 1, 0]]}, ["setosa"], False),
    ],
)
def test_tabular_input_forms(
    _case: str, payload: dict[str, Any], expected: list[str], single: bool, user_principal: Any
) -> None:
    result = ask(payload, user_principal)

    body = result.envelope()
    assert body["model"] == "iris:1"
    assert body["predictions"] == expected
    assert ("prediction" in body) is single
    assert len(body["probabilities"]) == len(expected)
    assert set(body["probabilities"][0]) == {"setosa", "versicolor", "virginica"}
    assert math.isclose(sum(body["probabilities"][0].values()), 1.0, rel_tol=1e-4)
    assert body["cached"] is False
    assert body["latency_ms"] > 0


def test_regression_matches_the_demo_formula(user_principal: Any) -> None:
    result = ask({"feature1": 1.0, "feature2": 2.0}, user_principal, ref="demo")

    assert result.envelope()["prediction"] == pytest.approx(0.5 * 1 + 0.3 * 2 + 0.2, abs=1e-4)
    assert "probabilities" not in result.envelope()


def test_id_is_echoed(user_principal: Any) -> None:
    result = ask({**SETOSA, "id": "req-42"}, user_principal)

    assert result.envelope()["id"] == "req-42"


def test_success_is_recorded(user_principal: Any) -> None:
    result = ask({"X": [VIRGINICA_ROW]}, user_principal)

    row = Prediction.objects.get(pk=result.prediction_id)
    assert row.model.ref == "iris:1"
    assert row.user_id == user_principal.user_id
    assert row.protocol == "rest"
    assert row.inputs == {"X": [VIRGINICA_ROW]}
    assert row.outputs["predictions"] == ["virginica"]
    assert row.cached is False


@pytest.mark.parametrize(
    ("_case", "ref", "expected"),
    [("name", "iris", "iris:1"), ("name:version", "iris:1", "iris:1")],
)
def test_model_references(_case: str, ref: str, expected: str, user_principal: Any) -> None:
    assert ask(SETOSA, user_principal, ref=ref).model_ref == expected


def test_numeric_id_reference(user_principal: Any) -> None:
    iris = MLModel.objects.get(name="iris", version=1)

    assert ask(SETOSA, user_principal, ref=str(iris.pk)).model_ref == "iris:1"


# --- cache ----------------------------------------------------------------------------------------


def test_second_identical_request_is_a_cache_hit(user_principal: Any) -> None:
    from predictions.cache import prediction_cache

    first = ask({"X": [[6.0, 2.2, 5.0, 1.5]]}, user_principal)
    prediction_cache().flush()  # answers reach Redis with the next lookup, off the request's path
    second = ask({"X": [[6.0, 2.2, 5.0, 1.5]]}, user_principal)

    assert (first.cached, second.cached) == (False, True)
    assert second.output.predictions == first.output.predictions
    assert second.output.probabilities == first.output.probabilities
    assert Prediction.objects.get(pk=second.prediction_id).cached is True


def test_different_input_is_a_miss(user_principal: Any) -> None:
    ask({"X": [[6.0, 2.2, 5.0, 1.5]]}, user_principal)

    assert ask({"X": [[6.0, 2.2, 5.0, 1.6]]}, user_principal).cached is False


def test_redis_down_still_predicts(monkeypatch: pytest.MonkeyPatch, user_principal: Any) -> None:
    dead = PredictionCache("redis://127.0.0.1:1/0", ttl=60, prefix="dead")
    monkeypatch.setattr(service, "prediction_cache", lambda: dead)

    first = ask(SETOSA, user_principal)
    second = ask(SETOSA, user_principal)

    assert first.output.predictions == ["setosa"]
    assert (first.cached, second.cached) == (False, False)
    assert dead.available() is False


# --- errors ---------------------------------------------------------------------------------------

FOUR = "expected 4 (sepal_length, sepal_width, petal_length, petal_width)"


@pytest.mark.parametrize(
    ("_case", "payload", "message"),
    [
        ("not an object", [1, 2, 3], "input must be a JSON object, got array"),
        ("no input", {"id": 1}, "no input: send 'X', 'instances' or the features"),
        ("X not a list", {"X": "abc"}, "'X' must be a list of rows, got string"),
        ("row not a list", {"X": [5.1]}, "X[0] must be a list of numbers, got number"),
        ("short row", {"X": [[1, 2, 3]]}, f"X[0] has 3 values, {FOUR}"),
        ("long row", {"X": [[1, 2, 3, 4], [1, 2, 3, 4, 5]]}, f"X[1] has 5 values, {FOUR}"),
        ("string value", {"X": [[1, "a", 3, 4]]}, "X[0][1] (sepal_width) must be a number"),
        ("bool value", {"X": [[1, True, 3, 4]]}, "X[0][1] (sepal_width) must be a number"),
        ("null value", {"X": [[1, None, 3, 4]]}, "X[0][1] (sepal_width) must be a number"),
        ("nan", {"X": [[1, float("nan"), 3, 4]]}, "must be a finite number, got nan"),
        ("inf", {"X": [[1, 2, float("inf"), 4]]}, "X[0][2] (petal_length) must be a finite"),
        ("-inf flat", {**SETOSA, "petal_width": -math.inf}, "input.petal_width must be a finite"),
        ("empty X", {"X": []}, "the batch is empty"),
        ("empty instances", {"instances": []}, "the batch is empty"),
        ("instances not list", {"instances": {}}, "'instances' must be a list of objects"),
        ("instance not object", {"instances": [[1, 2]]}, "instances[0] must be an object"),
        (
            "missing feature",
            {"instances": [{"sepal_length": 1, "sepal_width": 2, "petal_length": 3}]},
            "instances[0]: missing 'petal_width'",
        ),
        ("unknown feature", {**SETOSA, "colour": 1}, "input: unknown 'colour'"),
        ("wrong names", {"feature1": 1, "feature2": 2}, "input: missing 'sepal_length'"),
        ("two forms", {"X": [[1, 2, 3, 4]], "instances": [SETOSA]}, "send one input form"),
        ("text to tabular", {"text": "hello"}, "is a classification model and does not take"),
        ("image to tabular", {"image": "aGk="}, "is a classification model and does not take"),
    ],
)
def test_invalid_input(_case: str, payload: Any, message: str, user_principal: Any) -> None:
    error = error_of(payload, user_principal)

    assert error.code is ErrorCode.INVALID_INPUT
    assert message in error.message


def test_missing_feature_details_name_the_fields(user_principal: Any) -> None:
    error = error_of({"sepal_length": 1.0, "petal": 2}, user_principal)

    assert error.details["missing"] == ["sepal_width", "petal_length", "petal_width"]
    assert error.details["unknown"] == ["petal"]


def test_oversized_batch(settings: Any, user_principal: Any) -> None:
    settings.MLP_MAX_BATCH_SIZE = 5

    error = error_of({"X": [VIRGINICA_ROW] * 6}, user_principal)

    assert error.code is ErrorCode.INVALID_INPUT
    assert "batch of 6 instances exceeds the limit of 5" in error.message
    assert ask({"X": [VIRGINICA_ROW] * 5}, user_principal).output.predictions == ["virginica"] * 5


def test_anonymous_is_unauthenticated() -> None:
    with pytest.raises(PlatformError) as caught:
        ask(SETOSA, None)

    assert caught.value.code is ErrorCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("_case", "ref", "message"),
    [
        ("unknown name", "no-such-model", "model 'no-such-model' does not exist"),
        ("unknown version", "iris:99", "model 'iris:99' does not exist"),
        ("unknown id", "987654321", "no model with id 987654321"),
    ],
)
def test_model_not_found(_case: str, ref: str, message: str, user_principal: Any) -> None:
    error = error_of(SETOSA, user_principal, ref=ref)

    assert error.code is ErrorCode.MODEL_NOT_FOUND
    assert error.message == message


def test_bad_version_syntax_is_invalid_input(user_principal: Any) -> None:
    assert error_of(SETOSA, user_principal, ref="iris:latest").code is ErrorCode.INVALID_INPUT


def _iris_copy(**fields: Any) -> MLModel:
    iris = MLModel.objects.get(name="iris", version=1)
    values = {
        "name": "iris",
        "version": 2,
        "task": Task.CLASSIFICATION,
        "framework": Framework.SKLEARN,
        "feature_names": iris.feature_names,
        "labels": iris.labels,
        "artifact": iris.artifact.name,
        **fields,
    }
    return MLModel.objects.create(**values)


@pytest.mark.parametrize("status", [ModelStatus.QUEUED, ModelStatus.TRAINING, ModelStatus.FAILED])
def test_unready_version_is_not_ready(status: str, user_principal: Any) -> None:
    _iris_copy(status=status)

    error = error_of(SETOSA, user_principal, ref="iris:2")

    assert error.code is ErrorCode.MODEL_NOT_READY
    assert error.message == f"model 'iris:2' is {status}, not ready"


def test_archived_version_is_not_ready(user_principal: Any) -> None:
    _iris_copy(status=ModelStatus.ARCHIVED)

    assert error_of(SETOSA, user_principal, ref="iris:2").code is ErrorCode.MODEL_NOT_READY


def test_name_with_only_unready_versions_is_not_ready(user_principal: Any) -> None:
    MLModel.objects.create(name="pending", version=1, task="regression", framework="sklearn")

    error = error_of({"a": 1}, user_principal, ref="pending")

    assert error.code is ErrorCode.MODEL_NOT_READY


def test_name_prefers_production_over_newer_ready(user_principal: Any) -> None:
    _iris_copy(status=ModelStatus.READY)  # iris:2, ready, not production; iris:1 is production

    assert ask(SETOSA, user_principal).model_ref == "iris:1"


def test_missing_artifact_is_internal(user_principal: Any) -> None:
    _iris_copy(status=ModelStatus.READY, artifact="models/iris/v2/missing.skops")

    error = error_of(SETOSA, user_principal, ref="iris:2")

    assert error.code is ErrorCode.INTERNAL
    assert error.message == "model iris:2 could not be loaded"


def test_cache_entries_of_another_artifact_are_never_served(user_principal: Any) -> None:
    """A fresh database reuses ids; an answer cached for another artifact must not leak in."""
    from predictions.cache import prediction_cache
    from predictions.parsing import InputLimits, parse_input
    from predictions.schemas import InferenceOutput

    iris = MLModel.objects.get(name="iris", version=1)
    payload = {"X": [[6.1, 2.8, 4.7, 1.2]]}
    model_input = parse_input(payload, service.schema_of(iris), limits=InputLimits())
    cache = prediction_cache()
    cache.set(cache.key(f"iris:1:{'0' * 64}", model_input), InferenceOutput(["virginica"]))
    cache.flush()

    result = ask(payload, user_principal)

    assert result.cached is False
    assert result.output.predictions == ["versicolor"]
