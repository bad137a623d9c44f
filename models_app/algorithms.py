"""The training algorithms users may ask for, by name, and validation of their hyper-parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import SVC, SVR

from mlplatform.errors import InvalidInput


@dataclass(frozen=True)
class Algorithm:
    """Estimator factories per task; None where the algorithm does not do that task."""

    classifier: Callable[[], Any] | None
    regressor: Callable[[], Any] | None

    def build(self, task: str) -> Any:
        factory = self.classifier if task == "classification" else self.regressor
        if factory is None:
            raise InvalidInput(f"this algorithm does not do {task}")
        return factory()


ALGORITHMS: Mapping[str, Algorithm] = {
    "linear_regression": Algorithm(None, LinearRegression),
    "ridge": Algorithm(None, Ridge),
    "logistic_regression": Algorithm(lambda: LogisticRegression(max_iter=1000), None),
    "random_forest": Algorithm(RandomForestClassifier, RandomForestRegressor),
    "gradient_boosting": Algorithm(GradientBoostingClassifier, GradientBoostingRegressor),
    "svm": Algorithm(lambda: SVC(probability=True), SVR),
    "knn": Algorithm(KNeighborsClassifier, KNeighborsRegressor),
    "mlp": Algorithm(lambda: MLPClassifier(max_iter=500), lambda: MLPRegressor(max_iter=500)),
}


def build_estimator(algorithm: str, task: str, params: Mapping[str, Any]) -> Any:
    """An unfitted estimator with `params` applied and checked, or InvalidInput saying why."""
    if algorithm not in ALGORITHMS:
        raise InvalidInput(
            f"unknown algorithm {algorithm!r}; choose one of {', '.join(sorted(ALGORITHMS))}"
        )
    try:
        estimator = ALGORITHMS[algorithm].build(task)
    except InvalidInput as exc:
        raise InvalidInput(f"{algorithm}: {exc.message}") from None
    if not isinstance(params, Mapping):
        raise InvalidInput("params must be an object of hyper-parameters")
    known = set(estimator.get_params())
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidInput(
            f"{algorithm} has no parameter {', '.join(map(repr, unknown))}",
            details={"unknown": unknown, "allowed": sorted(known)},
        )
    estimator.set_params(**params)
    try:
        estimator._validate_params()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{algorithm}: {exc}") from None
    return estimator
