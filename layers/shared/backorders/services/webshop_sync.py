"""Applying a stored webhook delivery (decision 69), on the table stream: the platform's
payload becomes the same commands the native API gives.

- An order payload (Shopify ``orders/*``, WooCommerce ``order.created``/``updated``, an
  order the catch-up read) is a snapshot: a new order is created; a stored one follows
  it absolutely (``webshops.sync``), unless the snapshot is not newer than the state
  last applied. Lines without a usable SKU are held on the order and reported; gift
  cards and lines that need no shipping are left out.
- A Shopify refund returns shipped units to stock (``return``), releases unshipped ones
  (``cancel``: unless a newer snapshot already counted them), or moves none.
- A Shopify fulfillment, and a WooCommerce order that turns ``completed``, ship.
- WooCommerce's ``order.deleted`` cancels the order.

A delivery is applied at most once in effect: each step is absolute or keyed (a refund's
ledger ids, a fulfillment's id), so a stream retry after a crash changes nothing. A
delivery the service cannot map is marked rejected, with its reason, and listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from backorders.domain import orders as rules
from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict, DomainError, Throttled
from backorders.domain.model import HeldShopLine, Movement, MovementKind, OrderLine, WebshopRef
from backorders.domain.orders import fingerprint
from backorders.domain.webshops import shopify, sync, woocommerce
from backorders.domain.webshops.common import Platform, ShopOrder, Unmappable, line_numbers, new_order, read_json
from backorders.domain.webshops.deliveries import CATCH_UP_TOPIC, Delivery, Status
from backorders.services.orders import Command, OrderService, Revision
from backorders.services.ports import Balances, Deliveries, Orders, OrderView, Rejection
from backorders.services.shipments import ShipmentService
from backorders.services.stock import StockService
from backorders.services.webhooks import DELIVERY_DAYS, REJECTION_DAYS, days_after


class SyncStore(Deliveries, Orders, Balances, Protocol):
    """What applying a delivery reads and writes of its own (orders and stock go through
    their services)."""


class WebshopSync:
    def __init__(
        self,
        store: SyncStore,
        orders: OrderService,
        stock: StockService,
        shipments: ShipmentService,
        *,
        clock: Callable[[], str],
    ) -> None:
        self.store, self.orders, self.stock, self.shipments, self.clock = store, orders, stock, shipments, clock

    def apply(self, shop: str, key: str) -> str:
        """Apply the delivery stored under ``key`` once; what it did, for the log."""
        delivery = self.store.delivery(shop, key)
        if delivery is None or delivery.status is not Status.RECEIVED:
            return "nothing: applied before, or expired"
        try:
            done = self._apply(delivery)
        except (Unmappable, DomainError) as exc:
            if isinstance(exc, Throttled) or (isinstance(exc, Conflict) and exc.field is None):
                raise  # transient (throttled, a concurrent change): the stream retries the record
            reason = exc.message if isinstance(exc, DomainError) else str(exc)
            self._reject(delivery, reason)
            self.store.settle_delivery(delivery, Status.REJECTED, reason)
            return f"rejected: {reason}"
        self.store.settle_delivery(delivery, Status.APPLIED)
        return done

    # -------------------------------------------------------------- by topic
    def _apply(self, delivery: Delivery) -> str:
        now = datetime.fromisoformat(delivery.received_at.replace("Z", "+00:00")).astimezone(UTC)
        topic, platform = delivery.topic, delivery.platform
        if platform is Platform.WOOCOMMERCE and topic == "order.deleted":
            return self._deleted(delivery.shop, woocommerce.deleted(read_json(delivery.body)))
        if platform is Platform.SHOPIFY and topic == "refunds/create":
            return self._refund(delivery.shop, shopify.refund(read_json(delivery.body), now=now))
        if platform is Platform.SHOPIFY and topic == "fulfillments/create":
            return self._fulfilled(delivery.shop, shopify.fulfillment(read_json(delivery.body)))
        if platform is Platform.SHOPIFY and topic in shopify.ORDER_TOPICS | {CATCH_UP_TOPIC}:
            return self.follow(delivery, shopify.order(read_json(delivery.body), now=now))
        if platform is Platform.WOOCOMMERCE and topic in woocommerce.TOPICS | {CATCH_UP_TOPIC}:
            return self.follow(delivery, woocommerce.order(read_json(delivery.body), now=now))
        raise Unmappable(f"topic {topic!r} is not one the service takes from {platform.value}")

    def follow(self, delivery: Delivery, snapshot: ShopOrder) -> str:
        """Create the order a snapshot shows, or bring the stored one to it."""
        shop = delivery.shop
        snapshot = replace(snapshot, lines=tuple(line for line in snapshot.lines if not line.untracked))
        view = self.store.order_view(shop, snapshot.order_id, with_log=False)
        if view is None:
            done, reported, had = self._create(shop, snapshot), set[str](), set[str]()
        else:
            done, reported = self._update(shop, snapshot), {h.line_id for h in _ref_of(view).held}
            had = {line.sku for line in view.lines}
        self._report_unknown(delivery, snapshot, had)
        for held in (h for h in snapshot.held if h.line_id not in reported):  # each held line once
            self._reject(delivery, f"line {held.line_id} ({held.quantity} unit(s)) is held: {held.reason}",
                         order_id=snapshot.order_id, key=f"{delivery.key}:held:{held.line_id}")  # fmt: skip
        if snapshot.completed and snapshot.platform is Platform.WOOCOMMERCE and not snapshot.cancelled:
            done += self._completed(shop, snapshot.order_id)
        return done

    def _report_unknown(self, delivery: Delivery, snapshot: ShopOrder, had: set[str]) -> None:
        """A new line of a SKU the catalogue does not have waits on backorder, as every
        unknown SKU does, until the product is set up; it is reported once."""
        new = {line.sku for line in snapshot.lines if line.quantity > 0} - had
        if not new or snapshot.cancelled or not snapshot.placed:
            return
        balances = self.store.balances(new)
        for sku in sorted(new):
            if sku not in balances or not balances[sku].known:
                reason = f"SKU {sku!r} is not in the catalogue: its line waits on backorder until the product is set up"
                self._reject(delivery, reason, order_id=snapshot.order_id, key=f"{delivery.key}:unknown:{sku}")

    def _create(self, shop: str, snapshot: ShopOrder) -> str:
        """The order a snapshot shows, unless it is none (cancelled, not placed yet) or a
        newer state of it has been applied: a cancelled state of an order the service
        never had leaves its time behind (``state_seen``), so that its create, delivered
        or applied later, creates nothing."""
        seen = self.store.state_seen(shop, snapshot.platform, snapshot.order_id)
        if seen is not None and not snapshot.newer_than(seen):
            return "nothing: a newer state of this order was applied"
        if not snapshot.placed or snapshot.cancelled:
            self.store.mark_state_seen(shop, snapshot.platform, snapshot.order_id, snapshot.updated_at,
                                       expires=days_after(self.clock(), DELIVERY_DAYS))  # fmt: skip
            return "nothing: not an order (yet)"
        # units the shop refunded and restocked before the service saw the order are no demand
        lines = tuple(replace(line, quantity=max(0, line.quantity - line.restocked)) for line in snapshot.lines)
        fresh = replace(snapshot, lines=lines)
        if not any(line.quantity > 0 for line in fresh.lines):
            return "nothing: no line the service keeps stock for"
        numbers = line_numbers({}, [line.line_id for line in fresh.lines])
        released = {line.line_id: line.restocked for line in snapshot.lines if line.restocked}
        order = replace(new_order(fresh, shop, numbers), webshop=self._ref(fresh, numbers, released))
        try:
            result = self.orders.create(order)
        except Conflict as exc:
            if exc.field != "id":
                raise
            return self._update(shop, snapshot)  # another state of it was created meanwhile: follow it
        return f"order {result.status}"

    def _update(self, shop: str, snapshot: ShopOrder) -> str:
        def plan(view: OrderView) -> Revision:
            ref = _ref_of(view)
            if not snapshot.newer_than(ref.updated_at):
                return Revision()
            # WooCommerce keeps a refunded line's quantity: what restocks released is taken off it
            shown = replace(snapshot, lines=tuple(
                replace(line, quantity=max(0, line.quantity - ref.released.get(line.line_id, 0)))
                for line in snapshot.lines
            ))  # fmt: skip
            outcome = sync.apply(shown, view.lines, ref.line_ids)
            notes = tuple(
                f"line {no}: the shop no longer orders {units} unit(s) that have shipped or are in a released shipment"
                for no, units in sorted(outcome.stuck.items())
            )
            before = {line.line_no: line for line in view.lines}
            after = before | {b.line_no: a for b, a in outcome.changed}
            returns, released = _restocks(snapshot, ref, outcome.numbers, after)
            return Revision(
                changes=tuple(LineChange(before[no], a) for no, a in sorted(after.items()) if a != before[no]),
                added=outcome.added,
                entered_at=snapshot.updated_at,
                order_fields={"webshop": self._ref(snapshot, outcome.numbers, released)},
                notes=notes,
                returns=returns,
            )

        revision = self.orders.revise(shop, snapshot.order_id, plan, event=f"the shop updated order {snapshot.number}")
        if revision.writes_nothing:
            return "nothing: an older or the same state"
        return f"order updated: {len(revision.changes)} line(s) changed, {len(revision.added)} added"

    def _refund(self, shop: str, refund: shopify.Refund) -> str:
        view = self.store.order_view(shop, refund.order_id, with_log=False)
        if view is None:
            raise Unmappable(f"refund {refund.refund_id} is for order {refund.order_id}, which is not here")
        ref = _ref_of(view)
        lines = {line.line_no: line for line in view.lines}
        line_of = {line_id: lines[no] for line_id, no in ref.line_ids.items() if no in lines}
        returned, released = shopify.restocks(refund, {i: line.shipped for i, line in line_of.items()})
        for line_id, units in sorted(returned.items()):
            if line_id in line_of:
                movement = Movement(f"shopify-refund:{refund.refund_id}:{line_id}", line_of[line_id].sku,
                                    MovementKind.RETURN, units, note=f"refund {refund.refund_id}")  # fmt: skip
                self.stock.record(movement, shop=shop)
        released = {i: n for i, n in released.items() if i in line_of}
        if released and refund.created_at > ref.updated_at:
            self._release(shop, refund, released)
        return f"refund: {sum(returned.values())} unit(s) returned, {sum(released.values())} released"

    def _release(self, shop: str, refund: shopify.Refund, released: dict[str, int]) -> None:
        """A refund's cancelled units, when no snapshot as new as the refund counted them:
        cancelled once (the refund's id is the command), and the refund's time becomes the
        state applied, so an older snapshot cannot bring them back."""

        def plan(view: OrderView) -> Revision:
            ref = _ref_of(view)
            if refund.created_at <= ref.updated_at or f"refund:{refund.refund_id}" in view.commands:
                return Revision()
            lines = {line.line_no: line for line in view.lines}
            changes = []
            for line_id, units in released.items():
                line = lines[ref.line_ids[line_id]]
                open_units = min(units, rules.open_units(line))
                if open_units > 0:  # a line that has shipped all it orders has nothing to release
                    changes.append(LineChange(line, rules.cancel(line, open_units)))
            return Revision(
                changes=tuple(changes),
                order_fields={"webshop": replace(ref, updated_at=refund.created_at)},
                command=Command(f"refund:{refund.refund_id}", fingerprint({"refund": refund.refund_id})),
            )

        self.orders.revise(shop, refund.order_id, plan, event=f"refund {refund.refund_id} cancelled units")

    def _fulfilled(self, shop: str, fulfillment: shopify.Fulfillment) -> str:
        if not fulfillment.shipped:
            return f"nothing: fulfillment status {fulfillment.status!r}"
        view = self.store.order_view(shop, fulfillment.order_id, with_log=False)
        if view is None:
            raise Unmappable(
                f"fulfillment {fulfillment.fulfillment_id} is for order {fulfillment.order_id}, "
                "which the service does not have"
            )
        numbers = _ref_of(view).line_ids
        units: dict[int, int] = {}
        for line_id, n in fulfillment.lines:
            if line_id in numbers:
                units[numbers[line_id]] = units.get(numbers[line_id], 0) + n
        shipped = self.shipments.ship_outside(shop, fulfillment.order_id, units,
                                              ref=f"fulfillment:{fulfillment.fulfillment_id}")  # fmt: skip
        return f"fulfillment: {sum(shipped.values())} unit(s) shipped"

    def _completed(self, shop: str, order_id: str) -> str:
        view = self.store.order_view(shop, order_id, with_log=False)
        if view is None:
            return ""
        units = {line.line_no: line.quantity for line in view.lines}
        shipped = self.shipments.ship_outside(shop, order_id, units, ref="completed")
        return f"; completed: {sum(shipped.values())} unit(s) shipped"

    def _deleted(self, shop: str, order_id: str) -> str:
        if self.store.order_view(shop, order_id, with_log=False) is None:
            return "nothing: the order is not here"
        changes = self.orders.cancel(shop, order_id)
        return f"order deleted: {len(changes)} line(s) cancelled"

    # -------------------------------------------------------------- helpers
    @staticmethod
    def _ref(snapshot: ShopOrder, numbers: Mapping[str, int], released: Mapping[str, int]) -> WebshopRef:
        return WebshopRef(
            platform=snapshot.platform.value,
            number=snapshot.number,
            updated_at=snapshot.updated_at,
            line_ids=dict(numbers),
            held=tuple(HeldShopLine(h.line_id, h.quantity, h.reason) for h in snapshot.held),
            restocked={line.line_id: line.restocked for line in snapshot.lines if line.restocked},
            released={line_id: n for line_id, n in released.items() if n},
        )

    def _reject(self, delivery: Delivery, reason: str, *, order_id: str | None = None, key: str | None = None) -> None:
        rejection = Rejection(delivery.received_at, delivery.platform, delivery.topic, key or delivery.key, reason,
                              order_id)  # fmt: skip
        self.store.put_rejection(delivery.shop, rejection, expires=days_after(self.clock(), REJECTION_DAYS))


def _restocks(
    snapshot: ShopOrder, ref: WebshopRef, numbers: Mapping[str, int], lines: dict[int, OrderLine]
) -> tuple[tuple[Movement, ...], dict[str, int]]:
    """What the units a shop restocked since the state last applied do (WooCommerce's
    running ``restocked`` per line, decision 71): first they release the line's open units
    (refunded before they shipped: ``lines`` is changed in place), the rest come back on
    hand (refunded after they shipped), at most as many as shipped. A movement's id
    names the running total it brings the line to, so each increase is booked once.
    Also returns the units each line's restocks have released so far."""
    returns, released_so_far = [], dict(ref.released)
    for shop_line in snapshot.lines:
        more = shop_line.restocked - ref.restocked.get(shop_line.line_id, 0)
        line = lines.get(numbers.get(shop_line.line_id, 0))
        if more <= 0 or line is None:
            continue
        released = min(more, rules.open_units(line))
        if released:
            lines[line.line_no] = line = rules.cancel(line, released)
            released_so_far[shop_line.line_id] = released_so_far.get(shop_line.line_id, 0) + released
        back = min(more - released, line.shipped)
        if back:
            movement_id = (
                f"{snapshot.platform.value}-restock:{snapshot.order_id}:{shop_line.line_id}:{shop_line.restocked}"
            )
            returns.append(Movement(movement_id, line.sku, MovementKind.RETURN, back, note="restocked refund"))
    return tuple(returns), released_so_far


def _ref_of(view: OrderView) -> WebshopRef:
    if view.order.webshop is None:
        raise Unmappable(f"order {view.order.order_id} was entered through the native API, not by the webshop")
    return view.order.webshop
