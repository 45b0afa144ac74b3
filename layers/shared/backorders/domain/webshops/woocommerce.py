"""WooCommerce's webhooks (REST v3 order payloads, as WooCommerce documents them):
``order.created``, ``order.updated`` (an order), ``order.deleted`` (its id), and the
unsigned ping WooCommerce sends when a webhook is saved.

Statuses map as WooCommerce's own stock handling does (decision 65): ``processing`` and
``on-hold`` are orders (WooCommerce reduces stock for them), ``completed`` an order whose
lines were all sent, ``cancelled`` a cancelled order, ``refunded`` an order refunded in
full (its open units are released like a cancel's; what comes back to stock is only
what the shop restocked: each line's ``_restock_refunded_items``, the running total
WooCommerce keeps when a refund restocks, decision 71), and ``pending``, ``failed``, ``checkout-draft`` and
``draft`` are no orders yet. ``*_gmt`` times carry no zone and are UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
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

TOPICS = frozenset({"order.created", "order.updated", "order.deleted"})
PLACED = frozenset({"processing", "on-hold", "completed", "refunded"})
NOT_YET = frozenset({"pending", "failed", "checkout-draft", "draft"})
CANCELLED = frozenset({"cancelled", "trash"})
_PING = re.compile(rb"webhook_id=\d+")


def is_ping(body: bytes) -> bool:
    """The form-encoded ``webhook_id=<n>`` WooCommerce sends, unsigned, on saving a webhook."""
    return _PING.fullmatch(body.strip()) is not None


def order(payload: Mapping[str, Any], *, now: datetime) -> ShopOrder:
    """The snapshot an order payload (webhooks and ``wc/v3/orders``) gives."""
    order_id = platform_id(payload.get("id"), "order id")
    status = str(payload.get("status") or "")
    if status not in PLACED | NOT_YET | CANCELLED:
        raise Unmappable(f"status {status!r} is not one WooCommerce documents")
    found = [
        _restocked(read_line(raw, n, raw.get("quantity")), raw, n)
        for n, raw in enumerate(objects(payload.get("line_items"), "line_items"), 1)
    ]
    created = when(payload.get("date_created_gmt"), "date_created_gmt", now=now, utc_if_bare=True)
    modified = payload.get("date_modified_gmt") or payload.get("date_created_gmt")
    return ShopOrder(
        platform=Platform.WOOCOMMERCE,
        order_id=order_id,
        number=str(text(payload.get("number"), MAX_NUMBER) or order_id),
        entered_at=created,
        updated_at=when(modified, "date_modified_gmt", now=now, utc_if_bare=True),
        customer=_customer(payload, order_id),
        lines=tuple(line for line in found if isinstance(line, ShopLine)),
        held=tuple(line for line in found if isinstance(line, HeldLine)),
        cancelled=status in CANCELLED or status == "refunded",
        placed=status not in NOT_YET,
        completed=status == "completed",
    )


RESTOCKED_META = "_restock_refunded_items"


def _restocked(line: ShopLine | HeldLine, raw: Mapping[str, Any], n: int) -> ShopLine | HeldLine:
    """The line with the units WooCommerce put back in stock for its refunds: the line's
    ``_restock_refunded_items`` meta, a running total WooCommerce keeps when a refund
    restocks (a refund without "restock refunded items" leaves it alone)."""
    if isinstance(line, HeldLine):
        return line
    for meta in objects(raw.get("meta_data"), f"line_items[{n}].meta_data"):
        if meta.get("key") == RESTOCKED_META:
            return replace(line, restocked=max(0, whole(meta.get("value"), f"line_items[{n}].{RESTOCKED_META}")))
    return line


def deleted(payload: Mapping[str, Any]) -> str:
    """The id of the order an ``order.deleted`` delivery names."""
    return platform_id(payload.get("id"), "order id")


def _customer(payload: Mapping[str, Any], order_id: str) -> Customer:
    billing = mapping(payload.get("billing"))
    raw_id = payload.get("customer_id")
    customer_id = platform_id(raw_id, "customer_id") if raw_id not in (None, 0, "0", "") else f"guest-{order_id}"
    name = text(" ".join(str(part) for part in (billing.get("first_name"), billing.get("last_name")) if part), MAX_NAME)
    email = billing.get("email")
    return Customer(customer_id, text(email, MAX_NAME), name)
