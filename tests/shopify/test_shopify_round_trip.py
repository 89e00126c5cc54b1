"""Sync, run, push and sync again against a shop that stamps our own writes: the
round trip settles instead of pushing for ever."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fake_shopify import FakeShopify
from shopify_kit import customer, order, put
from typer.testing import CliRunner

from loyaltykit import open_ledger
from loyaltykit.adapters.shopify import cli
from loyaltykit.rules.program import Program

PROGRAM = Program.model_validate({
    "id": "round-trip", "version": 1, "effective_from": "2024-01-01T00:00:00+00:00",
    "timezone": "UTC", "currency": "USD",
    "tiers": {"window": {"type": "lifetime"}, "levels": [
        {"id": "member"},
        {"id": "gold", "qualify": {"net_spend": "50.00"}, "benefits": {"tags": ["tier-gold"]}}]},
})


def test_our_own_writes_echoed_back_settle_after_one_round(env: FakeShopify,
                                                             tmp_path: Path) -> None:
    put(env, customer(1, "2024-05-01T00:00:00Z"), order(1, "2024-05-02T00:00:00Z"))
    db = str(tmp_path / "ledger.db")
    open_ledger(db, PROGRAM).close()
    runner = CliRunner()

    def round_trip(day: int) -> tuple[str, str]:
        """Sync, run the clock to the day, push; our writes are stamped an hour later."""
        synced = runner.invoke(cli.app, ["sync", "--db", db])
        assert synced.exit_code == 0, synced.output
        with open_ledger(db) as ledger:
            ledger.run(datetime.fromisoformat(f"2024-05-{day:02d}T00:00:00+00:00"))
        env.touched_at = f"2024-05-{day:02d}T01:00:00Z"
        pushed = runner.invoke(cli.app, ["push", "--db", db])
        assert pushed.exit_code == 0, pushed.output
        return synced.output, pushed.output

    _, pushed = round_trip(10)  # gold: the tag and the profile metafields
    assert env.customers["gid://shopify/Customer/1"]["tags"] == ["tier-gold"]
    assert "sent 2, failed 0" in pushed
    # the tag we added comes back as a change to the customer: one more profile
    assert "sent 1, failed 0" in round_trip(11)[1]
    # the metafields' stamp alone: a version with nothing changed, which pushes nothing
    synced, pushed = round_trip(12)
    assert "customers: 1 read in 1 pages, 1 new events" in synced
    assert "sent 0, failed 0" in pushed
    assert env.customers["gid://shopify/Customer/1"]["updatedAt"] == "2024-05-11T01:00:00Z"
    synced, pushed = round_trip(13)
    assert "customers: 1 read in 1 pages, 0 new events" in synced
    assert "sent 0, failed 0" in pushed
