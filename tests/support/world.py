"""A small driver over the real services for scenario tests: say what happens in the
shop, then let the allotter settle as the stream would make it."""

from __future__ import annotations

import itertools
from dataclasses import replace
from decimal import Decimal
from typing import Any

from backorders.bootstrap import Services
from backorders.domain.model import Customer, LinePolicy, Movement, MovementKind, NewLine, Order, Product, ShipType
from backorders.domain.orders import fingerprint
from tests.support.builders import entered

SHOP = "aacme"
_ids = itertools.count(1)


class World:
    def __init__(self, svc: Services, shop: str = SHOP) -> None:
        self.svc = svc
        self.shop = shop
        self.minute = 0

    # ---------------------------------------------------------------- catalogue
    def product(self, sku: str, **fields: Any) -> None:
        self.svc.catalogue.save_product(Product(sku, **fields))

    # ---------------------------------------------------------------- events
    def order(
        self,
        order_id: str,
        *lines: tuple[str, int],
        priority: int = 0,
        ship_type: str = "partial",
        policy: str | None = None,
        customer: str = "cust-1",
    ) -> None:
        self.minute += 1
        order = Order(
            shop=self.shop,
            order_id=order_id,
            entered_at=entered(self.minute),
            customer=Customer(customer),
            priority=priority,
            ship_type=ShipType(ship_type),
            policy=LinePolicy(policy) if policy else None,
            lines=tuple(NewLine(i, sku, qty, Decimal("10")) for i, (sku, qty) in enumerate(lines, 1)),
        )
        order = replace(order, fingerprint=fingerprint({"id": order_id, "lines": lines, "priority": priority}))
        self.svc.orders.create(order)
        self.settle()

    def receive(self, sku: str, units: int, movement_id: str | None = None) -> None:
        self.move(MovementKind.RECEIPT, sku, units, movement_id)

    def customer_returns(self, sku: str, units: int) -> None:
        self.move(MovementKind.RETURN, sku, units)

    def count(self, sku: str, units: int) -> None:
        self.move(MovementKind.COUNT, sku, units)

    def move(self, kind: MovementKind, sku: str, units: int, movement_id: str | None = None) -> None:
        self.svc.stock.record(Movement(movement_id or f"m-{next(_ids)}", sku, kind, units))
        self.settle()

    def settle(self) -> None:
        """Recompute every SKU and sync every order until nothing changes (what the
        stream-driven allotter does, in-process)."""
        for _ in range(10):
            changed = False
            for sku in self.skus():
                changed |= bool(self.svc.allotter.recompute(sku, event="test").plan.changes)
            for order_id in self.order_ids():
                self.svc.shipments.sync_pending(self.shop, order_id)
            if not changed:
                return
        raise AssertionError("allotment did not settle")

    # ---------------------------------------------------------------- reading
    def skus(self) -> list[str]:
        from backorders.adapters.dynamodb.models import SkuItem

        return sorted(i.sku for i in SkuItem.scan(SkuItem.sk == "SKU"))

    def order_ids(self) -> list[str]:
        from backorders.adapters.dynamodb.models import OrderItem

        return sorted(i.order_id for i in OrderItem.scan(OrderItem.sk == "ORDER") if i.shop == self.shop)

    def line(self, order_id: str, line_no: int = 1):  # type: ignore[no-untyped-def]
        found = self.svc.store.line(self.shop, order_id, line_no)
        assert found is not None, f"no line {order_id}/{line_no}"
        return found

    def allotted(self, order_id: str, line_no: int = 1) -> int:
        return self.line(order_id, line_no).allotted

    def backordered(self, order_id: str, line_no: int = 1) -> int:
        return self.line(order_id, line_no).backordered

    def balance(self, sku: str):  # type: ignore[no-untyped-def]
        return self.svc.store.balance(sku)

    def pending_shipment(self, order_id: str) -> dict[int, int] | None:
        view = self.svc.store.order_view(self.shop, order_id, with_log=False)
        assert view is not None
        pending = [s for s in view.shipments if s.status.value == "pending"]
        return pending[0].lines if pending else None
