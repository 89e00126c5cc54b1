"""Bulk writes: INSERT, INSERT OR IGNORE and UPSERT of many rows in one statement.

The tables in :mod:`loyaltykit.ledger.schema` stay the single definition. On SQLite, rows
go straight to the driver's ``executemany`` with values converted the way SQLAlchemy
stores them, because per-row parameter processing dominated the cost of a replay (a
million entries, lots and orders). On PostgreSQL, plain inserts go through ``COPY`` (a
30k-order replay: 7.9-8.5 s with many-row INSERTs, 4.9 s with COPY); inserts that skip
existing keys and upserts use SQLAlchemy's dialect statements.

:func:`json_statements` is the same write as one SQLite statement over a JSON document of
the rows, for a replay's page writer (:mod:`loyaltykit.engine.pipeline`): serializing the
rows is all the Python work left (orjson, in C), and SQLite runs the statement without
holding the GIL, so the engine's thread keeps computing while another writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from operator import itemgetter
from typing import Any, Literal

import orjson
from sqlalchemy import JSON, Boolean, Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

from loyaltykit.ledger.schema import UtcDateTime

Convert = Callable[[Any], Any]


def _sqlite_datetime(value: datetime | None) -> str | None:
    """UTC text as :class:`UtcDateTime` stores it; events are decoded to UTC already, so
    most values skip the conversion (a replay converts millions)."""
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
        value = value.astimezone(timezone.utc)
    return value.isoformat(" ", "microseconds")[:26]  # without the "+00:00"


def json_text(value: Any) -> str:
    """JSON for the ledger's JSON columns: orjson, four to ten times the standard library's
    speed on the small documents a replay writes a million of."""
    return orjson.dumps(value).decode()


def _json(value: Any) -> str | None:
    return None if value is None else json_text(value)


def _sqlite_bool(value: Any) -> int | None:
    return None if value is None else int(bool(value))


def _aware(value: datetime | None) -> datetime | None:
    """PostgreSQL's column is timestamptz: a naive value would be read in the session's
    time zone, so it is refused as SQLAlchemy's type would."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored")
    return value


# What SQLAlchemy's types do to a value before the driver gets it, per dialect.
_CONVERSIONS: dict[str, tuple[tuple[type, Convert], ...]] = {
    "sqlite": ((UtcDateTime, _sqlite_datetime), (JSON, _json), (Boolean, _sqlite_bool)),
    "postgresql": ((UtcDateTime, _aware), (JSON, _json)),
}


@cache
def _converters(table: Table, columns: tuple[str, ...], dialect: str
                ) -> tuple[tuple[int, Convert], ...]:
    """(position, converter) for the columns whose values the driver cannot take as is."""
    out: list[tuple[int, Convert]] = []
    for index, name in enumerate(columns):
        kind = table.c[name].type
        out.extend((index, fn) for cls, fn in _CONVERSIONS[dialect] if isinstance(kind, cls))
    return tuple(out)


def _driver_rows(table: Table, rows: Sequence[dict[str, Any]], dialect: str = "sqlite",
                 last: str | None = None) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
    """Driver-ready value tuples, in the order of the first row's keys (``last`` moved to
    the end, where an UPDATE's WHERE wants it)."""
    columns = tuple(rows[0]) if last is None else (*(c for c in rows[0] if c != last), last)
    convert = _converters(table, columns, dialect)
    pick = itemgetter(*columns)
    values: list[tuple[Any, ...]] = []
    for row in rows:
        picked = pick(row)
        value = list(picked) if len(columns) > 1 else [picked]
        for index, fn in convert:
            value[index] = fn(value[index])
        values.append(tuple(value))
    return columns, values


def insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
           ignore: bool = False) -> int:
    """Insert rows (all with the same keys); with ``ignore``, skip rows whose key exists.

    Returns how many rows were inserted.
    """
    if not rows:
        return 0
    if conn.dialect.name == "sqlite":
        columns, values = _driver_rows(table, rows)
        verb = "INSERT OR IGNORE" if ignore else "INSERT"
        sql = (f"{verb} INTO {table.name} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        before = conn.connection.total_changes
        conn.exec_driver_sql(sql, values)
        return int(conn.connection.total_changes - before)
    if not ignore:
        if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
            _copy(conn, table, rows)  # (other drivers, psycopg2 say, have no copy())
        else:
            conn.execute(table.insert(), rows)
        return len(rows)
    result = conn.execute(postgresql.insert(table).on_conflict_do_nothing(), rows)
    return int(result.rowcount or 0)


def _copy(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY ... FROM STDIN in the connection's transaction: PostgreSQL's bulk load path."""
    columns, values = _driver_rows(table, rows, "postgresql")
    names = ", ".join(f'"{c}"' for c in columns)
    driver: Any = conn.connection.dbapi_connection  # psycopg 3
    with driver.cursor() as cursor, cursor.copy(
            f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for value in values:
            copy.write_row(value)


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
           keys: Sequence[str]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE every other column."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        columns, values = _driver_rows(table, rows)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))}) "
               f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")
        conn.exec_driver_sql(sql, values)
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table)
    others = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=others), rows)


def update_by_key(conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]
                  ) -> None:
    """UPDATE table SET <other columns> WHERE key = ?, for many rows."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        columns, values = _driver_rows(table, rows, last=key)
        sql = (f"UPDATE {table.name} SET {', '.join(f'{c} = ?' for c in columns[:-1])} "
               f"WHERE {key} = ?")
        conn.exec_driver_sql(sql, values)
        return
    from sqlalchemy import bindparam, update

    stmt = update(table).where(table.c[key] == bindparam("_key")).values(
        {c: bindparam(c) for c in rows[0] if c != key})
    conn.execute(stmt, [{**{c: v for c, v in r.items() if c != key}, "_key": r[key]}
                        for r in rows])


WriteKind = Literal["insert", "ignore", "update", "upsert"]

# An instant as orjson writes it ("2025-03-04T13:06:07.000123+08:00", the fraction left out
# when it is zero) to the text UtcDateTime stores: UTC, a space, six fractional digits. The
# fraction is cut off before strftime, which would round it to milliseconds; an instant
# without an offset fails the statement (json() of a non-JSON text raises) as the
# executemany path refuses a naive datetime.
_INSTANT = (
    "CASE WHEN {v} IS NULL THEN NULL WHEN substr({v}, -6, 1) IN ('+', '-') THEN "
    "strftime('%Y-%m-%d %H:%M:%S', substr({v}, 1, 19) || substr({v}, -6)) || "
    "CASE WHEN substr({v}, 20, 1) = '.' THEN substr({v}, 20, 7) ELSE '.000000' END "
    "ELSE json('naive datetime cannot be stored') END")


def _json_value(table: Table, column: str, ref: str) -> str:
    """The SQL that turns ``ref``, the extracted ``column``, into what SQLAlchemy stores."""
    kind = table.c[column].type
    if isinstance(kind, UtcDateTime):
        return _INSTANT.format(v=ref)
    if isinstance(kind, JSON):
        return f"NULLIF({ref}, 'null')"  # the document's JSON text; null is SQL NULL
    return ref  # numbers, text; true and false come out as 1 and 0, as Boolean stores


@cache
def _json_sql(kind: WriteKind, table: Table, columns: tuple[str, ...],
              keys: tuple[str, ...]) -> str:
    """The statement over a JSON array of rows, each an array of ``columns``' values."""
    extract = ", ".join(
        f"value {'->' if isinstance(table.c[c].type, JSON) else '->>'} '$[{n}]' AS {c}"
        for n, c in enumerate(columns))
    rows = f"(SELECT {extract} FROM json_each(?))"
    values = ", ".join(_json_value(table, c, c) for c in columns)
    names = ", ".join(columns)
    if kind == "update":
        sets = ", ".join(f"{c} = {_json_value(table, c, f'j.{c}')}"
                         for c in columns if c not in keys)
        where = " AND ".join(f"{table.name}.{k} = j.{k}" for k in keys)
        return f"UPDATE {table.name} SET {sets} FROM {rows} AS j WHERE {where}"
    verb = "INSERT OR IGNORE" if kind == "ignore" else "INSERT"
    sql = f"{verb} INTO {table.name} ({names}) SELECT {values} FROM {rows} WHERE true"
    if kind == "upsert":
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        sql += f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
    return sql


@dataclass(frozen=True, slots=True)
class Write:
    """Rows (all with the same keys) for one statement: an insert, an insert that skips
    existing keys, an update by ``keys[0]`` or an upsert on ``keys``."""

    kind: WriteKind
    table: Table
    rows: Sequence[dict[str, Any]]
    keys: tuple[str, ...] = ()


def write(conn: Connection, w: Write) -> None:
    """Execute ``w`` on ``conn``: executemany on SQLite, COPY or batches on PostgreSQL."""
    if w.kind == "update":
        update_by_key(conn, w.table, w.keys[0], w.rows)
    elif w.kind == "upsert":
        upsert(conn, w.table, w.rows, w.keys)
    else:
        insert(conn, w.table, w.rows, ignore=w.kind == "ignore")


def json_statements(w: Write, rows_per_statement: int = 2_000) -> list[tuple[str, bytes]]:
    """SQLite statements, each with its single parameter, that do what :func:`write` does.

    Rows go as arrays (half the size of objects naming every column); a statement holds
    its document parsed while it runs, so a few thousand rows at a time keep that small.
    """
    columns = tuple(w.rows[0])
    sql, pick = _json_sql(w.kind, w.table, columns, w.keys), itemgetter(*columns)
    values = list(map(pick, w.rows)) if len(columns) > 1 else [[pick(r)] for r in w.rows]
    return [(sql, orjson.dumps(values[n:n + rows_per_statement]))
            for n in range(0, len(values), rows_per_statement)]
