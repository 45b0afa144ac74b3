"""Read models: SKU balance with its demand list, order detail, backorder report.

Every read is a shop's (PRODUCT.md, "Tenancy"): a SKU's counters are shared, but of
other shops' demand it shows counts only, and record logs say other shops' causes
without naming them (``record_log.render``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any, Protocol

from backorders.domain.errors import NotFound
from backorders.domain.model import OrderLine, Product, SkuBalance
from backorders.domain.record_log import LogEntry, render
from backorders.services.ports import Backorders, Catalogue, Demand, Orders, SkuLog

DEMAND_LIST_LIMIT = 200


def line_state(line: OrderLine) -> dict[str, Any]:
    return {
        "line": line.line_no,
        "sku": line.sku,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
        "priority": line.priority,
        "policy": line.policy.value,
        "shipped": line.shipped,
        "allotted": line.allotted,
        "locked": line.locked,
        "backordered": line.backordered,
        "cancelled": line.cancelled,
        "forced_backorder": line.forced,
        "awaiting_fill": line.awaiting_fill,
        **expected(line),
    }


def expected(line: OrderLine, product: Product | None = None) -> dict[str, Any]:
    """When a line's backordered units are expected, and from what (``po:<id>``,
    ``lead_time``, ``no_supplier``; none while the planner has not dated it yet)."""
    if line.backordered <= 0:
        return {"expected_on": None, "expected_source": None}
    if product is not None and not product.supplier_id:
        return {"expected_on": None, "expected_source": "no_supplier"}
    return {"expected_on": line.expected_on, "expected_source": line.expected_source}


BALANCE_FIELDS = ("sku", "known", "tracked", "on_hand", "allotted", "available", "locked", "backordered")


def balance_view(balance: SkuBalance) -> dict[str, Any]:
    return {**{name: getattr(balance, name) for name in BALANCE_FIELDS}, "stock_position": balance.stock_position}


def product_view(product: Product) -> dict[str, Any]:
    """The product's settings as the API shows them (money as a string)."""
    view = {f.name: getattr(product, f.name) for f in fields(product) if f.name != "sku"}
    return {**view, "purchase_price": None if product.purchase_price is None else str(product.purchase_price)}


def log_view(entry: LogEntry, reader: str) -> dict[str, Any]:
    view: dict[str, Any] = {"at": entry.at, "event": render(entry.causes, reader), "message": entry.message}
    optional = {"sku": entry.sku, "order_id": entry.order_id, "line": entry.line_no, "delta": entry.delta}
    view.update({k: v for k, v in optional.items() if v is not None})
    return view


class QueryStore(Catalogue, SkuLog, Demand, Orders, Backorders, Protocol):
    """What the read models read."""


class QueryService:
    def __init__(self, store: QueryStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    def sku(self, sku: str, *, shop: str, with_demand: bool = True, with_log: bool = False) -> dict[str, Any]:
        """The SKU as ``shop`` sees it: the shared counters; its own lines in the demand
        list (with their place in allotment order); other shops' lines as counts."""
        found = self.store.product(sku)
        if found is None:
            raise NotFound(f"sku {sku} not found", field="sku")
        balance, product = found
        view = balance_view(balance)
        view["product"] = product_view(product)
        if with_demand:
            # lines that hold or may receive units, in allotment order
            own: list[dict[str, Any]] = []
            others = {"lines": 0, "quantity": 0, "allotted": 0, "backordered": 0}
            for place, ln in enumerate(islice(self.store.demand(sku, lambda: 100), DEMAND_LIST_LIMIT), 1):
                if ln.shop == shop:
                    own.append({"place": place, "order_id": ln.order_id, **line_state(ln), "entered_at": ln.entered_at})
                else:
                    others["lines"] += 1
                    others["quantity"] += ln.quantity
                    others["allotted"] += ln.allotted
                    others["backordered"] += ln.backordered
            view["demand"] = own
            view["other_shops"] = others
        if with_log:
            view["history"] = [log_view(e, shop) for e in self.store.sku_log(sku)]
        return view

    def order(self, shop: str, order_id: str) -> dict[str, Any]:
        view = self.store.order_view(shop, order_id)
        if view is None:
            raise NotFound(f"order {order_id} not found", field="order_id")
        order = view.order
        return {
            "order_id": order.order_id,
            "entered_at": order.entered_at,
            "priority": order.priority,
            "ship_type": order.ship_type.value,
            "line_policy": order.policy.value if order.policy else None,
            "customer": {"id": order.customer.id},
            "webshop": None
            if order.webshop is None
            else {
                "platform": order.webshop.platform,
                "number": order.webshop.number,
                "updated_at": order.webshop.updated_at,
                "lines": {line_id: no for line_id, no in order.webshop.line_ids.items()},
                "held": [
                    {"line_id": h.line_id, "quantity": h.quantity, "reason": h.reason} for h in order.webshop.held
                ],
            },
            "lines": [line_state(ln) for ln in sorted(view.lines, key=lambda ln: ln.line_no)],
            "shipments": [
                {
                    "shipment": s.shipment_no,
                    "status": s.status.value,
                    "lines": [{"line": n, "sku": s.skus.get(n), "units": u} for n, u in sorted(s.lines.items())],
                }
                for s in sorted(view.shipments, key=lambda s: s.shipment_no)
            ],
            "history": [log_view(e, shop) for e in sorted(view.log, key=lambda e: e.at)],
        }

    def backorders(
        self,
        *,
        shop: str,
        sku: str | None = None,
        customer: str | None = None,
        min_age_days: int | None = None,
        supplier: str | None = None,
        defaulting: bool | None = None,
        limit: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Open backordered lines of ``shop``, oldest first, with their expected dates;
        ``defaulting``: past the expected date (or not)."""
        now = datetime.fromisoformat(self.clock().replace("Z", "+00:00"))
        today = now.date().isoformat()
        products: dict[str, Product | None] = {}
        until = None
        if min_age_days is not None:
            until = (now - timedelta(days=min_age_days)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        count = 0
        for line in self.store.backordered_lines(shop, until=until):
            if (sku and line.sku != sku) or (customer and line.customer_id != customer):
                continue
            if line.sku not in products:
                found = self.store.product(line.sku)
                products[line.sku] = found[1] if found else None
            product = products[line.sku]
            supplier_id = product.supplier_id if product else None
            dates = expected(line, product)
            late = bool(dates["expected_on"]) and dates["expected_on"] < today
            if (supplier and supplier_id != supplier) or (defaulting is not None and late is not defaulting):
                continue
            entered = datetime.fromisoformat(line.entered_at.replace("Z", "+00:00"))
            yield {
                "order_id": line.order_id,
                "line": line.line_no,
                "sku": line.sku,
                "customer_id": line.customer_id,
                "entered_at": line.entered_at,
                "age_days": (now - entered).days,
                "priority": line.priority,
                "backordered": line.backordered,
                "forced_backorder": line.forced,
                "awaiting_fill": line.awaiting_fill,
                "unit_price": str(line.unit_price),
                "value": str(line.unit_price * line.backordered),
                "supplier_id": supplier_id,
                **dates,
                "defaulting": late,
            }
            count += 1
            if count >= limit:
                return
