"""The SQL both recorders share: their own database connection and the bulk INSERT of a batch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from mlplatform.db_errors import DATABASE_OUTAGE
from predictions.models import Prediction

logger = logging.getLogger(__name__)


class RecorderDatabase:
    """A recorder's own connection, used by one writer at a time from any thread. It keeps its
    session across batches (reconnecting each time cost more than the INSERT), with relaxed
    commits (MLP_RECORD_SYNCHRONOUS_COMMIT) that no other write of the process gets."""

    def __init__(self, *, relaxed_commit: bool) -> None:
        self.relaxed_commit = relaxed_commit
        self._db: BaseDatabaseWrapper | None = None
        self._prepared: object = None

    def get(self) -> BaseDatabaseWrapper:
        if self._db is None:
            self._db = connections.create_connection("default")
            self._db.inc_thread_sharing()  # writers come from many threads, one at a time
        db = self._db
        db.ensure_connection()
        raw = db.connection
        if raw is not self._prepared and db.vendor == "postgresql" and self.relaxed_commit:
            with db.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO OFF")
        self._prepared = raw
        return db

    def close(self) -> None:
        """Drop the connection (a broken one, or at stop); the next `get` opens a new one."""
        if self._db is not None:
            self._db.close()
        self._prepared = None


def write_isolated(
    rows: list[Prediction], write: Callable[[list[Prediction]], None]
) -> list[BaseException | None]:
    """Write `rows` in one statement; if it fails for a reason other than an outage, write them
    one by one so that a bad row fails alone. One error (or None) per row; outages raise."""
    try:
        write(rows)
        return [None] * len(rows)
    except DATABASE_OUTAGE:
        raise
    except Exception as exc:
        if len(rows) == 1:
            return [exc]
    errors: list[BaseException | None] = []
    for row in rows:
        errors += write_isolated([row], write)
    return errors


_COLUMNS = (
    "model_id",
    "user_id",
    "protocol",
    "inputs",
    "outputs",
    "cached",
    "latency_ms",
    "request_id",
    "created_at",
)
_RECORD_TYPES = (
    "bigint",
    "bigint",
    "text",
    "jsonb",
    "jsonb",
    "boolean",
    "float8",
    "text",
    "timestamptz",
)


def insert_predictions(rows: list[Prediction], db: BaseDatabaseWrapper = connection) -> None:
    """INSERT ... RETURNING id for the whole batch: one round trip where Django's bulk_create
    took three (BEGIN, INSERT, COMMIT), which dominated the cost of recording. Rows that already
    have an id (reserved with `reserve_ids`) keep it, and a row whose id exists is skipped, so
    writing a batch again after a lost reply does not duplicate it."""
    now = timezone.now()
    for row in rows:
        row.created_at = row.created_at or now
    ids = _insert_recordset(rows, db) if db.vendor == "postgresql" else _insert_values(rows, db)
    if ids is not None:
        for row, pk in zip(rows, ids, strict=True):
            row.pk = pk
    for row in rows:
        row._state.adding = False


def reserve_ids(db: BaseDatabaseWrapper, count: int) -> list[int]:
    """`count` ids from the table's own sequence (PostgreSQL), for rows written later."""
    table = Prediction._meta.db_table
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [reserved[0] for reserved in cursor.fetchall()]


def _quoted_columns(db: BaseDatabaseWrapper, columns: tuple[str, ...] = _COLUMNS) -> str:
    return ", ".join(map(db.ops.quote_name, columns))


def _insert_recordset(rows: list[Prediction], db: BaseDatabaseWrapper) -> list[int] | None:
    """PostgreSQL: the batch travels as one JSON array (a single orjson call) that
    json_to_recordset unpacks, so the statement text is the same for every batch size and
    psycopg prepares it once. Binding a VALUES list instead quoted every value in Python, which
    py-spy showed as a third of the recorder's CPU. RETURNING gives the ids in the array's order
    (as Django's bulk_create relies on for its own set-returning INSERT)."""
    with_ids = rows[0].pk is not None
    columns = ("id", *_COLUMNS) if with_ids else _COLUMNS
    types = ("bigint", *_RECORD_TYPES) if with_ids else _RECORD_TYPES
    batch = orjson.dumps([_as_record(row, with_ids) for row in rows]).decode()
    names = _quoted_columns(db, columns)
    record = ", ".join(f"{name} {kind}" for name, kind in zip(columns, types, strict=True))
    table = db.ops.quote_name(Prediction._meta.db_table)
    tail = "ON CONFLICT (id) DO NOTHING" if with_ids else "RETURNING id"
    sql = (
        f"INSERT INTO {table} ({names}) SELECT {names} "
        f"FROM json_to_recordset(%s::json) AS batch({record}) {tail}"
    )
    # A plain psycopg cursor (server-side binding): Django's binds client-side.
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(sql, [batch])
        return None if with_ids else [returned[0] for returned in cursor.fetchall()]


def _as_record(row: Prediction, with_id: bool) -> dict[str, Any]:
    record = {
        "model_id": row.model_id,
        "user_id": row.user_id,
        "protocol": row.protocol,
        "inputs": row.inputs,
        "outputs": row.outputs,
        "cached": row.cached,
        "latency_ms": row.latency_ms,
        "request_id": row.request_id,
        "created_at": row.created_at,
    }
    if with_id:
        record["id"] = row.pk
    return record


def _insert_values(rows: list[Prediction], db: BaseDatabaseWrapper) -> list[int]:
    """Other databases (SQLite): a multi-row VALUES list through Django's cursor."""
    placeholders = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    sql = (
        f"INSERT INTO {db.ops.quote_name(Prediction._meta.db_table)} "
        f"({_quoted_columns(db)}) VALUES {', '.join([placeholders] * len(rows))} "
        f"RETURNING {db.ops.quote_name('id')}"
    )
    params: list[Any] = []
    for row in rows:
        params += [
            row.model_id,
            row.user_id,
            row.protocol,
            orjson.dumps(row.inputs).decode(),
            orjson.dumps(row.outputs).decode(),
            row.cached,
            row.latency_ms,
            row.request_id,
            db.ops.adapt_datetimefield_value(row.created_at),
        ]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return [returned[0] for returned in cursor.fetchall()]
