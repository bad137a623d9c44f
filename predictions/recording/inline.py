"""Recording inside an open transaction (an atomic view, a test): the row joins that transaction."""

from __future__ import annotations

from predictions.feed import publish_recorded
from predictions.models import Prediction


def record_inline(row: Prediction) -> Prediction:
    """Write `row` on the caller's transaction; its feed event leaves when that commits."""
    row.save(force_insert=True)
    publish_recorded([row])
    return row
