"""scikit-learn models stored with skops: loaded with an explicit trust list, never unpickled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio

from models_app.runtimes.base import TabularOutput, probability_dicts, to_python_values

# Types outside skops' default trust set that are plain data holders and safe to rebuild.
EXTRA_TRUSTED_TYPES = frozenset({"sklearn.tree._tree.Tree"})


class UntrustedArtifact(ValueError):
    """The artifact contains types we do not rebuild; it is refused, not loaded."""


def load_estimator(path: str | Path) -> Any:
    """Load a .skops file, refusing any type outside the trust list."""
    untrusted = set(sio.get_untrusted_types(file=str(path)))
    refused = sorted(untrusted - EXTRA_TRUSTED_TYPES)
    if refused:
        raise UntrustedArtifact(f"artifact contains untrusted types: {', '.join(refused)}")
    return sio.load(str(path), trusted=sorted(untrusted))


def dump_estimator(estimator: Any, path: str | Path) -> None:
    sio.dump(estimator, str(path))


class SklearnRuntime:
    """Runs an estimator's predict (and predict_proba for classifiers)."""

    kind = "sklearn"

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        classes = getattr(estimator, "classes_", None)
        self.labels = [str(c) for c in classes] if classes is not None else None
        self.has_proba = self.labels is not None and hasattr(estimator, "predict_proba")

    @classmethod
    def from_file(cls, path: str | Path) -> SklearnRuntime:
        return cls(load_estimator(path))

    def predict(self, rows: np.ndarray) -> TabularOutput:
        values = to_python_values(np.asarray(self.estimator.predict(rows)))
        if not self.has_proba:
            return TabularOutput(values=values)
        assert self.labels is not None
        proba = self.estimator.predict_proba(rows)
        return TabularOutput(values=values, probabilities=probability_dicts(self.labels, proba))
