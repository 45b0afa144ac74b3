"""Rules for order intake and for edits of an order line by hand or by the webshop."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from backorders.domain.errors import Conflict, InvalidInput, TooLarge
from backorders.domain.model import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    LinePolicy,
    Order,
    OrderLine,
    ShopSettings,
)

# One order is written in one transaction (header + lines + one balance per SKU, at
# most 100 items), so an order carries at most this many lines. See docs/decisions.md.
MAX_LINES = 40


def fingerprint(payload: dict[str, Any]) -> str:
    """A stable digest of what the webshop sent, to tell a replay from a changed order."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def validate_order(order: Order) -> None:
    if not order.lines:
        raise InvalidInput("an order needs at least one line", field="lines")
    if len(order.lines) > MAX_LINES:
        raise TooLarge(f"an order may have at most {MAX_LINES} lines", field="lines")
    if not PRIORITY_MIN <= order.priority <= PRIORITY_MAX:
        raise InvalidInput(f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}", field="priority")
    seen: set[int] = set()
    for i, line in enumerate(order.lines):
        where = f"lines[{i}]"
        if line.line_no in seen:
            raise InvalidInput(f"line number {line.line_no} appears twice", field=f"{where}.line")
        seen.add(line.line_no)
        if line.quantity <= 0:
            raise InvalidInput("quantity must be a positive whole number", field=f"{where}.quantity")
        if line.unit_price < Decimal(0):
            raise InvalidInput("unit price must not be negative", field=f"{where}.unit_price")
        if not line.sku.strip():
            raise InvalidInput("sku must not be empty", field=f"{where}.sku")


def resolve_policy(order: Order, customer_policy: LinePolicy | None, shop: ShopSettings) -> LinePolicy:
    """Line policy: the order's own, else the customer's, else the shop's (default split)."""
    return order.policy or customer_policy or shop.line_policy


def lines_of(order: Order, policy: LinePolicy) -> list[OrderLine]:
    return [
        OrderLine(
            shop=order.shop,
            order_id=order.order_id,
            line_no=new.line_no,
            sku=new.sku,
            quantity=new.quantity,
            unit_price=new.unit_price,
            priority=order.priority,
            entered_at=order.entered_at,
            policy=policy,
            customer_id=order.customer.id,
        )
        for new in order.lines
    ]


def open_units(line: OrderLine) -> int:
    """Units that may still be cancelled: not shipped, not cancelled, not in a released shipment."""
    return line.quantity - line.shipped - line.cancelled - line.locked


def _release_to(line: OrderLine, max_movable: int) -> OrderLine:
    return whole_or_nothing(line.with_movable(min(line.movable, max(0, max_movable))))


def whole_or_nothing(line: OrderLine) -> OrderLine:
    """A ``whole`` line holds all it may hold or nothing (aACE "split by availability":
    no): an edit that leaves it part of its units gives them back, and it waits for the
    whole quantity again."""
    if line.policy is LinePolicy.WHOLE and 0 < line.movable < line.need:
        return line.with_movable(0)
    return line


def cancel(line: OrderLine, units: int | None = None) -> OrderLine:
    """Cancel ``units`` (default: all that can be) of a line. Backordered units go
    first, then allotted ones, which return to stock for the next waiting line."""
    can = open_units(line)
    units = can if units is None else units
    if units <= 0:
        raise InvalidInput("units to cancel must be positive", field="units")
    if units > can:
        raise Conflict(
            f"only {can} unit(s) of line {line.line_no} can be cancelled "
            "(the rest is shipped, cancelled or in a released shipment)",
            field="units",
        )
    after = replace(line, cancelled=line.cancelled + units, forced=max(0, line.forced - units))
    # take units out of the backorder first, then out of the movable allotment
    from_backorder = min(units, line.backordered)
    from_allotted = units - from_backorder
    after = after.with_movable(line.movable - from_allotted)
    after = replace(after, forced=min(after.forced, after.backordered))
    return whole_or_nothing(after)


def change_quantity(line: OrderLine, quantity: int) -> OrderLine:
    if quantity <= 0:
        raise InvalidInput("quantity must be a positive whole number (cancel the line instead)", field="quantity")
    floor = line.shipped + line.cancelled + line.locked
    if quantity < floor:
        raise Conflict(
            f"line {line.line_no} cannot go below {floor} units (shipped, cancelled or in a released shipment)",
            field="quantity",
        )
    after = replace(line, quantity=quantity)
    if after.backordered < 0:  # fewer units wanted than held: give the surplus back
        after = after.with_movable(line.movable + after.backordered)
    return whole_or_nothing(replace(after, forced=min(after.forced, after.backordered)))


def force_backorder(line: OrderLine, units: int) -> OrderLine:
    """Hold ``units`` of the line on backorder by hand (Stone Edge "Force Backorders");
    allotted units beyond what is left go back to stock."""
    if units < 0:
        raise InvalidInput("units must not be negative", field="units")
    room = line.quantity - line.shipped - line.cancelled - line.locked
    if units > room:
        raise Conflict(f"line {line.line_no} has only {room} unit(s) that can be backordered", field="units")
    after = replace(line, forced=units)
    return _release_to(after, after.need)


def reprioritize(line: OrderLine, priority: int) -> OrderLine:
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidInput(f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}", field="priority")
    return replace(line, priority=priority)


def request_fill(line: OrderLine) -> OrderLine:
    """A manual fill makes a waiting line (and its forced units) eligible again."""
    return replace(line, awaiting_fill=False, forced=0)
