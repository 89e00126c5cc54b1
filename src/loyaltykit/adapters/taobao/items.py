"""Rows of the item report (宝贝报表) as order lines for product and category rules.

The report has one row per item of an order: 订单编号, 标题, 价格 (unit price), 购买数量,
商家编码 (the seller's own code, which is what SKU rules name). Many sellers leave
商家编码 empty, so the line falls back to 外部系统编号, then the platform item id, then
the title, and the record says which one it used.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from loyaltykit.adapters.taobao.cells import Cells, header_repeated
from loyaltykit.adapters.taobao.orders import order_id_of
from loyaltykit.adapters.taobao.values import clean_id, parse_amount, parse_count

SKU_SOURCES = ("merchant_code", "external_code", "item_id", "title")


@dataclass(frozen=True, slots=True)
class ItemRecord:
    line: int
    order_id: str
    sku: str
    sku_source: str  # which column the sku came from, one of SKU_SOURCES
    title: str
    unit_price: Decimal
    quantity: int

    @property
    def amount(self) -> Decimal:
        """Unit price times quantity, at list price: discounts are only known per order."""
        return self.unit_price * self.quantity


def parse_item(cells: Cells) -> ItemRecord | None:
    if not cells.ok or header_repeated(cells, "order_id", ("订单编号", "主订单编号")):
        return None
    order_id = order_id_of(cells, "order_id")
    price = cells.parse("price", parse_amount)
    if not cells.text("price"):
        cells.problem("price", "the item has no price")
    quantity = cells.parse("quantity", parse_count)
    if not cells.text("quantity"):
        cells.problem("quantity", "the item has no quantity")
    title = cells.text("title")
    sku, source = _sku(cells, title)
    if not sku:
        cells.problem("merchant_code" if cells.has("merchant_code") else None,
                      "the item has neither a 商家编码 nor a title")
    if not cells.ok or order_id is None or price is None or quantity is None:
        return None
    return ItemRecord(cells.line, order_id, sku, source, title, price, quantity)


def _sku(cells: Cells, title: str) -> tuple[str, str]:
    for key in SKU_SOURCES[:-1]:
        value = clean_id(cells.text(key)) if cells.text(key) else ""
        if value:
            return value, key
    return title, "title"
