"""The `/live/` page: the live feed, a latency chart and a small prediction form.

The page itself holds no data: it signs in with the session (staff) or a JWT typed into it, and
reads everything over `/ws/feed/` and `/ws/predict/{ref}/`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from models_app.models import MLModel, ModelStatus, Task

_EXAMPLES: dict[str, dict[str, Any]] = {
    "demo": {"feature1": 1.0, "feature2": 2.0},
    "iris": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2},
    "sentiment": {"text": "What a wonderful day at the beach!"},
    "imagenet": {"image": "<base64 of a JPEG or PNG>"},
}


def live_page(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    return render(
        request,
        "live.html",
        {
            "models": list(_example_inputs()),
            "examples": _example_inputs(),
            "session_staff": bool(user.is_authenticated and user.is_staff),
        },
    )


def _example_inputs() -> dict[str, dict[str, Any]]:
    """One example input per servable model name, built-ins first, for the prediction form."""
    examples: dict[str, dict[str, Any]] = {}
    rows = (
        MLModel.objects.filter(status=ModelStatus.READY)
        .order_by("name")
        .values_list("name", "task", "feature_names")
        .distinct()
    )
    for name, task, features in rows:
        if name in examples:
            continue
        if name in _EXAMPLES:
            examples[name] = _EXAMPLES[name]
        elif task == Task.SENTIMENT:
            examples[name] = {"text": "I love it"}
        elif task == Task.IMAGE_CLASSIFICATION:
            examples[name] = {"image": "<base64>"}
        else:
            examples[name] = dict.fromkeys(features or [], 0.0)
    builtin_first = sorted(examples, key=lambda n: (n not in _EXAMPLES, n))
    return {name: examples[name] for name in builtin_first}
