"""Client-supplied ids: digits that fit a database bigint, else no such row (never a DataError)."""

from __future__ import annotations

MAX_DB_ID = 2**63 - 1


def as_db_id(text: str) -> int | None:
    """The id a string names, or None when it is not a positive integer a database can hold."""
    if not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_DB_ID else None
