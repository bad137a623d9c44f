"""What a model costs per instance (row, text, image), per model version, measured in this process.

The executor runs a prediction on the event loop itself when its model is cheap for the request's
size (see `service.inline_model`); that needs a cost measured, not guessed from the model's kind,
and measured per instance, so that one large request for a cheap model is not judged by the
average one-row call.
"""

from __future__ import annotations

_WEIGHT = 0.2  # of the newest call in the moving average: a few slow calls move it quickly


class ModelCosts:
    """An exponential moving average of seconds per instance, by model identity.

    A call's seconds divided by its instances counts the call's fixed cost once per instance, so
    a batch is estimated dearer than it is: the error sends large requests to the thread pool,
    where a few microseconds of hand-over do not matter."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}

    def observe(self, identity: str, seconds: float, instances: int = 1) -> None:
        per_instance = seconds / max(instances, 1)
        previous = self._seconds.get(identity)
        self._seconds[identity] = (
            per_instance if previous is None else previous + _WEIGHT * (per_instance - previous)
        )
        if len(self._seconds) > 10_000:  # versions come and go: keep the map bounded
            self._seconds.clear()

    def clear(self) -> None:
        self._seconds.clear()

    def seconds(self, identity: str, instances: int = 1) -> float | None:
        """The estimated seconds of a call with `instances`, or None before this process has run
        the model."""
        per_instance = self._seconds.get(identity)
        return None if per_instance is None else per_instance * instances
