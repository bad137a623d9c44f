"""What one model call costs, per model version, measured in this process.

The executor runs a prediction on the event loop itself when its model is cheap (see
`service.inline_model`); that needs a cost measured, not guessed from the model's kind.
"""

from __future__ import annotations

_WEIGHT = 0.2  # of the newest call in the moving average: a few slow calls move it quickly


class ModelCosts:
    """An exponential moving average of seconds per model call, by model identity."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def observe(self, identity: str, seconds: float) -> None:
        previous = self._seconds.get(identity)
        self._seconds[identity] = (
            seconds if previous is None else previous + _WEIGHT * (seconds - previous)
        )
        if len(self._seconds) > 10_000:  # versions come and go: keep the map bounded
            self._seconds.clear()

    def clear(self) -> None:
        self._seconds.clear()

    def seconds(self, identity: str) -> float | None:
        """The average, or None before this process has run the model."""
        return self._seconds.get(identity)
