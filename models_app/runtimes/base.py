"""What every tabular runtime returns, and the protocol the inference core calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True, slots=True)
class TabularOutput:
    """One value per row; for classifiers the label, plus per-row probabilities by label."""

    values: list[Any]
    probabilities: list[dict[str, float]] | None = None


class TabularRuntime(Protocol):
    """A loaded tabular model: `predict` takes a float64 (n_rows, n_features) matrix."""

    kind: str

    def predict(self, rows: np.ndarray) -> TabularOutput: ...


def to_python_values(values: np.ndarray) -> list[Any]:
    """Numpy scalars to JSON-ready Python values (labels stay strings, numbers become floats)."""
    flat = values.reshape(len(values), -1)[:, 0] if values.ndim > 1 else values
    if flat.dtype.kind in "fiu":
        return to_floats(flat)
    return [str(v) for v in flat]


def to_floats(values: np.ndarray) -> list[float]:
    """Python floats; float32 values keep their shortest float32 form (1.3, not 1.3000000715)."""
    if values.dtype == np.float32:
        return [float(str(v)) for v in values]
    return [float(v) for v in values]


def probability_dicts(labels: list[str], matrix: np.ndarray) -> list[dict[str, float]]:
    return [dict(zip(labels, to_floats(row), strict=True)) for row in np.asarray(matrix)]


class UnusableInput(ValueError):
    """The input is well-formed JSON but the model cannot use it (not an image, truncated...)."""
