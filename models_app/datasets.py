"""Training data: sklearn's bundled data sets (offline) or inline X/y, with precise errors."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import datasets as sk_datasets

from mlplatform.errors import InvalidInput

MIN_ROWS = 10
MIN_PER_CLASS = 2


@dataclass
class Dataset:
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: list[str]
    labels: list[str]


def _bundled(loader: Callable[[], Any], task: str) -> Dataset:
    bunch = loader()
    names = [str(n).replace(" ", "_") for n in getattr(bunch, "feature_names", [])]
    if not names:
        names = [f"x{i}" for i in range(bunch.data.shape[1])]
    if task == "classification":
        classes = [str(c) for c in getattr(bunch, "target_names", sorted(set(bunch.target)))]
        y = np.array(classes)[bunch.target]
        return Dataset(bunch.data.astype(np.float64), y, task, names, classes)
    return Dataset(bunch.data.astype(np.float64), bunch.target.astype(np.float64), task, names, [])


BUNDLED: Mapping[str, tuple[Callable[[], Any], str]] = {
    "iris": (sk_datasets.load_iris, "classification"),
    "wine": (sk_datasets.load_wine, "classification"),
    "breast_cancer": (sk_datasets.load_breast_cancer, "classification"),
    "digits": (sk_datasets.load_digits, "classification"),
    "diabetes": (sk_datasets.load_diabetes, "regression"),
}


def load_bundled(name: str) -> Dataset:
    if name not in BUNDLED:
        raise InvalidInput(f"unknown dataset {name!r}; choose one of {', '.join(sorted(BUNDLED))}")
    loader, task = BUNDLED[name]
    return _bundled(loader, task)


def inline_dataset(data: Any, *, task: str | None, feature_names: list[str] | None) -> Dataset:
    """Validate `{"X": [[...]], "y": [...]}`; the task is inferred from y when not given."""
    if not isinstance(data, Mapping) or "X" not in data or "y" not in data:
        raise InvalidInput("data must be an object with 'X' (rows) and 'y' (targets)")
    X = _matrix(data["X"])
    y_raw = data["y"]
    if not isinstance(y_raw, list) or len(y_raw) != len(X):
        raise InvalidInput(f"'y' must be a list with one target per row of X ({len(X)})")
    if len(X) < MIN_ROWS:
        raise InvalidInput(
            f"at least {MIN_ROWS} rows are needed to train and evaluate, got {len(X)}"
        )
    inferred = "classification" if any(isinstance(v, str) for v in y_raw) else "regression"
    task = task or inferred
    names = feature_names or [f"x{i}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise InvalidInput(f"feature_names lists {len(names)} names for {X.shape[1]} columns")
    if task == "classification":
        y = np.array([str(v) for v in y_raw])
        classes, counts = np.unique(y, return_counts=True)
        if len(classes) < 2:
            raise InvalidInput("classification needs at least two classes in 'y'")
        if counts.min() < MIN_PER_CLASS:
            rare = str(classes[counts.argmin()])
            raise InvalidInput(f"class {rare!r} has {counts.min()} example; need {MIN_PER_CLASS}+")
        return Dataset(X, y, task, names, [str(c) for c in classes])
    y_num = np.array([_finite(v, f"y[{i}]") for i, v in enumerate(y_raw)], dtype=np.float64)
    return Dataset(X, y_num, task, names, [])


def _matrix(value: Any) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise InvalidInput("'X' must be a non-empty list of rows")
    width = len(value[0]) if isinstance(value[0], list) else -1
    rows = []
    for i, row in enumerate(value):
        if not isinstance(row, list) or len(row) != width or width == 0:
            raise InvalidInput(f"X[{i}] must be a list of {width} numbers like X[0]")
        rows.append([_finite(v, f"X[{i}][{j}]") for j, v in enumerate(row)])
    return np.array(rows, dtype=np.float64)


def _finite(value: Any, where: str) -> float:
    if value is None:
        raise InvalidInput(f"{where} is missing (null); fill or drop missing values first")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{where} must be a finite number, got {value!r}")
    return float(value)


MAX_CSV_BYTES = 20 * 1024 * 1024


def csv_training_data(content: bytes, *, target: str) -> tuple[dict[str, Any], list[str]]:
    """Inline `{"X", "y"}` and feature names from a CSV with a header row and a target column.

    Feature columns must be numeric; the target may be numbers (regression) or text (classes).
    """
    if len(content) > MAX_CSV_BYTES:
        raise InvalidInput(f"the CSV file is over {MAX_CSV_BYTES // (1024 * 1024)} MiB")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV file is not UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise InvalidInput("the CSV file needs a header row and data rows")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise InvalidInput(f"target column {target!r} is not in the header {header}")
    target_index = header.index(target)
    features = [name for i, name in enumerate(header) if i != target_index]
    X: list[list[float]] = []
    y: list[Any] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise InvalidInput(f"line {line} has {len(row)} fields, the header has {len(header)}")
        X.append(
            [_csv_number(row[i], line, header[i]) for i in range(len(row)) if i != target_index]
        )
        y.append(_csv_target(row[target_index], line, target))
    labels_are_text = any(isinstance(value, str) for value in y)
    if labels_are_text:
        y = [str(value) for value in y]
    return {"X": X, "y": y}, features


def _csv_number(cell: str, line: int, column: str) -> float:
    if not cell.strip():
        raise InvalidInput(f"line {line}, column {column!r} is empty; fill or drop missing values")
    try:
        value = float(cell)
    except ValueError:
        raise InvalidInput(f"line {line}, column {column!r} is not a number: {cell!r}") from None
    if not math.isfinite(value):
        raise InvalidInput(f"line {line}, column {column!r} is not finite: {cell!r}")
    return value


def _csv_target(cell: str, line: int, column: str) -> float | str:
    if not cell.strip():
        raise InvalidInput(f"line {line}: the target {column!r} is empty")
    try:
        value = float(cell)
    except ValueError:
        return cell.strip()
    return value if math.isfinite(value) else cell.strip()
