"""What both platforms share: signed raw bodies, JSON read exactly, and the snapshot of
an order as the webshop sees it at one moment (docs/decisions.md 65)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backorders.domain.inputs import business_time, identifier, money
from backorders.domain.model import Customer, NewLine, Order
from backorders.domain.orders import fingerprint


class Platform(StrEnum):
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


class Unmappable(ValueError):
    """A delivery that is genuine (its signature holds) but says something the service
    cannot turn into an order: stored, answered 200 and listed with this reason."""


def signature_ok(secret: str, body: bytes, given: str | None) -> bool:
    """Whether ``given`` is the base64 HMAC-SHA256 of the raw ``body`` under ``secret``
    (Shopify's ``X-Shopify-Hmac-Sha256``, WooCommerce's ``X-WC-Webhook-Signature``),
    compared in constant time. The bytes as received: a re-serialised body differs
    (WooCommerce's PHP writes ``/`` as ``\\/``)."""
    if not secret or not given:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, given.strip().encode())


def read_json(body: bytes) -> dict[str, Any]:
    """The body as an object, every number exact: integers stay integers of any size
    (Python never reads them through a float, so ids above 2^53 survive), decimals
    become ``Decimal``."""
    try:
        parsed = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Unmappable(f"the body is not JSON: {str(exc)[:200]}") from None
    except RecursionError:
        raise Unmappable("the body nests too deep to read") from None
    if not isinstance(parsed, dict):
        raise Unmappable("the body is not a JSON object")
    return parsed


def platform_id(value: object, what: str) -> str:
    """A platform's id (an integer, or text) as the service's identifier text."""
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise Unmappable(f"{what} is missing")
    if isinstance(value, Decimal):
        raise Unmappable(f"{what} is not a whole number: {value}")
    try:
        return identifier(str(value))
    except ValueError as exc:
        raise Unmappable(f"{what} {exc}") from None


def whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise Unmappable(f"{what} is not a whole number")
    try:
        number = Decimal(value)
        if not number.is_finite() or abs(number) >= 10**9 or number != number.to_integral_value():
            raise Unmappable(f"{what} is not a whole number below 10^9")
    except ArithmeticError:  # sNaN, an exponent beyond what Decimal holds
        raise Unmappable(f"{what} is not a whole number below 10^9") from None
    return int(number)


def price(value: object, what: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        return money(Decimal(str(value)))
    except (ArithmeticError, ValueError) as exc:
        raise Unmappable(f"{what} {exc}") from None


def when(value: object, what: str, *, now: datetime, utc_if_bare: bool = False) -> str:
    """A platform's time in the service's UTC form; ``utc_if_bare``: a time without a
    zone is UTC (WooCommerce's ``*_gmt`` fields)."""
    if utc_if_bare and isinstance(value, str) and value and not _has_zone(value):
        value = value + "Z"
    try:
        return business_time(value, now=now)
    except ValueError as exc:
        raise Unmappable(f"{what} {exc}") from None


def _has_zone(text: str) -> bool:
    tail = text[10:]
    return tail.endswith(("Z", "z")) or "+" in tail or "-" in tail


@dataclass(frozen=True, slots=True)
class ShopLine:
    """A line as the shop has it now: its own id, the SKU, the units it still orders
    (after edits, removals and refunds the platform applied) and whether it is stock at
    all (gift cards and lines that need no shipping are not)."""

    line_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    untracked: bool = False
    restocked: int = 0  # units the shop says it put back in stock after refunds (WooCommerce)


@dataclass(frozen=True, slots=True)
class HeldLine:
    """A line the service cannot order (no SKU, an invalid one): held and reported,
    never dropped."""

    line_id: str
    quantity: int
    reason: str


@dataclass(frozen=True, slots=True)
class ShopOrder:
    """An order as the webshop saw it at ``updated_at``. A later snapshot of the same
    order supersedes an earlier one; an older one never overwrites a newer."""

    platform: Platform
    order_id: str  # the platform's id, as text (64-bit ids kept exactly)
    number: str  # what the shop shows its customers ("#1001", "52")
    entered_at: str
    updated_at: str
    customer: Customer
    lines: tuple[ShopLine, ...]
    held: tuple[HeldLine, ...] = ()
    cancelled: bool = False
    placed: bool = True  # False: not an order yet (WooCommerce's pending payment, failed)
    completed: bool = False  # the shop says every line has been sent

    def newer_than(self, updated_at: str | None) -> bool:
        return updated_at is None or self.updated_at > updated_at


def line_numbers(known: Mapping[str, int], line_ids: Iterable[str]) -> dict[str, int]:
    """The service's line number of each platform line: a line seen before keeps its
    number, a new one gets the next free number, in the platform's order."""
    numbers = dict(known)
    following = max(numbers.values(), default=0)
    for line_id in line_ids:
        if line_id not in numbers:
            following += 1
            numbers[line_id] = following
    return numbers


def new_order(snapshot: ShopOrder, shop: str, numbers: Mapping[str, int]) -> Order:
    """The native order a snapshot creates: its orderable lines, numbered by ``numbers``
    (``line_numbers``); the fingerprint is the snapshot's, so a replay is a duplicate."""
    lines = tuple(
        NewLine(numbers[line.line_id], line.sku, line.quantity, line.unit_price)
        for line in snapshot.lines
        if line.quantity > 0
    )
    digest = fingerprint({"platform": snapshot.platform.value, "order": snapshot.order_id, "at": snapshot.updated_at})
    return Order(shop, snapshot.order_id, snapshot.entered_at, snapshot.customer, lines=lines, fingerprint=digest)


def sku_of(value: object) -> str | None:
    """A line's SKU, or None when it has none the service can use."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return identifier(value.strip())
    except ValueError:
        return None


def why_held(value: object) -> str:
    """Why a line with this SKU value is held (``sku_of`` gave None)."""
    if isinstance(value, str) and value.strip():
        shown = value if len(value) <= 80 else value[:80] + "..."
        return f"SKU {shown!r} is not a valid identifier"
    return "no SKU"


def read_line(raw: Mapping[str, Any], n: int, quantity: object, *, untracked: bool = False) -> ShopLine | HeldLine:
    """The ``n``-th line item (``id``, ``sku``, ``price``) ordering ``quantity``: a line,
    or held with its reason when it has no SKU the service can use."""
    line_id = platform_id(raw.get("id"), f"line_items[{n}].id")
    units = whole(quantity, f"line_items[{n}].quantity")
    sku = sku_of(raw.get("sku"))
    if sku is None:
        return HeldLine(line_id, units, why_held(raw.get("sku")))
    return ShopLine(line_id, sku, max(0, units), price(raw.get("price"), f"line_items[{n}].price"), untracked)


def objects(value: object, what: str) -> list[Mapping[str, Any]]:
    """A payload's list of objects (none: empty)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise Unmappable(f"{what} is not a list of objects")
    return value


MAX_NAME = 200  # characters of a customer's name or email kept; the rest is no one's name
MAX_NUMBER = 64  # characters of a shop's order number kept (for display)


def text(value: object, limit: int) -> str | None:
    """A payload's text for display or contact, cut to ``limit`` characters (None: none)."""
    if value is None or value == "":
        return None
    return str(value)[:limit]


def mapping(value: object) -> Mapping[str, Any]:
    """A payload's object, or an empty one when it is absent or not an object."""
    return value if isinstance(value, Mapping) else {}
