"""Integer-id lookups for DRF viewsets that answer 404 for ids no database could hold."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound

from mlplatform.ids import as_db_id


class SafeIdLookupMixin:
    """Checks `{pk}` before the query: PostgreSQL raises DataError on ids past bigint."""

    lookup_value_regex = r"[0-9]+"
    kwargs: dict[str, Any]

    def get_object(self) -> Any:
        if as_db_id(str(self.kwargs.get("pk", ""))) is None:
            raise NotFound("no such id")
        return super().get_object()  # type: ignore[misc]
