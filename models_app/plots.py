"""Evaluation plots rendered at training time (matplotlib, Agg): PNG bytes for the admin."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

FIGSIZE = (5.0, 4.2)
DPI = 100


def evaluation_plot(task: str, y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> bytes:
    """A confusion matrix for classifiers, predicted vs actual for regressors."""
    figure, axes = plt.subplots(figsize=FIGSIZE, dpi=DPI)
    try:
        if task == "classification":
            ConfusionMatrixDisplay.from_predictions(
                y_true, y_pred, labels=labels, ax=axes, cmap="Blues", colorbar=False
            )
            axes.set_title("Confusion matrix (hold-out set)")
            axes.tick_params(axis="x", labelrotation=30)
        else:
            axes.scatter(y_true, y_pred, s=14, alpha=0.7, color="#1565c0")
            low = float(min(np.min(y_true), np.min(y_pred)))
            high = float(max(np.max(y_true), np.max(y_pred)))
            axes.plot([low, high], [low, high], color="#c62828", linewidth=1, label="perfect")
            axes.set_xlabel("actual")
            axes.set_ylabel("predicted")
            axes.set_title("Predicted vs actual (hold-out set)")
            axes.legend(loc="upper left")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
