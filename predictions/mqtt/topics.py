"""MQTT topic rules of the contract: requests on {prefix}/{model}/input (or {prefix}/input for
the default model), replies on the response topic or {prefix}/{model}/output."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Route:
    model: str
    reply_topic: str


def request_filters(prefix: str, group: str) -> list[str]:
    """Shared subscriptions, so several bridges split the load."""
    return [f"$share/{group}/{prefix}/+/input", f"$share/{group}/{prefix}/input"]


def route(topic: str, *, prefix: str, default_model: str) -> Route | None:
    """The model a request topic names and where its reply goes; None for foreign topics."""
    if topic == f"{prefix}/input":
        return Route(model=default_model, reply_topic=f"{prefix}/output")
    head = f"{prefix}/"
    if topic.startswith(head) and topic.endswith("/input"):
        model = topic[len(head) : -len("/input")]
        if model and "/" not in model:
            return Route(model=model, reply_topic=f"{prefix}/{model}/output")
    return None
