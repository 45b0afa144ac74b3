"""Notifications: the intents a state change leaves behind, and what a message says.

A use case that changes state writes, in the same transaction, an **intent** with a stable
id (a transactional outbox, decision 72): "units of this line were filled", "this PO was
recommended". Intents are facts, not messages. The notifier later takes the pending
intents of one recipient (an **audience**: a customer of a shop, a supplier's buyers, the
buyer, a shop) and composes the messages from them and from the state as it is then:

- a customer's intents within the shop's window become one message (``customer_news``),
  and what no longer holds is not said (a line that went on backorder and was filled
  within the window: the customer hears of neither);
- a buyer's intents are one message each; of one PO's intents only the newest counts.

Pure: no storage, no SES, no templates (``backorders.messages`` renders).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from backorders.domain.allotment import LineChange
from backorders.domain.model import OrderLine, Product, SkuBalance
from backorders.domain.purchasing import PurchaseOrder
from backorders.domain.record_log import Cause, filled_units


class Kind(StrEnum):
    # customers (each switchable per shop, ``CUSTOMER_KINDS``)
    ORDER_ENTERED = "order_entered"  # an order came in: the lines still waiting then are on backorder
    BACKORDERED = "backordered"  # units of a line went back on backorder (taken back, or released)
    DATE_MOVED = "date_moved"  # a waiting line's expected date moved by a day or more
    FILLED = "filled"  # units of a waiting line were allotted
    CANCELLED = "cancelled"  # backordered units were cancelled
    # buyers
    PO = "po"  # a backorder / emergency / regular PO was recommended or updated
    LOW_STOCK = "low_stock"  # a SKU's projected position fell under its minimum
    UNKNOWN_SKU = "unknown_sku"  # an order asked for a SKU the catalogue does not have
    DIGEST = "digest"  # the buyer's daily digest
    # shops
    CHOICE = "choice"  # a customer answered a backorder email


class Status(StrEnum):
    PENDING = "pending"
    SENT = "sent"  # SES accepted the message that covers it
    SKIPPED = "skipped"  # nothing left to say, switched off, or no address to send to
    FAILED = "failed"  # SES refused it for good, or it kept failing (listed in the digest)
    UNCONFIRMED = "unconfirmed"  # a run stopped while SES had it: maybe sent, never sent again


# What a shop switches on and off (``ShopSettings.customer_messages``); ORDER_ENTERED is the
# same message as BACKORDERED.
CUSTOMER_KINDS = ("backordered", "date_moved", "filled", "cancelled")
OPTIONAL_KINDS = frozenset({"date_moved", "filled"})  # these carry List-Unsubscribe
_SWITCH = {Kind.ORDER_ENTERED: "backordered"}

GRACE = timedelta(seconds=60)  # a new order's lines are looked at once the allotter had its pass
DAY = timedelta(days=1)


def customer_audience(shop: str, customer_id: str, order_id: str) -> str:
    """One customer of one shop; a guest (no customer id) is one per order."""
    return f"c#{shop}#{customer_id}" if customer_id else f"c#{shop}#order:{order_id}"


def supplier_audience(supplier_id: str) -> str:
    return f"s#{supplier_id}"


BUYER = "b"


def shop_audience(shop: str) -> str:
    return f"shop#{shop}"


@dataclass(frozen=True, slots=True)
class Intent:
    """Something a recipient may be told, written with the change that caused it."""

    audience: str
    intent_id: str  # stable: the same cause always has the same id
    kind: Kind
    at: str  # when the change was made
    due_at: str  # not sent before (a customer's combining window)
    shop: str | None = None
    order_id: str | None = None
    line_no: int | None = None
    sku: str | None = None
    supplier_id: str | None = None
    po_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    status: Status = Status.PENDING
    attempts: int = 0
    message_id: str | None = None
    reason: str | None = None

    @property
    def switch(self) -> str:
        return _SWITCH.get(self.kind, self.kind.value)


def _stamp(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def later(at: str, delta: timedelta) -> str:
    """``at`` (the service's UTC timestamp) plus ``delta``, in the same format."""
    return (_stamp(at) + delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------ customer intents


def _customer(line: OrderLine, kind: Kind, at: str, window: timedelta, key: str, **data: Any) -> Intent:
    return Intent(
        audience=customer_audience(line.shop, line.customer_id, line.order_id),
        intent_id=f"{kind.value}:{line.order_id}:{line.line_no}:{key}",
        kind=kind,
        at=at,
        due_at=later(at, window),
        shop=line.shop,
        order_id=line.order_id,
        line_no=line.line_no,
        sku=line.sku,
        data=data,
    )


def order_entered(shop: str, order_id: str, customer_id: str, at: str, window: timedelta) -> Intent:
    """A new order: once the allotter had its pass, its lines still waiting are on backorder."""
    return Intent(
        audience=customer_audience(shop, customer_id, order_id),
        intent_id=f"{Kind.ORDER_ENTERED.value}:{order_id}",
        kind=Kind.ORDER_ENTERED,
        at=at,
        due_at=later(at, max(window, GRACE)),
        shop=shop,
        order_id=order_id,
    )


def change_intents(changes: Iterable[LineChange], at: str, window: timedelta) -> list[Intent]:
    """What line changes tell their customers: units filled, units that went back on
    backorder, backordered units cancelled. Each change is one line version, so its
    intent's id is the version the change writes."""
    out: list[Intent] = []
    for change in changes:
        before, after = change.before, change.after
        key = str(before.version + 1)
        if filled := filled_units(change, at):
            out.append(_customer(after, Kind.FILLED, at, window, key, units=filled))
        elif after.cancelled > before.cancelled and before.backordered > after.backordered:
            units = min(after.cancelled - before.cancelled, before.backordered - after.backordered)
            out.append(_customer(after, Kind.CANCELLED, at, window, key, units=units))
        elif after.backordered > before.backordered and change.delta < 0 and before.is_open:
            units = after.backordered - before.backordered
            out.append(_customer(after, Kind.BACKORDERED, at, window, key, units=units))
    return out


def date_moved(line: OrderLine, new_on: str | None, at: str, window: timedelta) -> Intent | None:
    """A waiting line's expected date moved by a day or more (a first date is no move)."""
    if line.expected_on is None or new_on is None:
        return None
    old, new = date.fromisoformat(line.expected_on), date.fromisoformat(new_on)
    if abs(new - old) < DAY:
        return None
    return _customer(line, Kind.DATE_MOVED, at, window, f"{line.version + 1}", was=line.expected_on, now=new_on)


# ------------------------------------------------------------------ buyer and shop intents


def is_low(product: Product, balance: SkuBalance) -> bool:
    """A tracked, known product whose projected position is under its minimum (PRODUCT.md,
    "Notifications": low stock). A phased-out product is run down on purpose."""
    if product.min_stock is None or not balance.known or not product.tracked or product.phased_out:
        return False
    return balance.projected_position < product.min_stock


def _buyer_audience(supplier_id: str | None) -> str:
    return supplier_audience(supplier_id) if supplier_id else BUYER


def low_stock(product: Product, balance: SkuBalance, at: str) -> Intent:
    return Intent(
        audience=_buyer_audience(product.supplier_id),
        intent_id=f"{Kind.LOW_STOCK.value}:{product.sku}:{balance.version + 1}",
        kind=Kind.LOW_STOCK,
        at=at,
        due_at=at,
        sku=product.sku,
        supplier_id=product.supplier_id,
        data={
            "projected_position": balance.projected_position,
            "min_stock": product.min_stock,
            "on_hand": balance.on_hand,
            "backordered": balance.backordered,
            "incoming": balance.incoming,
        },
    )


def unknown_sku(sku: str, version: int, causes: Sequence[Cause], at: str) -> Intent:
    """An order asked for a SKU the catalogue does not have (the buyer hears of it once)."""
    shop = next((c.shop for c in causes if c.shop), None)
    return Intent(
        audience=BUYER,
        intent_id=f"{Kind.UNKNOWN_SKU.value}:{sku}:{version + 1}",
        kind=Kind.UNKNOWN_SKU,
        at=at,
        due_at=at,
        shop=shop,
        sku=sku,
        data={"cause": "; ".join(dict.fromkeys(c.text for c in causes))[:300]},
    )


def po_intent(po: PurchaseOrder, event: str, at: str) -> Intent:
    """A PO recommended or updated by the planner (its version after the write names it)."""
    return Intent(
        audience=_buyer_audience(po.supplier_id),
        intent_id=f"{Kind.PO.value}:{po.po_id}:{po.version + 1}",
        kind=Kind.PO,
        at=at,
        due_at=at,
        supplier_id=po.supplier_id,
        po_id=po.po_id,
        data={"event": event},
    )


def digest(day: str, at: str) -> Intent:
    return Intent(audience=BUYER, intent_id=f"{Kind.DIGEST.value}:{day}", kind=Kind.DIGEST, at=at, due_at=at,
                  data={"day": day})  # fmt: skip


def choice_made(shop: str, order_id: str, choice_id: str, action: str, cancelled: Mapping[int, int],
                at: str) -> Intent:  # fmt: skip
    """A customer answered a backorder email: the shop hears of it."""
    return Intent(
        audience=shop_audience(shop),
        intent_id=f"{Kind.CHOICE.value}:{choice_id}",
        kind=Kind.CHOICE,
        at=at,
        due_at=at,
        shop=shop,
        order_id=order_id,
        data={"action": action, "cancelled": {str(k): v for k, v in cancelled.items()}},
    )


# ------------------------------------------------------------------ what a customer message says


@dataclass(frozen=True, slots=True)
class LineNews:
    """One line in a customer message, as it stands when the message is composed."""

    order_id: str
    line_no: int
    sku: str
    quantity: int
    backordered: int = 0
    expected_on: str | None = None
    expected_source: str | None = None
    was_expected_on: str | None = None  # the date it moved from (DATE_MOVED)
    filled: int = 0  # units allotted since the customer last heard (FILLED)
    cancelled: int = 0  # backordered units cancelled (CANCELLED)


@dataclass(frozen=True, slots=True)
class CustomerNews:
    """What one customer message says, section by section."""

    backordered: tuple[LineNews, ...] = ()
    moved: tuple[LineNews, ...] = ()
    filled: tuple[LineNews, ...] = ()  # ``backordered == 0``: complete, else partly
    cancelled: tuple[LineNews, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.backordered or self.moved or self.filled or self.cancelled)

    @property
    def kinds(self) -> frozenset[str]:
        names = ("backordered", "date_moved", "filled", "cancelled")
        parts = (self.backordered, self.moved, self.filled, self.cancelled)
        return frozenset(name for name, part in zip(names, parts, strict=True) if part)

    @property
    def only_optional(self) -> bool:
        return bool(self.kinds) and self.kinds <= OPTIONAL_KINDS

    @property
    def waiting_orders(self) -> tuple[str, ...]:
        """The orders that still have lines on backorder (the message offers a choice for each)."""
        return tuple(dict.fromkeys(n.order_id for n in self.backordered + self.moved if n.backordered))


def customer_news(
    intents: Sequence[Intent], lines: Mapping[tuple[str, int], OrderLine], enabled: Iterable[str]
) -> CustomerNews:
    """Combine one customer's pending intents against the lines as they are now:

    - a line that went on backorder (its order came in, or units went back) and still
      waits is said to be on backorder, with its current units and date: what else
      happened to it within the window is not news to this customer;
    - else, a fill is said (partly or completely), and a date that moved by a day or more
      (from the oldest date the intents knew to the line's date now);
    - backordered units cancelled are said in any case.

    Kinds the shop switched off are not said. ``lines`` are every line of the intents'
    orders, by (order id, line number)."""
    on = set(enabled)
    by_line: dict[tuple[str, int], list[Intent]] = {}
    for intent in sorted(intents, key=lambda i: (i.at, i.intent_id)):
        if intent.order_id is None:
            continue
        if intent.kind is Kind.ORDER_ENTERED:
            for key in sorted(k for k in lines if k[0] == intent.order_id):
                by_line.setdefault(key, []).append(intent)
        elif intent.line_no is not None:
            by_line.setdefault((intent.order_id, intent.line_no), []).append(intent)
    backordered, moved, filled, cancelled = [], [], [], []
    for key in sorted(by_line):
        line = lines.get(key)
        if line is None:
            continue
        told = by_line[key]
        kinds = {i.kind for i in told}
        base = LineNews(key[0], key[1], line.sku, line.quantity, line.backordered, line.expected_on,
                        line.expected_source)  # fmt: skip
        units = sum(int(i.data.get("units", 0)) for i in told if i.kind is Kind.CANCELLED)
        if units and "cancelled" in on:
            cancelled.append(_with(base, cancelled=units))
        waiting = line.backordered > 0 and line.is_open
        if kinds & {Kind.ORDER_ENTERED, Kind.BACKORDERED}:
            if waiting and "backordered" in on:
                backordered.append(base)
            continue
        if (units := sum(int(i.data.get("units", 0)) for i in told if i.kind is Kind.FILLED)) and "filled" in on:
            filled.append(_with(base, filled=units))
        moves = [i for i in told if i.kind is Kind.DATE_MOVED]
        if moves and waiting and line.expected_on and "date_moved" in on:
            was = str(moves[0].data.get("was"))
            if abs(date.fromisoformat(line.expected_on) - date.fromisoformat(was)) >= DAY:
                moved.append(_with(base, was_expected_on=was))
    return CustomerNews(tuple(backordered), tuple(moved), tuple(filled), tuple(cancelled))


def _with(news: LineNews, **changes: Any) -> LineNews:
    values = {name: getattr(news, name) for name in LineNews.__slots__}
    values.update(changes)
    return LineNews(**values)


# ------------------------------------------------------------------ buyers


def newest_per_po(intents: Sequence[Intent]) -> tuple[list[Intent], list[Intent]]:
    """A buyer's intents to send, one message each, and those superseded: of one PO's
    intents only the newest is sent (it shows the PO as it is now)."""
    newest: dict[str, Intent] = {}
    send, superseded = [], []
    for intent in sorted(intents, key=lambda i: (i.at, i.intent_id)):
        if intent.kind is Kind.PO and intent.po_id:
            if (old := newest.get(intent.po_id)) is not None:
                superseded.append(old)
            newest[intent.po_id] = intent
        else:
            send.append(intent)
    return send + list(newest.values()), superseded


def address_digest(address: str) -> str:
    """What is kept of an address where an address must not be: its digest."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def message_id(audience: str, intents: Iterable[Intent]) -> str:
    """A message's stable id: the same intents always make the same message."""
    ids = sorted(i.intent_id for i in intents)
    return hashlib.sha256("\n".join([audience, *ids]).encode()).hexdigest()[:32]
