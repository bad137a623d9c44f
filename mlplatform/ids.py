"""Client-supplied ids: digits that fit a database bigint, else no such row (never a DataError)."""

from __future__ import annotations

import itertools
import secrets

MAX_DB_ID = 2**63 - 1


def is_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts characters such as '¹' that int() refuses
    (a ValueError, found by the REST fuzzer as a 500 on DELETE /api/v1/models/¹/)."""
    return text.isascii() and text.isdigit()


def as_db_id(text: str) -> int | None:
    """The id a string names, or None when it is not a positive integer a database can hold."""
    if not is_digits(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_DB_ID else None


_PROCESS_PREFIX = secrets.token_hex(6)
_counter = itertools.count(1)


def new_request_id() -> str:
    """A request id unique across processes and restarts: a random per-process prefix and a
    counter (uuid4 cost a urandom syscall per request, visible in profiles of the hot path)."""
    return f"{_PROCESS_PREFIX}{next(_counter):010x}"
