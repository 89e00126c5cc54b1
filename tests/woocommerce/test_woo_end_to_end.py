"""From a WooCommerce store into a real SQLite ledger and back: sync the official example
orders and customers, run the program, redeem, push the resulting coupon and customer meta.
Status flapping and cancellation go through the real engine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fake_woo import FIXTURES, FakeWoo

from loyaltykit import open_ledger
from loyaltykit.adapters.woocommerce import incremental
from loyaltykit.adapters.woocommerce.client import WooClient
from loyaltykit.adapters.woocommerce.push import Pusher
from loyaltykit.clock import FixedClock
from loyaltykit.ledger import Ledger
from loyaltykit.rules.loader import load_program

PAID_AT = datetime(2017, 4, 1, 10, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


@pytest.fixture
def program_ledger(tmp_path: Path) -> Iterator[Ledger]:
    program = load_program(FIXTURES / "program-usd.yaml")  # 10 points per USD 1.00
    with open_ledger(tmp_path / "shop.db", program) as ledger:
        yield ledger


def sync(client: WooClient, ledger: Ledger, at: datetime) -> None:
    incremental.sync(client, ledger, clock=FixedClock(at))
    ledger.run(at)


def test_sync_run_redeem_and_push_back(woo: FakeWoo, client: WooClient,
                                       program_ledger: Ledger) -> None:
    ledger = program_ledger
    woo.add_order(800, customer_id=25, status="completed", total="120.00", modified=PAID_AT,
                  paid=PAID_AT)
    sync(client, ledger, PAID_AT + DAY)
    john, joao = ledger.customer("25"), ledger.customer("26")
    assert john.balance == 1200 and john.tier == "silver"  # 120.00 paid, net spend >= 100
    # example order 723: 39.00 paid, then refunds of 10.00 and 9.00 reverse 19/39 of 390
    assert joao.balance == 390 - 190

    ledger.redeem("25", "five-off", at=PAID_AT + 2 * DAY, redemption_id="r1")
    report = Pusher(client, ledger).run()
    assert report.failed == [] and report.stopped is None
    assert ledger.pending_commands() == []

    (coupon,) = woo.coupons.values()
    assert coupon["email_restrictions"] == ["john.doe@example.com"]
    assert (coupon["discount_type"], coupon["amount"]) == ("fixed_cart", "5.00")
    assert coupon["date_expires_gmt"] == "2017-05-03T10:00:00"
    meta = woo.meta(woo.customers[25])
    assert meta["_loyaltykit_points"] == "900" and meta["_loyaltykit_tier"] == "silver"
    assert meta["_loyaltykit_tags"] == "tier-silver"
    assert woo.meta(woo.customers[26])["_loyaltykit_points"] == "200"

    writes = len([r for r in woo.requests if r.method != "GET"])
    assert Pusher(client, ledger).run().sent == 0  # nothing left; nothing sent twice
    assert len([r for r in woo.requests if r.method != "GET"]) == writes


def test_status_flapping_never_credits_twice(woo: FakeWoo, client: WooClient,
                                             program_ledger: Ledger) -> None:
    ledger = program_ledger
    woo.add_order(800, customer_id=25, status="completed", total="120.00", modified=PAID_AT,
                  paid=PAID_AT)
    sync(client, ledger, PAID_AT + DAY)
    for hours, status in ((30, "processing"), (32, "completed"), (34, "processing")):
        woo.update_order(800, PAID_AT + timedelta(hours=hours), status=status)
        sync(client, ledger, PAID_AT + timedelta(hours=hours + 1))
    john = ledger.customer("25")
    assert john.balance == 1200
    assert [e.kind for e in john.history if e.order_id == "800"] == ["earn"]


def test_a_cancelled_order_gives_its_points_back(woo: FakeWoo, client: WooClient,
                                                 program_ledger: Ledger) -> None:
    ledger = program_ledger
    woo.add_order(800, customer_id=25, status="processing", total="120.00", modified=PAID_AT,
                  paid=PAID_AT)
    sync(client, ledger, PAID_AT + DAY)
    assert ledger.customer("25").balance == 1200
    woo.update_order(800, PAID_AT + 2 * DAY, status="cancelled")
    sync(client, ledger, PAID_AT + 3 * DAY)
    assert ledger.customer("25").balance == 0
