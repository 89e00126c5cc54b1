"""Fixtures for the WooCommerce adapter tests: the local WooCommerce over HTTP serving the
official example payloads, a client with instant retries, and a real SQLite ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_woo import FakeWoo
from woo_kit import make_client

from loyaltykit import open_ledger
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.ledger import Ledger


@pytest.fixture
def woo() -> Iterator[FakeWoo]:
    fake = FakeWoo.with_examples()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def sleeps() -> list[float]:
    """Waits the retry policy asked for; nothing actually sleeps."""
    return []


@pytest.fixture
def client(woo: FakeWoo, sleeps: list[float]) -> Iterator[WooClient]:
    c = make_client(woo.url, sleeps)
    yield c
    c.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(tmp_path / "ledger.db") as led:
        yield led
