"""A database that cannot be reached is the contract's `unavailable` (503, UNAVAILABLE), on every
protocol: a client should retry, not report a bug."""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

from mlplatform.errors import Unavailable

# Connection refused or dropped, pool exhausted (psycopg_pool.PoolTimeout arrives as an
# OperationalError): an outage. IntegrityError and friends stay bugs (internal).
DATABASE_OUTAGE = (OperationalError, InterfaceError)


def database_unavailable() -> Unavailable:
    return Unavailable("the database is unavailable; try again shortly")
