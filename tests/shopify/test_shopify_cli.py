"""Settings from environment and config file, and the ``shopify`` command group end to end."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from fake_shopify import TOKEN, FakeShopify
from shopify_kit import MemoryLedger, customer, order, put
from typer.testing import CliRunner

from loyaltykit import open_ledger
from loyaltykit.adapters.shopify import cli
from loyaltykit.adapters.shopify.config import load_settings
from loyaltykit.commands import IssueDiscount, SetCustomerTags
from loyaltykit.errors import ConfigurationError

AT = datetime(2024, 6, 1, tzinfo=timezone.utc)


def test_settings_come_from_the_environment_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "loyaltykit.yaml"
    config.write_text("shopify:\n  shop: filestore\n  token: shpat_from_file\n"
                      "  api_version: '2025-01'\n")
    settings = load_settings(config, environ={"LOYALTYKIT_SHOPIFY_SHOP": "envstore"})
    assert (settings.shop, settings.token, settings.api_version) == (
        "envstore", "shpat_from_file", "2025-01")
    assert "shpat_from_file" not in repr(settings)


def test_missing_or_unknown_settings_say_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LOYALTYKIT_SHOPIFY_TOKEN"):
        load_settings(environ={"LOYALTYKIT_SHOPIFY_SHOP": "s"})
    config = tmp_path / "c.yaml"
    config.write_text("shopify:\n  shop: s\n  tokne: x\n")
    with pytest.raises(ConfigurationError, match=r"shopify\.tokne"):
        load_settings(config, environ={})


def test_sync_into_a_real_ledger_then_nothing_new(env: FakeShopify, tmp_path: Path) -> None:
    put(env, customer(1, "2024-05-01T00:00:00Z"),
        order(1, "2024-05-02T00:00:00Z", customer_id=1))
    db = str(tmp_path / "ledger.db")
    runner = CliRunner()
    first = runner.invoke(cli.app, ["sync", "--db", db])
    assert first.exit_code == 0, first.output
    assert "orders: 1 read in 1 pages, 1 new events" in first.output
    second = runner.invoke(cli.app, ["sync", "--db", db])
    assert "orders: 1 read in 1 pages, 0 new events" in second.output
    with open_ledger(db) as ledger:
        assert ledger.cursor("shopify:teststore:orders") is not None
    assert TOKEN not in first.output + second.output


def test_a_bad_token_exits_with_a_message_and_no_secret(
        env: FakeShopify, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOYALTYKIT_SHOPIFY_TOKEN", "shpat_not_valid_777")
    result = CliRunner().invoke(cli.app, ["sync", "--db", str(tmp_path / "l.db")])
    assert result.exit_code == 1
    assert "rejected the access token" in result.output
    assert "shpat_not_valid_777" not in result.output


def test_push_dry_run_prints_the_calls_and_sends_nothing(
        env: FakeShopify, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = MemoryLedger()
    ledger.add_commands([
        IssueDiscount(key="k1", customer_id="7", code="LK-AAAAAAAAAA", value_type="percentage",
                      value=Decimal("10"), currency="USD", starts_at=AT, ends_at=None,
                      reason="tier"),
        SetCustomerTags(key="k2", customer_id="7", add=("tier-gold",), remove=("tier-silver",)),
    ])
    monkeypatch.setattr(cli, "open_ledger", lambda db: ledger)
    monkeypatch.delenv("LOYALTYKIT_SHOPIFY_TOKEN")  # a dry run needs no credentials
    result = CliRunner().invoke(cli.app, ["push", "--db", "x.db", "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    assert [[c["call"] for c in entry["calls"]] for entry in lines] == [
        ["discount_create"], ["tags_remove", "tags_add"]]
    assert lines[0]["calls"][0]["variables"]["discount"]["code"] == "LK-AAAAAAAAAA"
    assert env.calls == [] and ledger.states() == {1: "pending", 2: "pending"}


def test_push_sends_and_reports(env: FakeShopify, monkeypatch: pytest.MonkeyPatch) -> None:
    put(env, customer(7, "2024-01-01T00:00:00Z", tags=["tier-silver"]))
    ledger = MemoryLedger()
    ledger.add_commands([
        SetCustomerTags(key="k2", customer_id="7", add=("tier-gold",), remove=("tier-silver",)),
        SetCustomerTags(key="k3", customer_id="8", add=("tier-gold",), remove=()),
    ])
    monkeypatch.setattr(cli, "open_ledger", lambda db: ledger)
    result = CliRunner().invoke(cli.app, ["push", "--db", "x.db"])
    assert result.exit_code == 1  # one item failed
    assert "sent 1, failed 1" in result.output and "Customer does not exist" in result.output
    assert env.customers["gid://shopify/Customer/7"]["tags"] == ["tier-gold"]
