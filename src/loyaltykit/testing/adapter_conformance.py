"""Conformance suites for adapters: pulling events into a sink, pushing commands to a platform.

An adapter is correct when a crash at any point loses nothing and a retry duplicates
nothing. These suites check exactly that against the adapter's own test double of its
platform (a recorded API, a local HTTP server, a folder of export files), so an adapter
written by a third party gets the same guarantees as the bundled ones.

Pull side: provide ``pull``, a function that runs one complete sync or import of the
adapter into the sink it is given, against the same platform data every time::

    class TestMyShopPull(PullConformance):
        @pytest.fixture
        def pull(self, fake_platform):
            return lambda sink: my_adapter.sync(fake_platform.client(), sink, clock=CLOCK)

Push side: provide ``push_harness``, an object with ``push(outbox)`` (drain the outbox
into the platform double) and ``discount_codes()`` (the codes that now exist on it)::

    class TestMyShopPush(PushConformance):
        @pytest.fixture
        def push_harness(self, fake_platform):
            return MyHarness(fake_platform)

Set ``uses_cursor = False`` on a pull suite for adapters that read files without cursors,
and override the ``customer_ids`` fixture when the platform double knows other customers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Protocol

import pytest

from loyaltykit.adapters.base import EventSink, OutboxSource
from loyaltykit.commands import (
    Command,
    IssueDiscount,
    SetCustomerTags,
    UpdateCustomerProfile,
    discount_code,
)
from loyaltykit.events import OrderPaid, to_payload, validate_event
from loyaltykit.money import is_valid_currency
from loyaltykit.testing.fakes import FakeOutbox, RecordingSink, SimulatedCrash

Pull = Callable[[EventSink], object]


class PushHarness(Protocol):
    def push(self, outbox: OutboxSource) -> object: ...

    def discount_codes(self) -> Sequence[str]:
        """Every discount code that exists on the platform double, duplicates included."""
        ...


class PullConformance:
    """Subclass with a ``pull`` fixture; see the module docstring."""

    uses_cursor = True

    @pytest.fixture
    def pull(self) -> Pull:
        raise NotImplementedError("override the pull fixture: return a function that runs one "
                                  "sync or import of the adapter into the sink it is given")

    def _clean(self, pull: Pull) -> RecordingSink:
        sink = RecordingSink()
        pull(sink)
        assert sink.events, "the pull produced no events: give the platform double some data"
        return sink

    def test_events_are_valid(self, pull: Pull) -> None:
        for event in self._clean(pull).events.values():
            validate_event(event)
            if isinstance(event, OrderPaid):
                assert is_valid_currency(event.currency), f"{event.key}: {event.currency!r}"

    def test_the_same_data_gives_the_same_events(self, pull: Pull) -> None:
        first, second = self._clean(pull), self._clean(pull)
        assert first.events.keys() == second.events.keys()
        for key, event in first.events.items():
            assert to_payload(event) == to_payload(second.events[key]), key

    def test_pulling_again_adds_nothing(self, pull: Pull) -> None:
        sink = self._clean(pull)
        before = dict(sink.events)
        pull(sink)
        added = sink.events.keys() - before.keys()
        assert not added, f"a second pull of the same data added {sorted(added)}"

    def test_a_crash_at_any_point_loses_nothing(self, pull: Pull) -> None:
        clean = self._clean(pull)
        for crash_at in range(1, len(clean.calls) + 1):
            sink = RecordingSink(crash_on_call=crash_at)
            with pytest.raises(SimulatedCrash):
                pull(sink)
            sink.crash_on_call = None
            pull(sink)
            missing = clean.events.keys() - sink.events.keys()
            assert not missing, f"after a crash in ingest call {crash_at}: lost {sorted(missing)}"

    def test_the_cursor_travels_with_the_events(self, pull: Pull) -> None:
        if not self.uses_cursor:
            pytest.skip("this adapter keeps no cursor (uses_cursor = False)")
        calls = [call for call in self._clean(pull).calls if call.events]
        assert calls and all(call.cursor is not None for call in calls), \
            "every ingest call with events must pass the cursor those events reach"


class PushConformance:
    """Subclass with a ``push_harness`` fixture; see the module docstring."""

    @pytest.fixture
    def push_harness(self) -> PushHarness:
        raise NotImplementedError("override the push_harness fixture: return an object with "
                                  "push(outbox) and discount_codes()")

    @pytest.fixture
    def customer_ids(self) -> list[str]:
        return ["1001", "1002"]

    @pytest.fixture
    def commands(self, customer_ids: list[str]) -> list[Command]:
        return sample_commands(customer_ids)

    def test_every_command_is_marked_once(self, push_harness: PushHarness,
                                          commands: list[Command]) -> None:
        outbox = FakeOutbox(commands)
        push_harness.push(outbox)
        marked = [d.item_id for d in outbox.deliveries]
        assert sorted(marked) == list(range(1, len(commands) + 1))
        failed = [d for d in outbox.deliveries if d.outcome == "failed"]
        assert not failed, f"deliveries failed against the platform double: {failed}"

    def test_discount_codes_are_the_ledgers(self, push_harness: PushHarness,
                                            commands: list[Command]) -> None:
        push_harness.push(FakeOutbox(commands))
        wanted = sorted(c.code for c in commands if isinstance(c, IssueDiscount))
        assert sorted(push_harness.discount_codes()) == wanted

    def test_a_lost_acknowledgement_creates_no_duplicate(
            self, push_harness: PushHarness, commands: list[Command]) -> None:
        outbox = FakeOutbox(commands, lose_acks=1)
        with pytest.raises(SimulatedCrash):
            push_harness.push(outbox)
        push_harness.push(outbox)
        codes = list(push_harness.discount_codes())
        assert len(codes) == len(set(codes)), f"duplicate discount codes: {codes}"
        assert not outbox.pending_commands(limit=1000)


def sample_commands(customer_ids: Sequence[str]) -> list[Command]:
    """One command of each kind per customer, as the engine writes them."""
    at = datetime(2025, 3, 1, 2, 0, tzinfo=timezone.utc)
    commands: list[Command] = []
    for customer in customer_ids:
        key = f"discount:referral:{customer}:referrer"
        commands += [
            IssueDiscount(key=key, customer_id=customer, code=discount_code(key),
                          value_type="fixed_amount", value=Decimal("10.00"), currency="USD",
                          starts_at=at, ends_at=at + timedelta(days=30),
                          reason="referrer reward for referral"),
            SetCustomerTags(key=f"tags:tier:{customer}", customer_id=customer, add=("VIP",),
                            remove=()),
            UpdateCustomerProfile(key=f"profile:{customer}", customer_id=customer,
                                  points_balance=120, tier="vip", segment="active", as_of=at),
        ]
    return commands
