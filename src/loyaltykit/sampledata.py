"""A deterministic synthetic tea shop, written as canonical files.

The shop exists to exercise loyalty rules: customers join over the whole period, order
frequency is heavy-tailed (a few very loyal customers, many one-off buyers), orders fall on
every day with more on the monthly member day (the 30th) and a spike on double 11, some orders
are cancelled or refunded in part or in full, and some customers arrive through referrals,
including self-referrals (same phone, email or address as the referrer) and unknown codes.

Everything comes from one ``random.Random(seed)`` using only integer arithmetic and the four
float operations, which are exact-rounded everywhere, so the same arguments give the same bytes
on every platform. Orders are produced in time order by merging each customer's next order
through a heap, so memory grows with customers, never with orders.

The bundled sample (``loyaltykit/samples/shop``) is::

    python -m loyaltykit.sampledata src/loyaltykit/samples/shop --customers 300 --orders 3000
"""

from __future__ import annotations

import argparse
import heapq
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate, pairwise
from pathlib import Path
from random import Random
from typing import TypeVar
from zoneinfo import ZoneInfo

from loyaltykit.canonical import ShopWriter
from loyaltykit.money import currency_exponent

_V = TypeVar("_V")
DEFAULT_START = datetime.fromisoformat("2024-11-01T00:00:00+08:00")

# (percent of customers, relative order frequency): most buy once or twice, 1% buy all the time.
_LOYALTY = ((40, 1), (20, 2), (15, 4), (12, 8), (8, 16), (4, 40), (1, 150))
# (percent of orders, lowest, highest amount in major units)
_AMOUNTS = ((30, (10, 50)), (35, (50, 150)), (20, (150, 400)), (10, (400, 1000)),
            (5, (1000, 2000)))
# Relative orders per hour of the local day: quiet nights, lunch and evening peaks.
_HOURS = (2, 1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 10, 11, 9, 8, 8, 8, 9, 10, 12, 14, 14, 11, 5)
_CATEGORIES = (("tea", "TEA", 40), ("teaware", "WARE", 25), ("snacks", "SNACK", 30),
               ("gifts", "GIFT", 12))
_CHANNELS = ("taobao", "wechat", "web", "store")
_PHONE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151",
                   "152", "155", "156", "157", "158", "159", "176", "177", "180", "181", "186",
                   "187", "188", "189", "199")
_PLACES = (("浙江省", "杭州市", ("西湖区", "拱墅区", "滨江区", "余杭区")),
           ("浙江省", "宁波市", ("海曙区", "鄞州区")),
           ("福建省", "福州市", ("鼓楼区", "台江区")),
           ("福建省", "泉州市", ("安溪县", "丰泽区")),
           ("广东省", "广州市", ("天河区", "越秀区", "海珠区")),
           ("广东省", "深圳市", ("南山区", "福田区")),
           ("江苏省", "南京市", ("鼓楼区", "玄武区")),
           ("四川省", "成都市", ("武侯区", "锦江区")),
           ("上海市", "上海市", ("徐汇区", "浦东新区", "静安区")),
           ("北京市", "北京市", ("朝阳区", "海淀区", "东城区")),
           ("云南省", "昆明市", ("五华区", "盘龙区")))
_ROADS = ("文三路", "解放路", "人民路", "中山路", "建设路", "和平路", "学院路", "滨江大道",
          "龙井路")
_GIVEN = ("wei", "fang", "na", "min", "jing", "lei", "yang", "jie", "tao", "xia", "hui", "lin")
_FAMILY = ("wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu")
_DOMAINS = ("example.com", "example.cn", "example.net", "mail.example.org")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CLOCK = [f"{minute // 60:02d}:{minute % 60:02d}:" for minute in range(1440)]
_SECONDS = [f"{second:02d}" for second in range(60)]
_SMALL = [str(n) for n in range(10)]


@dataclass(slots=True)
class _Customer:
    id: str
    joined: float  # position on the shop's activity scale, see _Calendar
    weight: int
    phone: str
    email: str
    address: str
    row: dict[str, str]


class _Calendar:
    """Maps a position on the shop's activity scale to a local time.

    Each day owns a stretch of the scale proportional to how busy it is, so uniform positions
    become realistic timestamps: more orders on the 30th, a spike on double 11.
    """

    def __init__(self, start: datetime, days: int, zone: ZoneInfo) -> None:
        first = start.astimezone(zone).date()
        self.zone = zone
        self.dates = [first + timedelta(days=d) for d in range(days)]
        self.weights = [_day_weight(day) for day in self.dates]
        self.starts = [0, *accumulate(self.weights)]
        self.end = float(self.starts[-1])
        self.hours = [0, *accumulate(_HOURS)]
        self.prefixes = [day.isoformat() + "T" for day in self.dates]
        self.offsets = [_fixed_offset(day, zone) for day in self.dates]

    def at(self, position: float) -> tuple[int, int]:
        """(day, second of the local day) of a position."""
        day = min(bisect_right(self.starts, position) - 1, len(self.dates) - 1)
        into_day = (position - self.starts[day]) / self.weights[day] * self.hours[-1]
        hour = min(bisect_right(self.hours, into_day) - 1, 23)
        second = min(int((into_day - self.hours[hour]) / _HOURS[hour] * 3600), 3599)
        return day, hour * 3600 + second

    def moment(self, day: int, second: int) -> datetime:
        clock = time(second // 3600, second // 60 % 60, second % 60)
        return datetime.combine(self.dates[day], clock, tzinfo=self.zone)

    def text(self, day: int, second: int) -> str:
        """ISO text of a local time; built from cached pieces unless the offset changes that
        day (a DST switch), because formatting a datetime per order is the slow part."""
        offset = self.offsets[day]
        if offset is None:
            return self.moment(day, second).isoformat()
        return self.prefixes[day] + _CLOCK[second // 60] + _SECONDS[second % 60] + offset

def _fixed_offset(day: date, zone: ZoneInfo) -> str | None:
    """The day's UTC offset as text (``+08:00``), or None when it changes during the day."""
    first = datetime.combine(day, time(0), tzinfo=zone).isoformat()[19:]
    last = datetime.combine(day, time(23, 59, 59), tzinfo=zone).isoformat()[19:]
    return first if first == last else None


def _pick(rng: Random, table: Sequence[tuple[int, _V]]) -> _V:
    """The value of a (percent, value) table row, chosen with the given percentages."""
    roll = int(rng.random() * 100)
    for percent, value in table:
        if roll < percent:
            return value
        roll -= percent
    return table[-1][1]


def _between(rng: Random, low: int, high: int) -> int:
    """``low <= n < high``; several times faster than ``randrange`` in the order loop."""
    return low + int(rng.random() * (high - low))


def _day_weight(day: date) -> int:
    if (day.month, day.day) == (11, 11):
        return 80
    if (day.month, day.day) in ((6, 18), (12, 12)):
        return 30
    if day.day == 30:  # monthly member day
        return 18
    if day.month == 11 and day.day < 11:  # pre-sales before double 11
        return 14
    return 12 if day.weekday() >= 5 else 10


def generate_shop(directory: Path, *, customers: int, orders: int, seed: int = 7,
                  start: datetime, days: int = 730, currency: str = "CNY",
                  tz: str = "Asia/Shanghai", with_lines: bool = True) -> dict[str, int]:
    """Write customers.csv, orders.csv, refunds.csv and order_lines.csv into ``directory``
    and return the number of rows written to each."""
    if start.utcoffset() is None:
        raise ValueError("start needs a timezone, e.g. 2024-11-01T00:00:00+08:00")
    if customers < 0 or orders < 0 or days <= 0 or (orders and not customers):
        raise ValueError("need days > 0, customers >= 0, orders >= 0 and customers for orders")
    rng = Random(seed)
    calendar = _Calendar(start, days, ZoneInfo(tz))
    people = _customers(rng, customers, calendar)
    counts = _order_counts(rng, people, orders, calendar.end)
    with ShopWriter(directory, customer_attributes=("channel",)) as writer:
        for person in people:
            writer.customer(person.row)
        _OrderWriter(writer, rng, calendar, currency, with_lines).run(people, counts)
    return dict(writer.counts)


# --------------------------------------------------------------------------- customers


def _customers(rng: Random, count: int, calendar: _Calendar) -> list[_Customer]:
    """Customers in joining order; ~15% referred by an earlier customer's code."""
    joins = sorted(rng.random() * calendar.end * 0.92 for _ in range(count))
    width = max(6, len(str(count)))
    salt = rng.getrandbits(30)
    people: list[_Customer] = []
    loyal: list[int] = []  # frequent buyers refer more friends
    for index, joined in enumerate(joins):
        person = _person(rng, index, joined, width, salt)
        referred_by = ""
        if index and rng.random() < 0.15:
            roll = rng.random()
            if roll < 0.04:  # a code nobody has: mistyped, or from another shop
                referred_by = "X" + "".join(_CROCKFORD[rng.randrange(32)] for _ in range(6))
            else:
                use_loyal = loyal and rng.random() < 0.3
                chosen = loyal[rng.randrange(len(loyal))] if use_loyal else rng.randrange(index)
                referrer = people[chosen]
                referred_by = referrer.row["referral_code"]
                if roll < 0.09:  # self-referral: a second account of the same person
                    _share_contact(rng, person, referrer)
        person.row.update(customer_id=person.id, email=person.email, phone=person.phone,
                          address=person.address, created_at=calendar.text(*calendar.at(joined)),
                          referred_by_code=referred_by)
        people.append(person)
        if person.weight >= 40:
            loyal.append(index)
    return people


def _person(rng: Random, index: int, joined: float, width: int, salt: int) -> _Customer:
    weight = _pick(rng, _LOYALTY)
    # Multiplying by a number coprime to the modulus is a bijection: unique without a set.
    phone = _PHONE_PREFIXES[rng.randrange(len(_PHONE_PREFIXES))] + \
        f"{(index * 7919 + salt) % 10**8:08d}"
    email = ""
    if rng.random() < 0.7:
        email = (f"{_GIVEN[rng.randrange(len(_GIVEN))]}.{_FAMILY[rng.randrange(len(_FAMILY))]}"
                 f"{index + 1}@{_DOMAINS[rng.randrange(len(_DOMAINS))]}")
    province, city, districts = _PLACES[rng.randrange(len(_PLACES))]
    address = (("" if province == city else province) + city
               + districts[rng.randrange(len(districts))] + _ROADS[rng.randrange(len(_ROADS))]
               + f"{rng.randrange(1, 400)}号{rng.randrange(1, 30)}栋{rng.randrange(1, 33)}"
               f"{rng.randrange(1, 5):02d}室")
    birthday = ""
    if rng.random() < 0.6:
        birthday = date.fromordinal(date(1960, 1, 1).toordinal() + rng.randrange(45 * 365))\
            .isoformat()
    code = (index * 0x2F0F5 + salt) % 2**30
    referral_code = "".join(_CROCKFORD[(code >> shift) & 31] for shift in range(25, -1, -5))
    row = {"referral_code": referral_code, "birthday": birthday,
           "channel": _CHANNELS[rng.randrange(len(_CHANNELS))]}
    return _Customer(f"C{index + 1:0{width}d}", joined, weight, phone, email, address, row)


def _share_contact(rng: Random, person: _Customer, referrer: _Customer) -> None:
    which = rng.randrange(3)
    if which == 0 or (which == 1 and not referrer.email):
        person.phone = referrer.phone
    elif which == 1:
        person.email = referrer.email
    else:
        person.address = referrer.address


def _order_counts(rng: Random, people: Sequence[_Customer], orders: int, end: float) -> list[int]:
    """Orders per customer, proportional to loyalty and to how long they have been around."""
    shares = [person.weight * (int(end - person.joined) + 1) for person in people]
    total = sum(shares) or 1
    counts = [orders * share // total for share in shares]
    for _ in range(orders - sum(counts)):
        counts[rng.randrange(len(counts))] += 1
    return counts


# --------------------------------------------------------------------------- orders


class _OrderWriter:
    """Orders in time order, each written together with its lines and refund."""

    def __init__(self, writer: ShopWriter, rng: Random, calendar: _Calendar, currency: str,
                 with_lines: bool) -> None:
        self.writer, self.rng, self.calendar = writer, rng, calendar
        self.currency, self.with_lines = currency, with_lines
        self.exponent = currency_exponent(currency)
        self.scale = 10**self.exponent

    def run(self, people: Sequence[_Customer], counts: Sequence[int]) -> None:
        width = max(7, len(str(sum(counts))))
        for seq, (position, index) in enumerate(self._times(people, counts), 1):
            self._order(f"O{seq:0{width}d}", people[index].id, *self.calendar.at(position))

    def _times(self, people: Sequence[_Customer], counts: Sequence[int]
               ) -> Iterator[tuple[float, int]]:
        """Merge every customer's orders by time, generating each customer's next order only
        when the previous one is taken: sorted-uniform gaps without storing any order."""
        rng, end = self.rng, self.calendar.end
        heap = [(person.joined + rng.random() * min(10.0, end - person.joined), index, count - 1)
                for index, (person, count) in enumerate(zip(people, counts, strict=True)) if count]
        heapq.heapify(heap)
        while heap:
            position, index, left = heap[0]
            yield position, index
            if left:
                gap = (end - position) * rng.random() * 2 / (left + 1)
                heapq.heapreplace(heap, (position + gap, index, left - 1))
            else:
                heapq.heappop(heap)

    def _order(self, order_id: str, customer_id: str, day: int, second: int) -> None:
        rng, calendar, append = self.rng, self.calendar, self.writer.append
        amount = self._amount()
        cancelled = rng.random() < 0.03
        cancelled_at = ""
        if cancelled:
            moment = calendar.moment(day, second) + timedelta(minutes=_between(rng, 5, 2880))
            cancelled_at = moment.isoformat()
        append("orders.csv", (order_id, customer_id, calendar.text(day, second), self.currency,
                              self._text(amount), "cancelled" if cancelled else "paid",
                              cancelled_at))
        if self.with_lines:
            self._lines(order_id, amount)
        if not cancelled and rng.random() < 0.08:
            refund = amount if amount < 2 or rng.random() < 0.5 else _between(rng, 1, amount)
            moment = calendar.moment(day, second) + timedelta(
                seconds=_between(rng, 86_400, 20 * 86_400 + 1))
            append("refunds.csv", ("R" + order_id[1:], order_id, self._text(refund),
                                   moment.isoformat()))

    def _amount(self) -> int:
        low, high = _pick(self.rng, _AMOUNTS)
        return _between(self.rng, low * self.scale, high * self.scale + 1)

    def _lines(self, order_id: str, amount: int) -> None:
        """1-3 lines whose amounts add up exactly to what was paid."""
        rng = self.rng
        roll = rng.random()
        count = 1 if roll < 0.55 or amount < 3 else 2 if roll < 0.85 else 3
        cuts = [0]
        if count >= 2:
            cuts.append(_between(rng, 1, amount - 1 if count == 3 else amount))
        if count == 3:
            cuts.append(_between(rng, cuts[-1] + 1, amount))
        cuts.append(amount)
        for low, high in pairwise(cuts):
            category, prefix, skus = _CATEGORIES[int(rng.random() * len(_CATEGORIES))]
            quantity = 1 if rng.random() < 0.7 else _between(rng, 2, 4)
            self.writer.append("order_lines.csv", (
                order_id, f"{prefix}-{_between(rng, 1, skus):03d}", category, _SMALL[quantity],
                self._text(high - low)))

    def _text(self, minor: int) -> str:
        if not self.exponent:
            return str(minor)
        return f"{minor // self.scale}.{minor % self.scale:0{self.exponent}d}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loyaltykit.sampledata",
        description="Write a deterministic synthetic shop as canonical CSV files.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=datetime.fromisoformat, default=DEFAULT_START,
                        help="first day, with an offset (default %(default)s)")
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--currency", default="CNY")
    parser.add_argument("--tz", default="Asia/Shanghai")
    parser.add_argument("--no-lines", action="store_true", help="skip order_lines.csv rows")
    args = parser.parse_args(argv)
    counts = generate_shop(args.directory, customers=args.customers, orders=args.orders,
                           seed=args.seed, start=args.start, days=args.days,
                           currency=args.currency, tz=args.tz, with_lines=not args.no_lines)
    print(", ".join(f"{name}: {rows}" for name, rows in counts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
