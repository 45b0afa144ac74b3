"""Shopify's webhooks (REST payloads, as Shopify documents them): ``orders/create``,
``orders/updated``, ``orders/cancelled`` (an order), ``refunds/create`` (a refund) and
``fulfillments/create`` (a fulfillment). Ids are 64-bit integers, kept exactly as text.

A line orders its ``current_quantity`` (the quantity after edits, removals and refunds;
``quantity`` where an older API version sends none). Gift cards and lines that need no
shipping are untracked. A refund moves stock per refunded line by ``restock_type``:
``return`` brings shipped units back on hand, ``cancel`` releases unshipped ones (the
order's ``current_quantity`` says so too), ``no_restock`` moves none, and the deprecated
``legacy_restock`` ("restocked, without saying whether returned or cancelled") is a
return for the units already shipped and a release for the rest (decision 65).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from backorders.domain.model import Customer
from backorders.domain.webshops.common import (
    MAX_NAME,
    MAX_NUMBER,
    HeldLine,
    Platform,
    ShopLine,
    ShopOrder,
    Unmappable,
    mapping,
    objects,
    platform_id,
    read_line,
    text,
    when,
    whole,
)

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/cancelled"})
TOPICS = ORDER_TOPICS | {"refunds/create", "fulfillments/create"}


class Restock(StrEnum):
    CANCEL = "cancel"
    RETURN = "return"
    NO_RESTOCK = "no_restock"
    LEGACY_RESTOCK = "legacy_restock"


@dataclass(frozen=True, slots=True)
class RefundedLine:
    line_id: str
    quantity: int
    restock: Restock


@dataclass(frozen=True, slots=True)
class Refund:
    refund_id: str
    order_id: str
    created_at: str
    lines: tuple[RefundedLine, ...]


@dataclass(frozen=True, slots=True)
class Fulfillment:
    """Units of the order's lines the shop sent (``success``) or took back (``cancelled``)."""

    fulfillment_id: str
    order_id: str
    status: str
    lines: tuple[tuple[str, int], ...]  # (line id, units)

    @property
    def shipped(self) -> bool:
        return self.status == "success"


def order(payload: Mapping[str, Any], *, now: datetime) -> ShopOrder:
    """The snapshot an order payload (``orders/*`` and the Admin API's ``orders.json``) gives."""
    order_id = platform_id(payload.get("id"), "order id")
    found = [
        read_line(raw, n, raw["current_quantity"] if raw.get("current_quantity") is not None else raw.get("quantity"),
                  untracked=bool(raw.get("gift_card")) or raw.get("requires_shipping") is False)
        for n, raw in enumerate(objects(payload.get("line_items"), "line_items"), 1)
    ]  # fmt: skip
    created = when(payload.get("created_at"), "created_at", now=now)
    return ShopOrder(
        platform=Platform.SHOPIFY,
        order_id=order_id,
        number=str(text(payload.get("name") or payload.get("order_number"), MAX_NUMBER) or order_id),
        entered_at=created,
        updated_at=when(payload.get("updated_at") or payload.get("created_at"), "updated_at", now=now),
        customer=_customer(payload, order_id),
        lines=tuple(line for line in found if isinstance(line, ShopLine)),
        held=tuple(line for line in found if isinstance(line, HeldLine)),
        cancelled=payload.get("cancelled_at") is not None,
        completed=payload.get("fulfillment_status") == "fulfilled",
    )


def refund(payload: Mapping[str, Any], *, now: datetime) -> Refund:
    lines = []
    for n, raw in enumerate(objects(payload.get("refund_line_items"), "refund_line_items"), 1):
        kind = raw.get("restock_type")
        try:
            restock = Restock(str(kind))
        except ValueError:
            raise Unmappable(f"refund_line_items[{n}].restock_type {kind!r} is not one Shopify documents") from None
        line_id = platform_id(raw.get("line_item_id"), f"refund_line_items[{n}].line_item_id")
        lines.append(RefundedLine(line_id, whole(raw.get("quantity"), f"refund_line_items[{n}].quantity"), restock))
    return Refund(
        platform_id(payload.get("id"), "refund id"),
        platform_id(payload.get("order_id"), "order_id"),
        when(payload.get("created_at"), "created_at", now=now),
        tuple(lines),
    )


def fulfillment(payload: Mapping[str, Any]) -> Fulfillment:
    lines = tuple(
        (platform_id(raw.get("id"), f"line_items[{n}].id"), whole(raw.get("quantity"), f"line_items[{n}].quantity"))
        for n, raw in enumerate(objects(payload.get("line_items"), "line_items"), 1)
    )
    return Fulfillment(
        platform_id(payload.get("id"), "fulfillment id"),
        platform_id(payload.get("order_id"), "order_id"),
        str(payload.get("status") or ""),
        lines,
    )


def restocks(refund: Refund, shipped: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Per line id: the units a refund returns to stock (they had shipped) and the units
    it releases (they had not). ``shipped``: units of each line shipped so far."""
    returned: dict[str, int] = {}
    released: dict[str, int] = {}
    for line in refund.lines:
        if line.restock is Restock.RETURN:
            returned[line.line_id] = returned.get(line.line_id, 0) + line.quantity
        elif line.restock is Restock.CANCEL:
            released[line.line_id] = released.get(line.line_id, 0) + line.quantity
        elif line.restock is Restock.LEGACY_RESTOCK:
            back = min(line.quantity, max(0, shipped.get(line.line_id, 0) - returned.get(line.line_id, 0)))
            if back:
                returned[line.line_id] = returned.get(line.line_id, 0) + back
            if line.quantity - back:
                released[line.line_id] = released.get(line.line_id, 0) + line.quantity - back
    return returned, released


def _customer(payload: Mapping[str, Any], order_id: str) -> Customer:
    raw = mapping(payload.get("customer"))
    customer_id = platform_id(raw["id"], "customer.id") if raw.get("id") is not None else f"guest-{order_id}"
    address = mapping(payload.get("billing_address"))
    first = raw.get("first_name") or address.get("first_name")
    last = raw.get("last_name") or address.get("last_name")
    name = text(" ".join(str(part) for part in (first, last) if part), MAX_NAME)
    email = payload.get("email") or payload.get("contact_email") or raw.get("email")
    return Customer(customer_id, text(email, MAX_NAME), name)
