"""Bulk writes bypass SQLAlchemy's type processing (SQLite's executemany, PostgreSQL's
COPY): they must store what it stores."""

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from loyaltykit.ledger import bulk
from loyaltykit.ledger import schema as t
from loyaltykit.ledger.ledger import engine_for
from loyaltykit.ledger.migrations import ensure_schema

INSTANTS = [
    datetime(2025, 3, 4, 5, 6, 7, 123, tzinfo=timezone.utc),
    datetime(2025, 3, 4, 13, 6, 7, tzinfo=timezone(timedelta(hours=8))),  # no microseconds
    datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=ZoneInfo("Asia/Shanghai")),
    datetime(2026, 1, 1, tzinfo=timezone(timedelta(0))),  # UTC, but not the singleton
]


def lot(n: int, at: datetime) -> dict[str, object]:
    return {"lot_key": f"lot-{n}", "customer_id": "c1", "credited_at": at, "expires_at": None,
            "points": 10, "remaining": 10, "program_version": 1}


@pytest.fixture
def engine(ledger_url_factory: Callable[[], str]) -> Iterator[Engine]:
    engine = engine_for(ledger_url_factory())
    ensure_schema(engine)
    yield engine
    engine.dispose()


def test_instants_and_json_are_stored_as_sqlalchemy_stores_them(engine: Engine) -> None:
    with engine.begin() as conn:
        bulk.insert(conn, t.lots, [lot(n, at) for n, at in enumerate(INSTANTS)])
        conn.execute(t.lots.insert(), [lot(n + 100, at) for n, at in enumerate(INSTANTS)])
        bulk.insert(conn, t.customers, [{"customer_id": "c1", "attributes": {"名字": "茶"},
                                         "balance": 0, "lifetime_earned": 0,
                                         "counters": {"year_earned": {"2025": 3}}}])
    with engine.connect() as conn:
        text = conn.exec_driver_sql("SELECT lot_key, CAST(credited_at AS TEXT) FROM lk_lots")
        by_key = dict(text.all())
        assert [by_key[f"lot-{n}"] for n in range(4)] == [by_key[f"lot-{n + 100}"]
                                                          for n in range(4)]
        stored = dict(conn.execute(select(t.lots.c.lot_key, t.lots.c.credited_at)).all())
        assert [stored[f"lot-{n}"] for n in range(4)] == INSTANTS  # the same instants, in UTC
        row = conn.execute(select(t.customers.c.attributes, t.customers.c.counters)).one()
        assert row.attributes == {"名字": "茶"} and row.counters == {"year_earned": {"2025": 3}}


def test_a_naive_instant_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(ValueError, match="naive datetime"):
        bulk.insert(conn, t.lots, [lot(1, datetime(2025, 1, 1))])


ORDERS = [
    {"order_id": f"o{n}", "customer_id": "c1", "placed_at": at, "amount_minor": 1250 + n,
     "refunded_minor": 0, "status": "paid", "cancelled_at": None, "program_version": 1,
     "earned": 12, "reversed": 0, "bonuses": {"first_order": [50, "v1"]} if n else {},
     "in_window": n % 2 == 0}
    for n, at in enumerate(INSTANTS)
]
CUSTOMERS = [
    {"customer_id": "c1", "email": "a'b@example.com", "attributes": {"名字": "茶", "q": "\"\\"},
     "first_seen_at": INSTANTS[1], "balance": 5, "lifetime_earned": 7, "tier": None,
     "counters": {"window": [1, 2, 3], "window_first": None}},
    {"customer_id": "c2", "email": None, "attributes": None, "first_seen_at": None,
     "balance": 0, "lifetime_earned": 0, "tier": "gold", "counters": {}},
]


def _stored(engine: Engine, table: t.Table) -> list[tuple[object, ...]]:
    """The rows as the driver gives them back: the stored text, not re-parsed values."""
    with engine.connect() as conn:
        return sorted(conn.exec_driver_sql(f"SELECT * FROM {table.name}").all(), key=repr)


def _write(engine: Engine, kind: bulk.WriteKind, table: t.Table, rows: list[dict[str, object]],
           keys: tuple[str, ...], as_json: bool) -> None:
    write = bulk.Write(kind, table, rows, keys)
    with engine.begin() as conn:
        if as_json:
            for statement in bulk.json_statements(write, rows_per_statement=2):
                conn.exec_driver_sql(*_one(statement))
        else:
            bulk.write(conn, write)


def _one(statement: tuple[str, bytes]) -> tuple[str, tuple[bytes]]:
    sql, document = statement
    return sql, (document,)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_json_statement_stores_what_executemany_stores(
        ledger_url_factory: Callable[[], str]) -> None:
    """Row by row equal, as stored: instants in UTC with six digits (one at .999999 in
    +08:00, which strftime alone would round into the next day), JSON text, booleans,
    quotes; then updates, upserts and ignored duplicates on top."""
    engines = [engine_for(ledger_url_factory()) for _ in range(2)]
    for engine, as_json in zip(engines, (False, True), strict=True):
        ensure_schema(engine)
        _write(engine, "insert", t.lots, [lot(n, at) for n, at in enumerate(INSTANTS)], (),
               as_json)
        _write(engine, "insert", t.orders, ORDERS, (), as_json)
        _write(engine, "insert", t.customers, CUSTOMERS, (), as_json)
        _write(engine, "update", t.orders, [
            {"order_id": "o1", "refunded_minor": 1251, "status": "paid",
             "cancelled_at": INSTANTS[2], "bonuses": {}, "in_window": False}], ("order_id",),
            as_json)
        _write(engine, "update", t.customers, [
            {"tier": "silver", "review_at": INSTANTS[3], "counters": {"n": 1},
             "customer_id": "c2"}], ("customer_id",), as_json)
        _write(engine, "upsert", t.meta, [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
               ("key",), as_json)
        _write(engine, "upsert", t.meta, [{"key": "a", "value": "3"}], ("key",), as_json)
        _write(engine, "ignore", t.lots, [{**lot(0, INSTANTS[3]), "points": 99},
                                          lot(9, INSTANTS[0])], (), as_json)
    for table in (t.lots, t.orders, t.customers, t.meta):
        assert _stored(engines[1], table) == _stored(engines[0], table), table.name
    assert len(_stored(engines[1], t.lots)) == 5
    for engine in engines:
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_json_statement_refuses_a_naive_instant(engine: Engine) -> None:
    from sqlalchemy.exc import OperationalError

    [statement] = bulk.json_statements(
        bulk.Write("insert", t.lots, [lot(1, datetime(2025, 1, 1))]))
    with engine.begin() as conn, pytest.raises(OperationalError):
        conn.exec_driver_sql(*_one(statement))
    with engine.connect() as conn:
        assert conn.execute(select(t.lots.c.lot_key)).all() == []
