"""A synthetic Taobao tea shop, written exactly as the seller center exports it.

Two years of orders of a few hundred buyers: the 46-column order report in GBK with its
quirks (``="…"`` ids, ``'`` phones, ``0元``, full-width commas in statuses, padded header
names, buyer messages spanning lines, CRLF, newest order first), the item report with its
trailing comma, the 42-column refund report (partial and full refunds, refused and pending
requests), closed orders paid and unpaid, and a referral list including self-referrals,
an unknown code and a referee who had already ordered. Every person is invented: phones
start with 10, which no Chinese mobile number does, and mail goes to example.com.

Only ``random.Random(seed)`` with integer arithmetic is used, so the same arguments give
the same bytes on every platform. The bundled copy is regenerated with::

    python -m loyaltykit.adapters.taobao.sample src/loyaltykit/samples/taobao
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from random import Random
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 11, 1, tzinfo=TZ)
EXPORTED = datetime(2026, 10, 31, 23, 0, tzinfo=TZ)
STAMP = EXPORTED.strftime("%Y%m%d%H%M")
SHOP = "山间茶舍"

ORDER_HEADER = (
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分",
    "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言",
    "收货人姓名", "收货地址 ", "运送方式", "联系电话 ", "联系手机", "订单创建时间",
    "订单付款时间 ", "宝贝标题 ", "宝贝种类 ", "物流单号 ", "物流公司", "订单备注", "宝贝总数量",
    "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单",
    "分阶段订单信息", "特权订金订单id", "是否上传合同照片", "是否上传小票", "是否代付",
    "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣", "集分宝抵扣",
    "是否是O2O交易", "退款金额", "预约门店")
ITEM_HEADER = (
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
    "订单状态", "商家编码")
REFUND_HEADER = (
    "订单编号", "退款编号", "支付宝交易号", "订单付款时间", "商品编码", "退款完结时间",
    "买家实际支付金额", "宝贝标题", "买家退款金额", "手工退款/系统退款", "是否需要退货",
    "退款的申请时间", "超时时间", "退款状态", "货物状态", "退货物流信息", "发货物流信息",
    "客服介入状态", "卖家真实姓名", "卖家真实姓名新", "卖家退货地址", "卖家邮编", "卖家电话",
    "卖家手机", "退货物流单号", "退货物流公司", "买家退款原因", "买家退款说明", "买家退货时间",
    "责任方", "售中或售后", "商家备注", "完结时间", "部分退款/全部退款", "审核操作人", "举证超时",
    "是否零秒响应", "退款操作人", "退款原因标签", "业务类型", "是否帮他退款", "帮他退款操作账号")

# (商家编码, title, price in fen, category)
CATALOG = (
    ("TEA-LJ-250", "明前西湖龙井 250g 罐装", 26800, "tea"),
    ("TEA-LJ-100", "西湖龙井 100g 尝鲜装", 9800, "tea"),
    ("TEA-TGY-500", "安溪铁观音 浓香型 500g", 15800, "tea"),
    ("TEA-DHP-200", "武夷山大红袍 200g 礼盒", 32800, "tea"),
    ("TEA-PE-357", "云南普洱熟茶 357g 饼", 18800, "tea"),
    ("TEA-BC-100", "安吉白茶 100g", 12800, "tea"),
    ("TEA-MLH-250", "福州茉莉花茶 250g", 6800, "tea"),
    ("WARE-GWB-01", "玻璃公道杯 300ml", 3900, "teaware"),
    ("WARE-GB-02", "白瓷盖碗 150ml", 5800, "teaware"),
    ("WARE-ZSH-03", "宜兴紫砂壶 西施 200ml", 38800, "teaware"),
    ("WARE-CP-04", "竹制茶盘 小号", 12900, "teaware"),
    ("SNACK-GZ-01", "桂花糕 6枚", 2600, "snacks"),
    ("SNACK-LDG-02", "绿豆糕 12枚", 3200, "snacks"),
    ("SNACK-HT-03", "琥珀核桃仁 250g", 4500, "snacks"),
    ("GIFT-LH-01", "中秋茶礼盒 双罐", 39800, "gifts"),
    ("GIFT-CJ-02", "旅行茶具套装 礼袋", 16800, "gifts"),
)
_SYLLABLES = ("xiao", "yu", "mei", "lan", "tian", "ming", "jia", "hui", "ling", "feng", "qing",
              "yun", "xue", "hai", "an", "chen", "bo", "rui")
_NICK_WORDS = ("爱喝茶的", "慢生活", "山茶花", "小茶客", "清风", "明月", "半盏", "竹影")
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
_PLACES = (("浙江省", "杭州市", "西湖区", "310000"), ("浙江省", "宁波市", "鄞州区", "315000"),
           ("福建省", "福州市", "鼓楼区", "350000"), ("广东省", "广州市", "天河区", "510000"),
           ("广东省", "深圳市", "南山区", "518000"), ("江苏省", "南京市", "玄武区", "210000"),
           ("四川省", "成都市", "武侯区", "610000"), ("上海市", "上海市", "徐汇区", "200000"),
           ("北京市", "北京市", "海淀区", "100000"), ("湖北省", "武汉市", "洪山区", "430000"))
_ROADS = ("茶香路", "青竹街", "明月巷", "云栖路", "桂花弄", "松涛街")
_MESSAGES = ("", "", "", "", "", "请尽快发货", "送人的，不要放发票", "麻烦包装好一点\n谢谢老板",
             "周末送货\n工作日家里没人", "多送点小样")
_COURIERS = ("圆通速递", "中通快递", "顺丰速运", "韵达快递")


@dataclass
class Buyer:
    nick: str
    phone: str
    address: str
    receiver: str
    alipay: str
    weight: int


@dataclass
class Order:
    order_id: str
    buyer: Buyer
    created: datetime
    lines: list[tuple[int, int]]  # (catalog index, quantity)
    postage: int
    discount: int
    paid: datetime | None = None
    status: str = "交易成功"
    close_reason: str = "订单未关闭"
    message: str = ""
    refunds: list[Refund] = field(default_factory=list)

    @property
    def goods(self) -> int:
        return sum(CATALOG[i][2] * q for i, q in self.lines)

    @property
    def paid_amount(self) -> int:
        return self.goods + self.postage - self.discount if self.paid else 0

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds if r.state == "退款成功")


@dataclass
class Refund:
    refund_id: str
    line: int
    amount: int
    applied: datetime
    completed: datetime | None
    state: str
    reason: str


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def _buyers(rng: Random, count: int) -> list[Buyer]:
    buyers: list[Buyer] = []
    seen: set[str] = set()
    while len(buyers) < count:
        kind = rng.randrange(3)
        if kind == 0:
            nick = f"tb{rng.randrange(10**7, 10**8)}"
        elif kind == 1:
            nick = f"{rng.choice(_SYLLABLES)}{rng.choice(_SYLLABLES)}_{rng.randrange(1970, 2010)}"
        else:
            nick = f"{rng.choice(_NICK_WORDS)}{rng.choice(_SYLLABLES)}{rng.randrange(100)}"
        if nick in seen:
            continue
        seen.add(nick)
        province, city, district, postcode = rng.choice(_PLACES)
        address = (f"{province} {city} {district} {rng.choice(_ROADS)}{rng.randrange(1, 300)}号"
                   f"{rng.randrange(1, 30)}栋{rng.randrange(101, 2400)}室({postcode})")
        phone = f"10{rng.randrange(10**8, 10**9)}"
        alipay = rng.choice((f"buyer{len(buyers):04d}@example.com",
                             f"{phone[:3]}****{phone[-4:]}"))
        receiver = f"{rng.choice(_SURNAMES)}{rng.choice(('先生', '女士'))}"
        weight = rng.choice((1, 1, 1, 1, 2, 2, 3, 5, 8, 20))
        buyers.append(Buyer(nick, phone, address, receiver, alipay, weight))
    return buyers


def _orders(rng: Random, buyers: Sequence[Buyer], count: int) -> list[Order]:
    pool = [b for b in buyers for _ in range(b.weight)]
    span = int((EXPORTED - START).total_seconds()) - 3600
    order_id = 2100000000000000000 + rng.randrange(10**15)
    orders: list[Order] = []
    for created_s in sorted(rng.randrange(span) for _ in range(count)):
        order_id += rng.randrange(10**9, 10**11)
        lines = [(rng.randrange(len(CATALOG)), rng.choice((1, 1, 1, 2, 3)))
                 for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        order = Order(str(order_id), rng.choice(pool), START + timedelta(seconds=created_s),
                      lines, postage=rng.choice((0, 0, 0, 800, 1000)),
                      discount=rng.choice((0, 0, 0, 0, 500, 1000, 2000)),
                      message=rng.choice(_MESSAGES))
        order.discount = min(order.discount, order.goods // 2)
        _lifecycle(rng, order)
        orders.append(order)
    return orders


def _lifecycle(rng: Random, order: Order) -> None:
    """Pay, ship, complete, close or refund the order as far as the export time allows."""
    if rng.randrange(100) < 5:
        order.status, order.close_reason = "交易关闭", "买家未付款"
        return
    order.paid = order.created + timedelta(seconds=rng.randrange(5, 900))
    age = EXPORTED - order.paid
    if age < timedelta(days=1):
        order.status = "买家已付款，等待卖家发货"
    elif age < timedelta(days=8):
        order.status = "卖家已发货，等待买家确认"
    roll = rng.randrange(100)
    if roll < 10:
        refund = _add_refund(rng, order, full=roll < 3, refused=roll >= 8)
        if refund is not None and refund.state == "退款成功" and roll < 3:
            order.status, order.close_reason = "交易关闭", "买家申请退款"


def _add_refund(rng: Random, order: Order, *, full: bool, refused: bool) -> Refund | None:
    assert order.paid is not None
    line = rng.randrange(len(order.lines))
    index, quantity = order.lines[line]
    amount = order.paid_amount if full else min(CATALOG[index][2] * quantity,
                                                 order.paid_amount)
    applied = order.paid + timedelta(seconds=rng.randrange(3600, 10 * 86400))
    completed = applied + timedelta(seconds=rng.randrange(600, 3 * 86400))
    if applied >= EXPORTED:
        return None
    if completed >= EXPORTED:
        state, done = "买家已经申请退款，等待卖家同意", None
    else:
        state, done = ("退款关闭" if refused else "退款成功"), completed
    refund_id = str(int(order.order_id) // 1000 + rng.randrange(10**6))
    reason = rng.choice(("不想要了", "七天无理由退换货", "少件/漏发", "商品破损"))
    refund = Refund(refund_id, line, amount, applied, done, state, reason)
    order.refunds.append(refund)
    return refund


def _cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _protected(value: str) -> str:
    """How the seller center writes ids: an Excel formula, so no digit is lost."""
    return f'="{value}"'


def _order_row(order: Order) -> str:
    buyer, shipped = order.buyer, order.paid is not None and "等待卖家发货" not in order.status
    titles = "，".join(CATALOG[i][1] for i, _ in order.lines)
    cells = [
        _protected(order.order_id), *map(_cell, (
            buyer.nick, buyer.alipay, _yuan(order.goods), _yuan(order.postage), "0",
            _yuan(order.goods + order.postage), "0", _yuan(order.paid_amount), "0",
            order.status, order.message, buyer.receiver, buyer.address, "快递", "",
            "'" + buyer.phone, _time(order.created), _time(order.paid), titles,
            str(len(order.lines)))),
        _protected(f"YT{order.order_id[-12:]}" if shipped else ""),
        *map(_cell, (_COURIERS[int(order.order_id) % 4] if shipped else "", "",
                     str(sum(q for _, q in order.lines)), "0", SHOP, order.close_reason, "0",
                     "0元", "", "手机订单" if int(order.order_id) % 3 else "", "")),
        _protected(""),
        *map(_cell, ("否", "否", "否", "", "", "", "", "", "", "", _yuan(order.refunded), "")),
    ]
    return ",".join(cells)


def _item_rows(order: Order) -> list[str]:
    return [",".join([_protected(order.order_id), *map(_cell, (
        CATALOG[i][1], _yuan(CATALOG[i][2]), str(q), "", "规格：标准装", "", "", order.status,
        CATALOG[i][0]))]) + "," for i, q in order.lines]


def _refund_row(order: Order, refund: Refund) -> str:
    assert order.paid is not None
    code, title = CATALOG[order.lines[refund.line][0]][:2]
    whole = "全部退款" if refund.amount == order.paid_amount else "部分退款"
    cells = [
        order.order_id, refund.refund_id, f"2024{order.order_id[-20:]}", _time(order.paid), code,
        _time(refund.completed), _yuan(order.paid_amount), title, _yuan(refund.amount),
        "系统退款", "否", _time(refund.applied), "", refund.state, "买家未收到货", "", "", "",
        "", "", "", "", "", "", "", "", refund.reason, "", "", "", "售中退款", "",
        _time(refund.completed), whole, "", "", "否", "", refund.reason, "退款", "否", ""]
    return ",".join(map(_cell, cells))


def _referrals(rng: Random, orders: Sequence[Order]) -> list[str]:
    """Referees are buyers whose first order came later than their referrer's first."""
    first: dict[str, Order] = {}
    for order in orders:
        first.setdefault(order.buyer.nick, order)
    ranked = sorted(first.values(), key=lambda o: o.created)
    rows = ["referee,referrer_code,referred_at"]
    for position in range(40, len(ranked) - 1, max(1, len(ranked) // 45)):
        referee = ranked[position]
        referrer = ranked[rng.randrange(position // 2)]
        when = _time(referee.created - timedelta(seconds=rng.randrange(3600, 5 * 86400)))
        rows.append(f"{referee.buyer.nick},{referrer.buyer.nick},{when}")
    household = ranked[30]  # a second account of an existing buyer: same phone and address
    rows.append(f"{household.buyer.nick},{ranked[5].buyer.nick},")
    rows.append(f"{ranked[-1].buyer.nick},NO-SUCH-CODE,")
    rows.append(f"{ranked[10].buyer.nick},{ranked[2].buyer.nick},{_time(EXPORTED)}")
    return rows


def _self_referrals(buyers: list[Buyer], orders: Sequence[Order]) -> None:
    """Make buyer #30 by first order share phone and address with buyer #5."""
    first: dict[str, Order] = {}
    for order in orders:
        first.setdefault(order.buyer.nick, order)
    ranked = sorted(first.values(), key=lambda o: o.created)
    ranked[30].buyer.phone = ranked[5].buyer.phone
    ranked[30].buyer.address = ranked[5].buyer.address


def generate(directory: Path, *, seed: int = 20261031, buyers: int = 320,
             orders: int = 3200) -> list[Path]:
    """Write the sample export files into ``directory``; returns their paths."""
    rng = Random(seed)
    people = _buyers(rng, buyers)
    history = _orders(rng, people, orders)
    _self_referrals(people, history)
    newest_first = history[::-1]
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        f"ExportOrderList{STAMP}.csv": (
            [",".join(map(_cell, ORDER_HEADER))] + [_order_row(o) for o in newest_first], "gbk"),
        f"ExportOrderDetailList{STAMP}.csv": (
            [",".join(map(_cell, ITEM_HEADER))]
            + [row for o in newest_first for row in _item_rows(o)], "gbk"),
        f"refunds-{STAMP}.csv": (
            [",".join(map(_cell, REFUND_HEADER))]
            + [_refund_row(o, r) for o in newest_first for r in o.refunds], "gbk"),
        "referrals.csv": (_referrals(rng, history), "utf-8-sig"),
        "categories.csv": (["商家编码,category"] + [f"{c[0]},{c[3]}" for c in CATALOG],
                           "utf-8-sig"),
    }
    written = []
    for name, (lines, encoding) in files.items():
        path = directory / name
        path.write_bytes("".join(line + "\r\n" for line in lines).encode(encoding))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=20261031)
    parser.add_argument("--buyers", type=int, default=320)
    parser.add_argument("--orders", type=int, default=3200)
    args = parser.parse_args(argv)
    for path in generate(args.directory, seed=args.seed, buyers=args.buyers,
                         orders=args.orders):
        print(path)


if __name__ == "__main__":
    main()
