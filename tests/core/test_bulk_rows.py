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
