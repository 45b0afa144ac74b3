"""Shipments: the pending shipment of an order follows its allotment; release locks
its units; a shipped confirmation lowers on_hand and allotted together."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict, NotFound
from backorders.domain.model import Movement, MovementKind, Shipment, ShipmentStatus
from backorders.domain.shipments import pending_content
from backorders.services.commit import retrying
from backorders.services.ports import Balances, Orders, OrderView, Writes


@dataclass(frozen=True, slots=True)
class ShipmentResult:
    status: Literal["released", "shipped", "unchanged"]
    shipment: Shipment


class ShipmentStore(Writes, Orders, Balances, Protocol):
    """What shipments read (the order, balances for the ledger) and write."""


class ShipmentService:
    def __init__(self, store: ShipmentStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    # -------------------------------------------------------------- pending
    def sync_pending(self, shop: str, order_id: str) -> Shipment | None:
        """Create, append to, shrink or drop the order's pending shipment so that it
        holds exactly the units that may ship now (level-triggered, idempotent)."""
        return retrying(lambda: self._sync_pending(shop, order_id))

    def _sync_pending(self, shop: str, order_id: str) -> Shipment | None:
        view = self.store.order_view(shop, order_id, with_log=False)
        if view is None:
            return None
        content = pending_content(view.order.ship_type, view.lines)
        skus = {ln.line_no: ln.sku for ln in view.lines if ln.line_no in content}
        pending = next((s for s in view.shipments if s.status is ShipmentStatus.PENDING), None)
        if (pending.lines if pending else {}) == content:
            return pending
        event = f"allotment of order {order_id} changed"
        uow = self.store.unit_of_work(writer="allotter", event=event, at=self.clock(), shop=shop)
        result: Shipment | None
        if pending is not None and not content:
            uow.delete_shipment(pending)
            uow.log(
                f"pending shipment {pending.shipment_no} dropped: nothing may ship now",
                shop=shop,
                order_id=order_id,
            )
            result = None
        elif pending is not None:
            result = replace(pending, lines=content, skus=skus)
            uow.put_shipment(result, expect_version=pending.version)
            uow.log(
                f"pending shipment {pending.shipment_no} now holds {_units(content)}",
                shop=shop,
                order_id=order_id,
            )
        else:
            result = Shipment(shop, order_id, view.next_shipment_no, ShipmentStatus.PENDING, content, skus)
            uow.put_shipment(result, expect_version=None)
            uow.update_order(shop, order_id, view.order.version, next_shipment_no=view.next_shipment_no + 1)
            uow.log(
                f"pending shipment {result.shipment_no} created with {_units(content)}",
                shop=shop,
                order_id=order_id,
            )
        uow.commit()
        return result

    # -------------------------------------------------------------- release / ship
    def _shipment(self, shop: str, order_id: str, shipment_no: int) -> tuple[OrderView, Shipment]:
        view = self.store.order_view(shop, order_id, with_log=False)
        if view is None:
            raise NotFound(f"order {order_id} not found", field="order_id")
        shipment = next((s for s in view.shipments if s.shipment_no == shipment_no), None)
        if shipment is None:
            raise NotFound(f"order {order_id} has no shipment {shipment_no}", field="shipment_no")
        return view, shipment

    def release(self, shop: str, order_id: str, shipment_no: int) -> ShipmentResult:
        """Release a pending shipment to the warehouse: its units are locked and no
        higher priority can take them any more."""
        return retrying(lambda: self._release(shop, order_id, shipment_no))

    def ship(self, shop: str, order_id: str, shipment_no: int) -> ShipmentResult:
        """The warehouse shipped a released shipment: on_hand and allotted go down
        together, with a ledger entry per SKU."""
        return retrying(lambda: self._ship(shop, order_id, shipment_no))

    def _release(self, shop: str, order_id: str, shipment_no: int) -> ShipmentResult:
        view, shipment = self._shipment(shop, order_id, shipment_no)
        if shipment.status is not ShipmentStatus.PENDING:
            return ShipmentResult("unchanged", shipment)
        lines = {ln.line_no: ln for ln in view.lines}
        changes = []
        for line_no, units in shipment.lines.items():
            line = lines[line_no]
            if line.movable < units:
                raise Conflict(
                    f"shipment {shipment_no} is out of date (line {line_no} holds {line.movable} movable units); "
                    "read the order again",
                    field="shipment_no",
                )
            changes.append(LineChange(line, replace(line, locked=line.locked + units)))
        released = replace(shipment, status=ShipmentStatus.RELEASED)
        event = f"shipment {shipment_no} of order {order_id} released"
        uow = self.store.unit_of_work(writer="api", event=event, at=self.clock(), shop=shop)
        for change in changes:
            uow.change_line(change)
        uow.put_shipment(released, expect_version=shipment.version)
        uow.log(
            f"shipment {shipment_no} released with {_units(shipment.lines)}; its units are locked",
            shop=shop,
            order_id=order_id,
        )
        uow.commit()
        return ShipmentResult("released", replace(released, version=shipment.version + 1))

    def _ship(self, shop: str, order_id: str, shipment_no: int) -> ShipmentResult:
        view, shipment = self._shipment(shop, order_id, shipment_no)
        if shipment.status is ShipmentStatus.SHIPPED:
            return ShipmentResult("unchanged", shipment)
        if shipment.status is not ShipmentStatus.RELEASED:
            raise Conflict(f"shipment {shipment_no} must be released before it ships", field="shipment_no")
        lines = {ln.line_no: ln for ln in view.lines}
        event = f"shipment {shipment_no} of order {order_id} shipped"
        uow = self.store.unit_of_work(writer="api", event=event, at=self.clock(), shop=shop)
        per_sku: dict[str, int] = defaultdict(int)
        for line_no, units in shipment.lines.items():
            line = lines[line_no]
            after = replace(
                line, shipped=line.shipped + units, allotted=line.allotted - units, locked=line.locked - units
            )
            uow.change_line(LineChange(line, after))
            per_sku[line.sku] += units
        balances = self.store.balances(per_sku)
        for sku, units in per_sku.items():
            movement = Movement(f"shipment:{shop}:{order_id}:{shipment_no}", sku, MovementKind.SHIPMENT, units)
            on_hand = balances[sku].on_hand if sku in balances else 0
            uow.add_ledger(movement, -units, on_hand - units)
        shipped = replace(shipment, status=ShipmentStatus.SHIPPED)
        uow.put_shipment(shipped, expect_version=shipment.version)
        uow.log(f"shipment {shipment_no} shipped with {_units(shipment.lines)}", shop=shop, order_id=order_id)
        uow.commit()
        return ShipmentResult("shipped", replace(shipped, version=shipment.version + 1))

    # -------------------------------------------------------------- shipped by the shop
    def ship_outside(self, shop: str, order_id: str, units: Mapping[int, int], *, ref: str) -> dict[int, int]:
        """The shop shipped ``units`` of these lines itself (a Shopify fulfillment, a
        WooCommerce order completed): each ships from the line's allotted units that no
        released shipment holds, up to what the service has allotted; on_hand and
        allotted go down together, with a ledger entry per SKU. ``ref`` names the
        shipment once: a replay ships nothing. Returns the units shipped per line."""
        return retrying(lambda: self._ship_outside(shop, order_id, units, ref))

    def _ship_outside(self, shop: str, order_id: str, units: Mapping[int, int], ref: str) -> dict[int, int]:
        view = self.store.order_view(shop, order_id, with_log=False)
        key = f"shipped:{ref}"
        if view is None or key in view.commands:
            return {}
        lines = {ln.line_no: ln for ln in view.lines}
        taken = {no: min(n, lines[no].movable) for no, n in units.items() if no in lines}
        taken = {no: n for no, n in taken.items() if n > 0}
        event = f"order {order_id} shipped by the shop ({ref})"
        uow = self.store.unit_of_work(writer="api", event=event, at=self.clock(), shop=shop)
        per_sku: dict[str, int] = defaultdict(int)
        for line_no, n in taken.items():
            line = lines[line_no]
            uow.change_line(LineChange(line, replace(line, shipped=line.shipped + n, allotted=line.allotted - n)))
            per_sku[line.sku] += n
        balances = self.store.balances(per_sku)
        for sku, n in per_sku.items():
            on_hand = balances[sku].on_hand if sku in balances else 0
            uow.add_ledger(Movement(f"{key}:{shop}:{order_id}", sku, MovementKind.SHIPMENT, n), -n, on_hand - n)
        short = {no: n - taken.get(no, 0) for no, n in units.items() if n > taken.get(no, 0)}
        uow.log(
            f"the shop shipped {_units(taken)} itself ({ref})"
            + (f"; {_units(short)} had no allotted units here and stay as they are" if short else ""),
            shop=shop,
            order_id=order_id,
        )
        uow.add_command(shop, order_id, key, ref, expires=_far(self.clock()))
        uow.commit()
        return taken


def _far(now: str) -> datetime:
    """When a shipped-by-the-shop mark may be forgotten: a year on (deliveries are long gone)."""
    return datetime.fromisoformat(now.replace("Z", "+00:00")) + timedelta(days=365)


def _units(content: Mapping[int, int]) -> str:
    return ", ".join(f"line {n}: {u}" for n, u in sorted(content.items())) or "nothing"
