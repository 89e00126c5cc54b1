"""Real-layout export files, written the way the seller center writes them, and a fake sink.

The header lists are copied from public parsers of real exports (see
/work/shared/docs/platform-apis.md section C and docs/adapters/taobao.md), independently of
the adapter's own alias table, so a mistake there cannot hide itself here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from loyaltykit.adapters.base import IngestResult
from loyaltykit.events import Event

LAYOUT_46 = (
    "订单编号", "买家会员名", "买家支付宝账号", "买家应付货款", "买家应付邮费", "买家支付积分",
    "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态", "买家留言",
    "收货人姓名", "收货地址 ", "运送方式", "联系电话 ", "联系手机", "订单创建时间",
    "订单付款时间 ", "宝贝标题 ", "宝贝种类 ", "物流单号 ", "物流公司", "订单备注", "宝贝总数量",
    "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单",
    "分阶段订单信息", "特权订金订单id", "是否上传合同照片", "是否上传小票", "是否代付",
    "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣", "集分宝抵扣",
    "是否是O2O交易", "退款金额", "预约门店")
LAYOUT_28 = LAYOUT_46[:28]
LAYOUT_41 = tuple(
    h for h in LAYOUT_46[:44] if h not in ("是否上传合同照片", "是否上传小票", "是否代付"))
LAYOUT_44 = (
    "订单编号", "买家会员名", "买家支付宝账号", "支付交易号", "买家应付货款", "买家应付邮费",
    "买家支付积分", "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分", "订单状态",
    "买家留言", "收货人姓名", "收货地址 ", "运送方式", "联系电话 ", "联系手机", "订单创建时间",
    "订单付款时间 ", "宝贝标题 ", "宝贝种类 ", "物流单号 ", "物流公司", "订单备注", "宝贝总数量",
    "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头", "是否手机订单",
    "分阶段订单信息", "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣",
    "集分宝抵扣", "是否是O2O交易", "买家姓名", "买家身份证号", "买家手机号")
LAYOUT_54_TAIL = (
    "新零售交易类型", "新零售导购门店名称", "新零售导购门店id", "新零售发货门店名称",
    "新零售发货门店id", "退款金额", "预约门店", "确认收货时间", "打款商家金额",
    "含应开票给个人的个人红包")
LAYOUT_54 = (*LAYOUT_46[:44], *LAYOUT_54_TAIL)
LAYOUT_67 = (
    "订单编号", "买家会员名", "买家支付宝账号", "支付单号", "支付详情", "买家应付货款",
    "买家应付邮费", "买家支付积分", "总金额", "返点积分", "买家实际支付金额", "买家实际支付积分",
    "订单状态", "买家留言", "收货人姓名", "收货地址", "运送方式", "联系电话", "联系手机",
    "订单创建时间", "订单付款时间", "宝贝标题", "宝贝种类", "物流单号", "物流公司", "订单备注",
    "宝贝总数量", "店铺Id", "店铺名称", "订单关闭原因", "卖家服务费", "买家服务费", "发票抬头",
    "是否手机订单", "分阶段订单信息", "特权订金订单id", "是否上传合同照片", "是否上传小票",
    "是否代付", "定金排名", "修改后的sku", "修改后的收货地址", "异常信息", "天猫卡券抵扣",
    "集分宝抵扣", "是否是O2O交易", "满返红包金额", "新零售交易类型", "新零售导购门店名称",
    "新零售导购门店id", "新零售发货门店名称", "新零售发货门店id", "退款金额", "预约门店",
    "确认收货时间", "打款商家金额", "含应开票给个人的个人红包", "是否信用购", "体验期结束时间",
    "前N有礼", "配送类型", "直播返现状态", "返现金额", "新零售成交门店昵称", "新零售成交门店id",
    "新零售成交经销商id", "主订单编号")
LAYOUT_21 = (
    "订单编号", "支付单号", "买家应付货款", "买家应付邮费", "总金额", "买家实付金额", "订单状态",
    "收货地址", "运送方式", "订单创建时间", "商品标题", "宝贝种类", "物流单号", "物流公司",
    "备注标签", "商家备注", "宝贝总数量", "开票信息", "手机订单", "商品属性SKU", "发货时间")
ITEMS = (
    "订单编号", "标题", "价格", "购买数量", "外部系统编号", "商品属性", "套餐信息", "备注",
    "订单状态", "商家编码")
REFUNDS_42 = (
    "订单编号", "退款编号", "支付宝交易号", "订单付款时间", "商品编码", "退款完结时间",
    "买家实际支付金额", "宝贝标题", "买家退款金额", "手工退款/系统退款", "是否需要退货",
    "退款的申请时间", "超时时间", "退款状态", "货物状态", "退货物流信息", "发货物流信息",
    "客服介入状态", "卖家真实姓名", "卖家真实姓名新", "卖家退货地址", "卖家邮编", "卖家电话",
    "卖家手机", "退货物流单号", "退货物流公司", "买家退款原因", "买家退款说明", "买家退货时间",
    "责任方", "售中或售后", "商家备注", "完结时间", "部分退款/全部退款", "审核操作人", "举证超时",
    "是否零秒响应", "退款操作人", "退款原因标签", "业务类型", "是否帮他退款", "帮他退款操作账号")

PAID = "买家已付款，等待卖家发货"
SHIPPED = "卖家已发货，等待买家确认"


def order(order_id: str, buyer: str = "buyer_nick", *, status: str = PAID,
          paid: str = "201.12", created: str = "2017-07-08 00:42:32",
          paid_at: str = "2017-07-08 00:42:39", refund: str = "0.00",
          phone: str = "'13800000000", address: str = "广东省 广州市 越秀区 某街道某路1号(510000)",
          message: str = "", **extra: str) -> dict[str, str]:
    """One order by column name, shaped like the 2017 sample row (values synthetic)."""
    return {
        "订单编号": f'="{order_id}"', "买家会员名": buyer, "买家支付宝账号": f"{buyer}@example.com",
        "买家应付货款": paid, "买家应付邮费": "0.00", "总金额": paid, "买家实际支付金额": paid,
        "买家实付金额": paid, "订单状态": status, "买家留言": message, "收货人姓名": "张三",
        "收货地址": address, "运送方式": "快递", "联系手机": phone, "订单创建时间": created,
        "订单付款时间": paid_at, "宝贝标题": "商品标题", "商品标题": "商品标题", "宝贝种类": "1",
        "宝贝总数量": "1", "店铺名称": "店铺名", "订单关闭原因": "订单未关闭", "买家服务费": "0元",
        "特权订金订单id": '=""', "是否上传合同照片": "否", "退款金额": refund, **extra,
    }


def item(order_id: str, code: str, price: str, quantity: str = "1",
         title: str = "商品", **extra: str) -> dict[str, str]:
    return {"订单编号": f'="{order_id}"', "标题": title, "价格": price, "购买数量": quantity,
            "商品属性": "颜色分类：20厘米锅-不含盖", "订单状态": "交易成功", "商家编码": code,
            **extra}


def refund(order_id: str, refund_id: str, amount: str, completed: str,
           state: str = "退款成功") -> dict[str, str]:
    return {"订单编号": order_id, "退款编号": refund_id, "买家退款金额": amount,
            "退款完结时间": completed, "退款状态": state, "售中或售后": "售中退款",
            "完结时间": completed}


def cell(value: str) -> str:
    """A field as the seller center writes it: quoted, except the ="…" formulas."""
    if value.startswith("="):
        return value
    return '"' + value.replace('"', '""') + '"'


def csv_text(header: Sequence[str], rows: Iterable[Mapping[str, str]], *,
             delimiter: str = ",", trailing: str = "") -> str:
    lines = [delimiter.join(cell(h) for h in header)]
    for row in rows:
        lines.append(delimiter.join(cell(row.get(h.strip(), "")) for h in header) + trailing)
    return "".join(line + "\r\n" for line in lines)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Mapping[str, str]], *,
              encoding: str = "gbk", delimiter: str = ",", trailing: str = "") -> Path:
    text = csv_text(header, rows, delimiter=delimiter, trailing=trailing)
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


@dataclass
class MemorySink:
    """The EventSink protocol in memory: first delivery of a key wins, cursors upsert."""

    events: dict[str, Event] = field(default_factory=dict)
    sources: dict[str, str | None] = field(default_factory=dict)
    cursors: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def ingest(self, events: Iterable[Event], *, cursor: tuple[str, str] | None = None,
               sources: Sequence[str | None] | None = None) -> IngestResult:
        self.calls += 1
        new = duplicate = 0
        for index, event in enumerate(events):
            if event.key in self.events:
                duplicate += 1
                continue
            self.events[event.key] = event
            self.sources[event.key] = sources[index] if sources is not None else None
            new += 1
        if cursor is not None:
            self.cursors[cursor[0]] = cursor[1]
        return IngestResult(new, duplicate)

    def cursor(self, name: str) -> str | None:
        return self.cursors.get(name)

    def of_kind(self, kind: str) -> list[Event]:
        return [e for e in self.events.values() if e.kind == kind]
