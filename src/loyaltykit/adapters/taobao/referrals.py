"""The referral list: who was referred by whom, in a CSV a seller can keep by hand.

Taobao has no referral feature a shop can export, so sellers note referrals themselves
(from a chat, a card slipped into the parcel, a form). The format is deliberately small::

    referee,referrer_code,referred_at
    小鱼儿2019,LK-7Q2M4XK3ZP,2024-03-01 10:00:00
    tb_buyer_17,老客户阿花,

``referee`` is the new customer's 买家会员名; ``referrer_code`` is the code the referrer
shared (whatever codes the program hands out; a shop without codes can use the referrer's
买家会员名). ``referred_at`` is optional; without it the referral is dated when it is
imported. Chinese headers 被推荐人, 推荐码 and 推荐时间 work as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import partial

from loyaltykit.adapters.taobao.cells import Cells, header_repeated
from loyaltykit.adapters.taobao.values import is_masked, parse_local_datetime


@dataclass(frozen=True, slots=True)
class ReferralRecord:
    line: int
    referee: str
    referrer_code: str
    referred_at: datetime | None


def parse_referral(cells: Cells, tz: tzinfo) -> ReferralRecord | None:
    if not cells.ok or header_repeated(cells, "referee", ("referee", "被推荐人", "买家会员名")):
        return None
    referee = cells.text("referee")
    code = cells.text("referrer_code")
    if not referee:
        cells.problem("referee", "the referee (the new customer's 买家会员名) is empty",
                      "fill it in or delete the row")
    elif is_masked(referee):
        cells.problem("referee", f"the referee {referee!r} is masked",
                      "write the full 买家会员名")
    if not code:
        cells.problem("referrer_code", "the referrer code is empty",
                      "fill in the code the referrer shared (or their 买家会员名)")
    referred_at = cells.parse("referred_at", partial(parse_local_datetime, tz=tz),
                              "write the time like 2024-03-01 10:00:00, or leave it empty")
    if not cells.ok:
        return None
    return ReferralRecord(cells.line, referee, code, referred_at)
