"""The loyalty program format: typed models validated with pydantic v2.

A program is data. These models are the single source of truth for the YAML format, the
JSON Schema that editors use (``loyaltykit schema``) and the reference docs. Semantic checks
that span several fields live in :mod:`loyaltykit.rules.checks`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from loyaltykit.money import Rounding, is_valid_currency
from loyaltykit.rules.fields import WHOLE, Amount
from loyaltykit.rules.scenarios import Scenario

Id = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64,
                          description="Lowercase identifier: letters, digits, '-', '_', '.'")]
Factor = Annotated[Decimal, Field(gt=0, le=100, description="A multiplier such as 2 or 1.5")]


Points = Annotated[int, Field(ge=0, description="A whole number of points, 0 or more"), WHOLE]
Days = Annotated[int, Field(gt=0, le=36500, description="A whole number of days, 1 to 36500"),
                 WHOLE]
BonusPoints = Annotated[Points, Field(description="Points the bonus credits, 0 or more")]
MinAmount = Annotated[Decimal, Field(
    ge=0, description="The order's paid amount must be at least this, e.g. '50.00'")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- earning


class PointsPerAmount(_Model):
    """``points`` points for every ``amount`` paid, rounded with ``rounding`` once per order."""

    type: Literal["points_per_amount"] = "points_per_amount"
    amount: Annotated[Decimal, Field(
        gt=0, description="The money for which 'points' are earned, e.g. '10.00'")] = Decimal("1")
    points: Annotated[int, Field(
        gt=0, description="Points per 'amount' paid, rounded once per order",
    ), WHOLE] = 1
    rounding: Rounding = Rounding.FLOOR


class MemberDay(_Model):
    """A monthly day (e.g. the 30th) on which orders earn ``factor`` times the base points.

    In months without that day the member day falls on the last day of the month when
    ``clamp_to_month_end`` is true, and is skipped otherwise.
    """

    type: Literal["member_day"]
    id: Id
    day_of_month: Annotated[int, Field(
        ge=1, le=31, description="Day of the month, 1 to 31; see clamp_to_month_end for 29-31",
    ), WHOLE]
    factor: Factor
    clamp_to_month_end: bool = False


class SpecificDates(_Model):
    type: Literal["dates"]
    id: Id
    dates: Annotated[list[date], Field(min_length=1)]
    factor: Factor


class DateWindow(_Model):
    """Orders placed from ``start`` to ``end`` inclusive (calendar days in the shop's timezone)."""

    type: Literal["date_window"]
    id: Id
    start: date
    end: date
    factor: Factor


class CategoryMultiplier(_Model):
    """Line items in these categories earn ``factor`` times; needs order lines."""

    type: Literal["category"]
    id: Id
    categories: Annotated[list[str], Field(min_length=1)]
    factor: Factor


class SkuMultiplier(_Model):
    """Line items with these SKUs earn ``factor`` times; needs order lines."""

    type: Literal["sku"]
    id: Id
    skus: Annotated[list[str], Field(min_length=1)]
    factor: Factor


Multiplier = Annotated[
    MemberDay | SpecificDates | DateWindow | CategoryMultiplier | SkuMultiplier,
    Field(discriminator="type"),
]


class FirstOrderBonus(_Model):
    """A fixed bonus on a customer's first paid order."""

    type: Literal["first_order"]
    id: Id
    points: BonusPoints
    min_amount: MinAmount = Decimal("0")


class BirthdayBonus(_Model):
    """A fixed bonus on the first paid order placed in the customer's birthday month,
    once per calendar year (shop timezone)."""

    type: Literal["birthday_month"]
    id: Id
    points: BonusPoints
    min_amount: MinAmount = Decimal("0")


class CampaignBonus(_Model):
    """A fixed bonus on the first qualifying order in a campaign window, once per customer."""

    type: Literal["campaign"]
    id: Id
    points: BonusPoints
    start: date
    end: date
    min_amount: MinAmount = Decimal("0")


Bonus = Annotated[FirstOrderBonus | BirthdayBonus | CampaignBonus, Field(discriminator="type")]


class Caps(_Model):
    """Upper limits on earned points.

    Bonuses count towards the yearly cap, not the per-order cap; reversals do not give
    room back under the yearly cap.
    """

    per_order: Points | None = Field(
        default=None, description="Most points one order earns, bonuses not included")
    per_customer_per_year: Points | None = Field(
        default=None, description="Most points a customer earns in a calendar year of the "
        "shop's timezone, bonuses included")


class Earning(_Model):
    """How orders earn points.

    ``combine`` states how the factors that apply to one order line (calendar multipliers,
    product multipliers and the tier's ``earn_multiplier``) combine:

    - ``multiply``: the product of all factors (2x member day at a 1.5x tier = 3x)
    - ``max``: only the largest factor applies (= 2x)
    - ``add``: the increments add up, 1 + sum(factor - 1) (= 2.5x)
    """

    base: PointsPerAmount = PointsPerAmount()
    combine: Literal["multiply", "max", "add"] = "multiply"
    multipliers: list[Multiplier] = []
    bonuses: list[Bonus] = []
    caps: Caps = Caps()


# --------------------------------------------------------------------------- tiers


class Qualification(_Model):
    """Thresholds over the tier window: ``match: all`` needs each one stated, ``any`` one."""

    net_spend: Amount | None = Field(default=None, description="Paid minus refunded")
    paid_orders: Annotated[int, Field(ge=1), WHOLE] | None = Field(
        default=None, description="Paid orders placed in the tier window, 1 or more")
    points_earned: Annotated[int, Field(ge=1), WHOLE] | None = Field(
        default=None, description="Points earned in the tier window, 1 or more")
    match: Literal["all", "any"] = "all"


class TierBenefits(_Model):
    earn_multiplier: Factor = Decimal("1")
    discount_percent: Annotated[Decimal, Field(ge=0, le=100)] = Decimal("0")
    tags: list[str] = []


class TierLevel(_Model):
    id: Id
    name: str = ""
    qualify: Qualification | None = Field(
        default=None, description="Omitted only on the first (entry) level")
    benefits: TierBenefits = TierBenefits()


class LifetimeWindow(_Model):
    type: Literal["lifetime"]


class CalendarYearWindow(_Model):
    """Orders in the current calendar year of the shop's timezone."""

    type: Literal["calendar_year"]


class RollingWindow(_Model):
    """Orders of the last ``days`` days, an exact duration counted back from now."""

    type: Literal["rolling_days"]
    days: Days = Field(description="Length of the window in days, counted back from now")


TierWindow = Annotated[
    LifetimeWindow | CalendarYearWindow | RollingWindow, Field(discriminator="type")]


class NoRetention(_Model):
    """Pure rolling: a customer who stops qualifying drops at once."""

    type: Literal["none"]


class GracePeriod(_Model):
    """A customer who stops qualifying keeps the tier ``days`` more days before the downgrade."""

    type: Literal["grace_period"]
    days: Days = Field(description="Days a customer keeps the tier after no longer qualifying")


Retention = Annotated[NoRetention | GracePeriod, Field(discriminator="type")]


class Tiers(_Model):
    window: TierWindow = LifetimeWindow(type="lifetime")
    retention: Retention = NoRetention(type="none")
    levels: Annotated[list[TierLevel], Field(min_length=1)]


# --------------------------------------------------------------------------- rewards


class DiscountSpec(_Model):
    value_type: Literal["percentage", "fixed_amount"]
    value: Annotated[Decimal, Field(
        gt=0, description="Percent off (0-100) or money off in the program currency")]
    valid_days: Days | None = Field(
        default=30, description="Days the code stays valid after it is issued; null for no end")


class PointsReward(_Model):
    type: Literal["points"]
    points: Annotated[int, Field(gt=0, description="Points credited, 1 or more"), WHOLE]


class DiscountReward(_Model):
    type: Literal["discount"]
    discount: DiscountSpec


Reward = Annotated[PointsReward | DiscountReward, Field(discriminator="type")]


class ReferralTrigger(_Model):
    """The referee's first paid order of at least ``min_order_amount`` triggers the rewards."""

    min_order_amount: Amount = Field(
        default=Decimal("0"), description="Smallest paid amount of the referee's order that "
        "triggers the rewards, e.g. '50.00'")


class Referrals(_Model):
    trigger: ReferralTrigger = ReferralTrigger()
    referee_reward: Reward | None = None
    referrer_reward: Reward | None = None
    referrer_delay_days: Annotated[int, Field(
        ge=0, le=3650, description="Days from the referee's qualifying order to the referrer's "
        "reward, 0 to 3650; cancelling or fully refunding the order meanwhile voids it",
    ), WHOLE] = 0
    cap_per_referrer_per_year: Annotated[int, Field(ge=1), WHOLE] | None = Field(
        default=None, description="Referrer rewards per calendar year in the shop's timezone; "
        "referrals beyond it are flagged, not paid")
    block_self_referral_on: list[Literal["email", "phone", "address"]] = [
        "email", "phone", "address"]


class Expiry(_Model):
    """Each credit is a lot that expires ``days`` days after it was credited."""

    days: Days = Field(description="Days after it was credited that each credit expires")


class Segments(_Model):
    """Lifecycle by days since the last paid order (the shops' 90/180/270/360 rule of thumb)."""

    active_days: Days = Field(
        default=90, description="Active while the last paid order is at most this many days old")
    silent_days: Days = Field(
        default=180, description="Silent up to this many days, after active_days")
    sleeping_days: Days = Field(
        default=270, description="Sleeping up to this many days, after silent_days")
    at_risk_days: Days = Field(
        default=360, description="At risk up to this many days, after sleeping_days; lost after")


class RedemptionReward(_Model):
    id: Id
    name: str = ""
    points: Annotated[int, Field(gt=0, description="Points the customer spends, 1 or more"), WHOLE]
    discount: DiscountSpec


class Redemption(_Model):
    point_value: Amount | None = Field(
        default=None, description="Money value of one point, for the liability report")
    rewards: list[RedemptionReward] = []


# --------------------------------------------------------------------------- program


class Program(_Model):
    """One version of a shop's loyalty program."""

    id: Id
    version: Annotated[int, Field(
        ge=1, description="Version number; a later version has a higher number and takes "
        "effect later",
    ), WHOLE]
    effective_from: AwareDatetime
    timezone: str = Field(description="IANA name, e.g. Asia/Shanghai")
    currency: str = Field(description="ISO 4217 code, e.g. CNY")
    name: str = ""
    earning: Earning = Earning()
    tiers: Tiers | None = None
    referrals: Referrals | None = None
    expiry: Expiry | None = None
    segments: Segments = Segments()
    redemption: Redemption = Redemption()
    tests: list[Scenario] = Field(
        default=[], exclude=True,
        description="Scenario tests shipped with the program (run by `loyaltykit test`); "
        "they do not change what the program does, so they are left out of its digest")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}; use an IANA name such as "
                             "Asia/Shanghai or America/New_York") from None
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if not is_valid_currency(value):
            raise ValueError(f"unknown currency {value!r}; use an ISO 4217 code such as CNY")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def label(self) -> str:
        return f"{self.id}@v{self.version}"

    def tier_ids(self) -> list[str]:
        return [level.id for level in self.tiers.levels] if self.tiers else []


def json_schema() -> dict[str, object]:
    """The JSON Schema of the program format, for editors and ``loyaltykit schema``."""
    schema = Program.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "loyaltykit program"
    return schema


