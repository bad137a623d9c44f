"""Per-request batch loading for nested GraphQL fields (the N+1 guard): the first `versions`
field of a request loads the versions of every name on the page in one query."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from models_app.models import MLModel


def remember_names(info: Any, names: set[str]) -> None:
    """Called by list resolvers: the names whose versions may be asked for."""
    info.context.mlp_model_names = set(getattr(info.context, "mlp_model_names", set())) | names


def versions_of(info: Any, name: str) -> list[MLModel]:
    cache: dict[str, list[MLModel]] | None = getattr(info.context, "mlp_versions", None)
    if cache is None or name not in cache:
        names = set(getattr(info.context, "mlp_model_names", set())) | {name}
        grouped: dict[str, list[MLModel]] = defaultdict(list)
        rows = MLModel.objects.filter(name__in=names).select_related("created_by")
        for model in rows.order_by("name", "-version"):
            grouped[model.name].append(model)
        cache = {**(cache or {}), **{n: grouped.get(n, []) for n in names}}
        info.context.mlp_versions = cache
    return cache[name]
