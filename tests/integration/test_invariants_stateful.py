"""Property-based, stateful: random sequences of every event the engine knows, with
duplicates and replays mixed in, against the real services on DynamoDB (moto).

After every step:
- available = on_hand - allotted is never below zero, and the stored counters equal
  the sum over the lines;
- every ordered unit is exactly one of shipped, allotted, backordered, cancelled;
- on_hand equals the sum of the ledger (units are conserved);
and once the allotter has settled, no line waits while free units or units of a
strictly lower-priority line could serve it (allotted units are stable: they move only
to a line of strictly higher priority). A refusal is accepted only where the rules
predict it (a movement below zero or below the released units, more units than a line
has open, a quantity below what is shipped, cancelled or released, a shipment whose
content the allotment has changed since); any other ``Conflict``, ``InvalidInput`` or
``NotFound`` fails the run.
"""

from __future__ import annotations

import itertools
import os
from collections import defaultdict
from dataclasses import replace
from decimal import Decimal

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, multiple, rule

from backorders.adapters.dynamodb.models import LineItem, OrderItem, SkuItem
from backorders.bootstrap import build
from backorders.config import Settings
from backorders.domain.errors import Conflict
from backorders.domain.model import (
    Customer,
    LinePolicy,
    Movement,
    MovementKind,
    NewLine,
    Order,
    OrderLine,
    Product,
    ShipType,
)
from backorders.domain.orders import fingerprint, open_units
from backorders.services.orders import Command
from tests.integration.conftest import create_table
from tests.support.builders import entered

SKUS = ("APPLE", "PEAR")
SHOP = "prop"
_tables = itertools.count()

pytestmark = pytest.mark.usefixtures("aws")


class AllotmentMachine(RuleBasedStateMachine):
    spec = None  # set by the test
    placed = Bundle("placed")  # orders entered, for the rules that edit or replay one
    recorded = Bundle("recorded")  # movements recorded, for replays

    @initialize()
    def start(self) -> None:
        client = boto3.client("dynamodb", region_name="us-east-1")
        name = create_table(client, self.spec, f"stateful-{next(_tables)}")
        self.svc = build(Settings(table_name=name, region="us-east-1"))
        for sku in SKUS:
            self.svc.catalogue.save_product(Product(sku))
        self.minute = 0
        self.orders: list[Order] = []
        self.ids = itertools.count(1)

    # ---------------------------------------------------------------- events
    @rule(
        target=placed,
        lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 5)), min_size=1, max_size=3),
        priority=st.integers(0, 2),
        policy=st.sampled_from([LinePolicy.SPLIT, LinePolicy.WHOLE]),
        ship_type=st.sampled_from([ShipType.PARTIAL, ShipType.COMPLETE]),
        minute=st.integers(0, 3),
    )
    def order(self, lines, priority, policy, ship_type, minute) -> Order:  # type: ignore[no-untyped-def]
        self.minute += minute  # entry times may tie
        order = Order(
            SHOP,
            f"O{next(self.ids)}",
            entered(self.minute),
            Customer("c"),
            priority=priority,
            ship_type=ship_type,
            policy=policy,
            lines=tuple(NewLine(i, sku, q, Decimal(1)) for i, (sku, q) in enumerate(lines, 1)),
        )
        order = replace(order, fingerprint=fingerprint({"o": order.order_id, "l": lines}))
        assert self.svc.orders.create(order).status == "created"
        self.orders.append(order)
        return order

    @rule(order=placed)
    def replay_order(self, order) -> None:  # type: ignore[no-untyped-def]
        assert self.svc.orders.create(order).status == "duplicate"

    @rule(
        target=recorded,
        kind=st.sampled_from([MovementKind.RECEIPT, MovementKind.RETURN, MovementKind.ADJUSTMENT, MovementKind.COUNT]),
        sku=st.sampled_from(SKUS),
        quantity=st.integers(-4, 8),
    )
    def movement(self, kind, sku, quantity):  # type: ignore[no-untyped-def]
        if kind in (MovementKind.RECEIPT, MovementKind.RETURN):
            quantity = abs(quantity) or 1
        if kind is MovementKind.COUNT:
            quantity = abs(quantity)
        if kind is MovementKind.ADJUSTMENT and quantity == 0:
            quantity = 1
        movement = Movement(f"M{next(self.ids)}", sku, kind, quantity)
        balance = self.svc.store.balance(sku)
        assert balance is not None
        after = balance.on_hand + movement.delta(balance.on_hand)
        if after < balance.locked:  # below zero, or below the units in released shipments
            with pytest.raises(Conflict):
                self.svc.stock.record(movement)
            return multiple()
        self.svc.stock.record(movement)
        return movement

    @rule(movement=recorded)
    def replay_movement(self, movement) -> None:  # type: ignore[no-untyped-def]
        assert self.svc.stock.record(movement).status == "duplicate"

    @rule(order=placed, whole_order=st.booleans(), units=st.integers(1, 3))
    def cancel(self, order, whole_order, units) -> None:  # type: ignore[no-untyped-def]
        if whole_order:
            self.svc.orders.cancel(SHOP, order.order_id)  # absolute: never refused
            return
        key = f"cancel/{next(self.ids)}"
        if units > open_units(self.line(order)):  # more than is open (shipped, cancelled or released)
            with pytest.raises(Conflict):
                self.svc.orders.cancel(SHOP, order.order_id, 1, units, command=Command(key, "f"))
            return
        self.svc.orders.cancel(SHOP, order.order_id, 1, units, command=Command(key, "f"))

    @rule(order=placed, quantity=st.integers(1, 6))
    def change_quantity(self, order, quantity) -> None:  # type: ignore[no-untyped-def]
        line = self.line(order)
        if quantity < line.shipped + line.cancelled + line.locked:
            with pytest.raises(Conflict):
                self.svc.orders.change_quantity(SHOP, order.order_id, 1, quantity)
            return
        self.svc.orders.change_quantity(SHOP, order.order_id, 1, quantity)

    @rule(order=placed, priority=st.integers(0, 3))
    def change_priority(self, order, priority) -> None:  # type: ignore[no-untyped-def]
        self.svc.orders.change_priority(SHOP, order.order_id, priority)

    @rule(order=placed, units=st.integers(0, 3))
    def force_backorder(self, order, units) -> None:  # type: ignore[no-untyped-def]
        if units > open_units(self.line(order)):
            with pytest.raises(Conflict):
                self.svc.orders.force_backorder(SHOP, order.order_id, 1, units)
            return
        self.svc.orders.force_backorder(SHOP, order.order_id, 1, units)

    @rule(order=placed, ship=st.booleans())
    def release_or_ship(self, order, ship) -> None:  # type: ignore[no-untyped-def]
        view = self.svc.store.order_view(SHOP, order.order_id, with_log=False)
        assert view is not None
        lines = {ln.line_no: ln for ln in view.lines}
        for shipment in view.shipments:
            if shipment.status.value == "pending":
                stale = any(lines[n].movable < units for n, units in shipment.lines.items())
                if stale:  # the allotment changed since the shipment was synced: read the order again
                    with pytest.raises(Conflict):
                        self.svc.shipments.release(SHOP, order.order_id, shipment.shipment_no)
                else:
                    self.svc.shipments.release(SHOP, order.order_id, shipment.shipment_no)
            elif shipment.status.value == "released" and ship:
                self.svc.shipments.ship(SHOP, order.order_id, shipment.shipment_no)

    @rule(sku=st.sampled_from(SKUS))
    def recompute_one(self, sku) -> None:  # type: ignore[no-untyped-def]
        """One stream delivery (possibly a duplicate): a single recompute."""
        self.svc.allotter.recompute(sku, event="stream")

    @rule()
    def settle(self) -> None:
        for _ in range(5):
            changed = any(self.svc.allotter.recompute(s, event="settle").plan.changes for s in SKUS)
            for order in self.orders:
                self.svc.shipments.sync_pending(SHOP, order.order_id)
            if not changed:
                break
        self.check_greedy()

    # ---------------------------------------------------------------- invariants
    def line(self, order: Order) -> OrderLine:
        found = self.svc.store.line(SHOP, order.order_id, 1)
        assert found is not None
        return found

    def lines(self) -> list:  # type: ignore[type-arg]
        return [item.to_domain() for item in LineItem.scan(LineItem.sk.startswith("LINE#"))]

    @invariant()
    def counters_match_lines_and_ledger(self) -> None:
        if not hasattr(self, "svc"):
            return
        lines = self.lines()
        sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for ln in lines:
            ln.check()  # every unit in exactly one state
            assert ln.quantity == ln.shipped + ln.allotted + ln.backordered + ln.cancelled
            for name in ("allotted", "locked", "backordered"):
                sums[ln.sku][name] += getattr(ln, name)
        for item in SkuItem.scan(SkuItem.sk == "SKU"):
            balance = item.to_domain()
            assert balance.available >= 0, balance
            assert int(item.available) == balance.available, "stored available drifted"
            for name in ("allotted", "locked", "backordered"):
                assert getattr(balance, name) == sums[balance.sku][name], (name, balance)
            ledger = sum(int(e.delta) for e in self.svc.store.ledger_entries(balance.sku))
            assert balance.on_hand == ledger, "on_hand must equal the ledger"
        assert len(list(OrderItem.scan(OrderItem.sk == "ORDER"))) == len(self.orders)

    def check_greedy(self) -> None:
        """The allotment rule's fixed point, written out again from the rule."""
        for sku in SKUS:
            balance = self.svc.store.balance(sku)
            assert balance is not None
            lines = [ln for ln in self.lines() if ln.sku == sku]
            free = balance.on_hand - balance.allotted
            for ln in lines:
                waiting = ln.cap - ln.movable
                if waiting <= 0:
                    continue
                below = sum(other.movable for other in lines if other.priority < ln.priority)
                if ln.policy is LinePolicy.WHOLE:
                    assert ln.movable == 0 and free + below < waiting, f"{ln} waits; free {free}, below {below}"
                else:
                    assert free + below == 0, f"{ln} waits; free {free}, below {below}"


def test_invariants_hold_under_random_event_sequences(table_spec) -> None:  # type: ignore[no-untyped-def]
    AllotmentMachine.spec = table_spec
    runner = AllotmentMachine.TestCase
    runner.settings = settings(
        # a quick sample in `make test`; STATEFUL_EXAMPLES=500 for a long run
        max_examples=int(os.environ.get("STATEFUL_EXAMPLES", "10")),
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    runner().runTest()
