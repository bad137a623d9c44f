"""Pure fitting and evaluation (no Django): data in, a fitted estimator and hold-out metrics out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import cross_val_score, train_test_split

from models_app.plots import evaluation_plot

HOLDOUT_FRACTION = 0.25
SEED = 42
CV_FOLDS = 5
CV_MAX_ROWS = 5000


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
    recipe: dict[str, Any] = field(default_factory=dict)
    evaluation_plot: bytes | None = None


@dataclass
class Evaluation:
    estimator: Any
    metrics: dict[str, float]
    X_test: np.ndarray
    y_test: np.ndarray
    y_pred: np.ndarray


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "r2": round(float(r2_score(y_true, y_pred)), 6),
        "mae": round(float(mean_absolute_error(y_true, y_pred)), 6),
        "rmse": round(float(np.sqrt(mean_squared_error(y_true, y_pred))), 6),
    }


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray | None, classes: list[str]
) -> dict[str, float]:
    metrics = {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 6),
        "f1_macro": round(float(f1_score(y_true, y_pred, average="macro")), 6),
    }
    if proba is not None and len(set(y_true)) == len(classes):
        if len(classes) == 2:
            auc = roc_auc_score(y_true == classes[1], proba[:, 1])
        else:
            auc = roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
        metrics["roc_auc"] = round(float(auc), 6)
    return metrics


def fit_and_evaluate(
    estimator: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    stratify: bool,
    on_stage: Callable[[int, str], None] | None = None,
) -> Evaluation:
    """Fit on a training split, score on the hold-out split, cross-validate when cheap."""
    report = on_stage or (lambda progress, message: None)
    try:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=HOLDOUT_FRACTION, random_state=SEED, stratify=y if stratify else None
        )
    except ValueError:  # too few rows per class to stratify: an unstratified split still works
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=HOLDOUT_FRACTION, random_state=SEED
        )
    report(30, "fitting")
    estimator.fit(X_train, y_train)
    report(70, "evaluating")
    y_pred = estimator.predict(X_test)
    if task == "classification":
        classes = [str(c) for c in estimator.classes_]
        proba = estimator.predict_proba(X_test) if hasattr(estimator, "predict_proba") else None
        metrics = classification_metrics(y_test, y_pred, proba, classes)
    else:
        metrics = regression_metrics(y_test, y_pred)
    metrics.update(_cross_validation(estimator, X, y, task))
    return Evaluation(estimator, metrics, X_test, y_test, y_pred)


def _cross_validation(estimator: Any, X: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    if len(X) > CV_MAX_ROWS:
        return {}
    scoring = "accuracy" if task == "classification" else "r2"
    try:
        scores = cross_val_score(clone(estimator), X, y, cv=CV_FOLDS, scoring=scoring)
    except ValueError:  # e.g. a class with fewer members than folds: skip, the hold-out stands
        return {}
    return {
        f"cv_{scoring}_mean": round(float(scores.mean()), 6),
        f"cv_{scoring}_std": round(float(scores.std()), 6),
    }


def train_demo() -> TrainedModel:
    """y = 0.5*feature1 + 0.3*feature2 + 0.2, the seed's demo regression."""
    rng = np.random.default_rng(SEED)
    X = rng.uniform(0.0, 10.0, size=(200, 2))
    y = 0.5 * X[:, 0] + 0.3 * X[:, 1] + 0.2
    result = fit_and_evaluate(LinearRegression(), X, y, task="regression", stratify=False)
    return TrainedModel(
        estimator=result.estimator,
        task="regression",
        feature_names=["feature1", "feature2"],
        metrics=result.metrics,
        probe=result.X_test,
        description="Linear regression fitted to y = 0.5*feature1 + 0.3*feature2 + 0.2.",
        evaluation_plot=evaluation_plot("regression", result.y_test, result.y_pred, []),
    )


def train_iris() -> TrainedModel:
    data = load_iris()
    labels = [str(name) for name in data.target_names]
    y = np.array(labels)[data.target]
    result = fit_and_evaluate(
        LogisticRegression(max_iter=1000), data.data, y, task="classification", stratify=True
    )
    return TrainedModel(
        estimator=result.estimator,
        task="classification",
        feature_names=["sepal_length", "sepal_width", "petal_length", "petal_width"],
        labels=labels,
        metrics=result.metrics,
        probe=result.X_test,
        description="Logistic regression on Fisher's iris flowers (measurements in cm).",
        recipe={"algorithm": "logistic_regression", "dataset": "iris", "params": {}},
        evaluation_plot=evaluation_plot("classification", result.y_test, result.y_pred, labels),
    )


DIABETES_PARAMS = {"n_estimators": 150, "max_depth": 2, "random_state": SEED}


def train_diabetes() -> TrainedModel:
    data = load_diabetes()
    result = fit_and_evaluate(
        GradientBoostingRegressor(**DIABETES_PARAMS),
        data.data,
        data.target,
        task="regression",
        stratify=False,
    )
    return TrainedModel(
        estimator=result.estimator,
        task="regression",
        feature_names=[str(name) for name in data.feature_names],
        metrics=result.metrics,
        probe=result.X_test,
        description="Gradient boosting on sklearn's diabetes progression set (scaled features).",
        recipe={"algorithm": "gradient_boosting", "dataset": "diabetes", "params": DIABETES_PARAMS},
        evaluation_plot=evaluation_plot("regression", result.y_test, result.y_pred, []),
    )


BUILTIN_TABULAR = {"demo": train_demo, "iris": train_iris, "diabetes": train_diabetes}
