"""Reports (PRODUCT.md "Reports and history"): the reorder report, purchase orders
awaiting placement, and backorders filled over a period. Rows are plain dicts, one per
report line, so the API can answer each as JSON or CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from backorders.domain.purchasing import PoStatus, regular_quantity
from backorders.services.ports import Fills, Purchasing

REORDER_COLUMNS = [
    "supplier_id", "sku", "name", "on_hand", "available", "backordered", "stock_position", "incoming",
    "projected_position", "min_stock", "max_stock", "suggested_quantity",
]  # fmt: skip
AWAITING_COLUMNS = [
    "po_id", "supplier_id", "kind", "created_at", "threshold_passed", "sku", "quantity", "unit_price", "value",
]  # fmt: skip
FILLED_COLUMNS = ["at", "order_id", "line", "sku", "units"]


class ReportStore(Purchasing, Fills, Protocol):
    """What the reports read: the planning index, purchase orders, a shop's fills."""


class ReportService:
    def __init__(self, store: ReportStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    def reorder(self, *, supplier: str | None = None) -> Iterator[dict[str, Any]]:
        """Products whose projected position is below their minimum (or whose stock
        position is negative), by supplier: read from the planning index, which holds
        exactly the SKUs that need attention."""
        for group in self.store.planning(supplier):
            for position in sorted(group.positions, key=lambda p: p.product.sku):
                product, balance = position.product, position.balance
                floor = product.min_stock or 0
                if balance.projected_position >= floor and balance.stock_position >= 0:
                    continue
                yield {
                    "supplier_id": group.supplier_id,
                    "sku": product.sku,
                    "name": product.name,
                    "on_hand": balance.on_hand,
                    "available": balance.available,
                    "backordered": balance.backordered,
                    "stock_position": balance.stock_position,
                    "incoming": balance.incoming,
                    "projected_position": balance.projected_position,
                    "min_stock": product.min_stock,
                    "max_stock": product.max_stock,
                    "suggested_quantity": max(regular_quantity(position), -balance.projected_position, 0),
                }

    def awaiting_placement(self, *, supplier: str | None = None) -> Iterator[dict[str, Any]]:
        """Recommended purchase orders, a row per line, oldest first."""
        for po in self.store.purchase_orders([PoStatus.RECOMMENDED]):
            if supplier is not None and po.supplier_id != supplier:
                continue
            for line in po.lines:
                yield {
                    "po_id": po.po_id,
                    "supplier_id": po.supplier_id,
                    "kind": po.kind.value,
                    "created_at": po.created_at,
                    "threshold_passed": po.threshold,
                    "sku": line.sku,
                    "quantity": line.quantity,
                    "unit_price": str(line.unit_price),
                    "value": str(line.value),
                }

    def filled_backorders(self, *, shop: str, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
        """The shop's backorder fills from ``since`` to ``until``, oldest first."""
        for fill in self.store.fills(shop, _stamp(since), _stamp(until)):
            yield {"at": fill.at, "order_id": fill.order_id, "line": fill.line_no, "sku": fill.sku, "units": fill.units}


def _stamp(moment: datetime) -> str:
    """The service's timestamp format (UTC, microseconds), which the log entries sort by."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
