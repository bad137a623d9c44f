"""Pure fitting and evaluation (no Django): data in, a fitted estimator and hold-out metrics out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import train_test_split

HOLDOUT_FRACTION = 0.25
SEED = 42


@dataclass
class TrainedModel:
    """What registration needs: the estimator, its schema, hold-out metrics and a probe set."""

    estimator: Any
    task: str
    feature_names: list[str]
    labels: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    probe: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    description: str = ""


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "r2": round(float(r2_score(y_true, y_pred)), 6),
        "mae": round(float(mean_absolute_error(y_true, y_pred)), 6),
        "rmse": round(float(np.sqrt(mean_squared_error(y_true, y_pred))), 6),
    }


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6),
        "f1_macro": round(float(f1_score(y_true, y_pred, average="macro")), 6),
    }


def fit_and_evaluate(
    estimator: Any, X: np.ndarray, y: np.ndarray, *, task: str, stratify: bool
) -> tuple[Any, dict[str, float], np.ndarray]:
    """Fit on a training split, score on the hold-out split; returns the hold-out rows as probe."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=HOLDOUT_FRACTION, random_state=SEED, stratify=y if stratify else None
    )
    estimator.fit(X_train, y_train)
    predicted = estimator.predict(X_test)
    if task == "classification":
        metrics = classification_metrics(y_test, predicted)
    else:
        metrics = regression_metrics(y_test, predicted)
    return estimator, metrics, X_test


def train_demo() -> TrainedModel:
    """y = 0.5*feature1 + 0.3*feature2 + 0.2, the seed's demo regression."""
    rng = np.random.default_rng(SEED)
    X = rng.uniform(0.0, 10.0, size=(200, 2))
    y = 0.5 * X[:, 0] + 0.3 * X[:, 1] + 0.2
    estimator, metrics, probe = fit_and_evaluate(
        LinearRegression(), X, y, task="regression", stratify=False
    )
    return TrainedModel(
        estimator=estimator,
        task="regression",
        feature_names=["feature1", "feature2"],
        metrics=metrics,
        probe=probe,
        description="Linear regression fitted to y = 0.5*feature1 + 0.3*feature2 + 0.2.",
    )


def train_iris() -> TrainedModel:
    data = load_iris()
    labels = [str(name) for name in data.target_names]
    y = np.array(labels)[data.target]
    estimator, metrics, probe = fit_and_evaluate(
        LogisticRegression(max_iter=1000), data.data, y, task="classification", stratify=True
    )
    return TrainedModel(
        estimator=estimator,
        task="classification",
        feature_names=["sepal_length", "sepal_width", "petal_length", "petal_width"],
        labels=labels,
        metrics=metrics,
        probe=probe,
        description="Logistic regression on Fisher's iris flowers (measurements in cm).",
    )


def train_diabetes() -> TrainedModel:
    data = load_diabetes()
    estimator, metrics, probe = fit_and_evaluate(
        GradientBoostingRegressor(n_estimators=150, max_depth=2, random_state=SEED),
        data.data,
        data.target,
        task="regression",
        stratify=False,
    )
    return TrainedModel(
        estimator=estimator,
        task="regression",
        feature_names=[str(name) for name in data.feature_names],
        metrics=metrics,
        probe=probe,
        description="Gradient boosting on sklearn's diabetes progression set (scaled features).",
    )


BUILTIN_TABULAR = {"demo": train_demo, "iris": train_iris, "diabetes": train_diabetes}
