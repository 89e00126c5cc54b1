"""Fixtures for the Shopify adapter tests: the real Admin schema, a local Shopify over HTTP,
an in-memory ledger and a fake clock (see shopify_kit)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator

import graphql
import pytest
from fake_shopify import API_PATH, TOKEN, FakeShopify
from shopify_kit import FIXTURES, NOW, FakeTime, MemoryLedger, make_client

from loyaltykit.adapters.shopify.client import ShopifyClient
from loyaltykit.clock import FixedClock


@pytest.fixture(scope="session")
def schema() -> graphql.GraphQLSchema:
    with gzip.open(FIXTURES / "admin_schema_2025-01.json.gz", "rt", encoding="utf-8") as f:
        return graphql.build_client_schema(json.load(f)["data"])


@pytest.fixture()
def shop(schema: graphql.GraphQLSchema) -> Iterator[FakeShopify]:
    fake = FakeShopify(schema)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture()
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture()
def client(shop: FakeShopify, fake_time: FakeTime) -> Iterator[ShopifyClient]:
    c = make_client(shop, fake_time)
    yield c
    c.close()


@pytest.fixture()
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture()
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture()
def env(shop: FakeShopify, monkeypatch: pytest.MonkeyPatch) -> FakeShopify:
    """The local shop, named to the CLI through the environment."""
    monkeypatch.setenv("LOYALTYKIT_SHOPIFY_SHOP", "teststore")
    monkeypatch.setenv("LOYALTYKIT_SHOPIFY_TOKEN", TOKEN)
    monkeypatch.setenv("LOYALTYKIT_SHOPIFY_API_URL", shop.url + API_PATH)
    return shop
