"""Reading what a server process recorded. Its buffered writer commits a row a few milliseconds
after the answer (MLP_RECORD_LINGER_MS), so a test polls instead of reading once."""

from __future__ import annotations

import time
from typing import Any

from django.db.models import QuerySet

_SETTLE_SECONDS = 0.2  # far beyond the writer's linger: a row that was coming has come


def recorded(rows: QuerySet[Any], count: int = 1, seconds: float = 15.0) -> QuerySet[Any]:
    """`rows`, once at least `count` of them exist (or `seconds` passed: the caller's assert
    then shows what is missing)."""
    deadline = time.monotonic() + seconds
    while rows.count() < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return rows


def never_recorded(rows: QuerySet[Any]) -> bool:
    """True when none of `rows` exists once a write that was on its way would have landed."""
    time.sleep(_SETTLE_SECONDS)
    return not rows.exists()
