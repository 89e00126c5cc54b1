"""Scenario tests of a loyalty program: given a shop's history and a clock, what must hold.

A scenario is data, like the program it tests, so it can live in a ``*.loyalty-test.yaml``
file beside the program or inline under the program's ``tests:`` (the way decision tables
ship their own tests). These models only describe scenarios; running them is the job of
:mod:`loyaltykit.testing`, and nothing here does I/O.

Every expectation is optional: a scenario states what it cares about and nothing else, except
that an event the ledger refuses fails the scenario unless ``rejected`` lists it, because a
silently refused order usually means the scenario does not test what its author thinks.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from loyaltykit.rules.fields import WHOLE, Amount

Ref = Annotated[str, Field(min_length=1, max_length=100)]
EntryKind = Literal["earn", "bonus", "referral", "reversal", "expiry", "redemption", "adjustment"]
ReferralStatus = Literal["pending", "qualified", "rewarded", "flagged", "void"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- given


class GivenCustomer(_Model):
    """A customer record as the shop platform knows it."""

    id: Ref
    at: AwareDatetime | None = Field(
        default=None, description="When the shop learned of the customer; defaults to the "
        "scenario's first event, so the customer exists before their first order")
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    birthday: date | None = None
    referral_code: str | None = Field(default=None, description="The customer's own code")
    attributes: dict[str, str] = {}


class GivenLine(_Model):
    sku: Ref
    amount: Amount
    quantity: Annotated[int, Field(ge=1), WHOLE] = 1
    category: str | None = None


class Repeat(_Model):
    """The same order placed ``times`` times, ``every_days`` apart; ids get ``-1``, ``-2``..."""

    times: Annotated[int, Field(ge=2, le=1000), WHOLE]
    every_days: Annotated[int, Field(ge=0, le=3650), WHOLE] = 1


class GivenOrder(_Model):
    """A paid order. ``amount`` defaults to the sum of the lines."""

    id: Ref
    customer: Ref
    at: AwareDatetime
    amount: Amount | None = None
    currency: str | None = Field(default=None, description="Defaults to the program currency")
    lines: list[GivenLine] = []
    repeat: Repeat | None = None

    @model_validator(mode="after")
    def _amount_or_lines(self) -> GivenOrder:
        if self.amount is None and not self.lines:
            raise ValueError(f"order {self.id!r} needs an amount or lines")
        return self

    @property
    def paid(self) -> Decimal:
        if self.amount is not None:
            return self.amount
        return sum((line.amount for line in self.lines), Decimal(0))


class GivenRefund(_Model):
    """Money back on an order; without ``amount``, whatever was not refunded yet."""

    order: Ref
    at: AwareDatetime
    amount: Annotated[Decimal, Field(gt=0)] | None = None
    id: Ref | None = Field(default=None, description="Defaults to '<order>-refund-<n>'")


class GivenCancellation(_Model):
    order: Ref
    at: AwareDatetime


class GivenReferral(_Model):
    """``referee`` arrived through the referral code ``code``."""

    referee: Ref
    code: Ref
    at: AwareDatetime


class GivenRedemption(_Model):
    customer: Ref
    reward: Ref
    at: AwareDatetime
    id: Ref | None = Field(default=None, description="Defaults to '<customer>-redeem-<n>'")


class Given(_Model):
    """The shop's history, in any order: the ledger processes it in time order."""

    customers: list[GivenCustomer] = []
    orders: list[GivenOrder] = []
    refunds: list[GivenRefund] = []
    cancellations: list[GivenCancellation] = []
    referrals: list[GivenReferral] = []
    redemptions: list[GivenRedemption] = []


# --------------------------------------------------------------------------- expect


class ExpectEntry(_Model):
    """One ledger entry; only the fields written are compared."""

    kind: EntryKind | None = None
    points: int | None = None
    rule: str | None = Field(default=None, description="Rule id, e.g. earn.base or welcome")
    order: str | None = None
    reason: str | None = Field(default=None, description="Text the reason must contain")


class ExpectReferral(_Model):
    """A referral, named by its referee."""

    status: ReferralStatus | None = None
    referrer: str | None = None
    reason: str | None = Field(default=None, description="Text the reason must contain")


class ExpectCustomer(_Model):
    balance: int | None = None
    tier: str | None = None
    segment: Literal["prospect", "active", "silent", "sleeping", "at_risk", "lost"] | None = None
    lifetime_earned: int | None = None
    discount_percent: Decimal | None = None
    tier_path: list[str] | None = Field(
        default=None, description="Every tier the customer was in, in order, e.g. "
        "[member, silver, gold]")
    progress: str | None = Field(
        default=None, description="Text the progress to the next tier must contain")
    entries: list[ExpectEntry] | None = Field(
        default=None, description="All of the customer's ledger entries, in ledger order")
    referral: ExpectReferral | None = Field(
        default=None, description="The referral through which this customer arrived")


class ExpectOrder(_Model):
    points: int | None = Field(
        default=None, description="Net points the order brought: earned, bonuses and the "
        "referee reward, minus reversals")
    earned: int | None = Field(default=None, description="The base earning entry alone")
    bonuses: dict[str, int] | None = Field(
        default=None, description="Bonus points by rule id; {} means no bonus")
    reversed: int | None = Field(default=None, description="Points taken back by refunds")


class ExpectDiscount(_Model):
    """A discount code the ledger asked the platform to create."""

    customer: Ref
    value_type: Literal["percentage", "fixed_amount"] | None = None
    value: Decimal | None = None
    reason: str | None = Field(default=None, description="Text the reason must contain")


class ExpectRejected(_Model):
    """An event the ledger refused, named by its key (``order:o1:paid``, ``refund:r1``)."""

    event: str
    reason: str | None = Field(default=None, description="Text the reason must contain")


class Expectations(_Model):
    customers: dict[str, ExpectCustomer] = {}
    orders: dict[str, ExpectOrder] = {}
    referrals: dict[str, ExpectReferral] = Field(
        default={}, description="Referrals by referee id")
    discounts: list[ExpectDiscount] | None = Field(
        default=None, description="Every discount code issued so far ([] for none)")
    rejected: list[ExpectRejected] = Field(
        default=[], description="Every refused event; any other refused event fails")


class Checkpoint(_Model):
    """Expectations at a later instant of the same history."""

    as_of: AwareDatetime
    expect: Expectations


class Scenario(_Model):
    """One named case: the history, the clock and what must hold.

    ``as_of`` is the instant the ledger is run to before ``expect`` is checked (default: the
    last given event); ``then`` checks the same ledger at later instants, e.g. after a
    referral reward's delay or when an order leaves a rolling tier window.
    """

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    given: Given = Given()
    as_of: AwareDatetime | None = None
    expect: Expectations | None = None
    then: list[Checkpoint] = []

    @model_validator(mode="after")
    def _something_to_check(self) -> Scenario:
        if self.expect is None and not self.then:
            raise ValueError(f"scenario {self.name!r} has nothing to check: add 'expect'")
        return self


class ScenarioFile(_Model):
    """A ``*.loyalty-test.yaml`` file: the program it tests and its scenarios."""

    program: str | Annotated[list[str], Field(min_length=1)] = Field(
        description="Program file(s), relative to this file; several files are the versions "
        "of one program")
    scenarios: Annotated[list[Scenario], Field(min_length=1)]

    @property
    def program_paths(self) -> list[str]:
        return [self.program] if isinstance(self.program, str) else list(self.program)


def scenario_file_schema() -> dict[str, object]:
    """JSON Schema of scenario files, for editors."""
    schema = ScenarioFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "loyaltykit scenario tests"
    return schema
