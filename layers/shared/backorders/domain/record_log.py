"""The record log: what changed, when and why ("3 units of TEXTBOOK went to order 812
line 1 (priority 1)", why: "receipt PO-7").

Shops share the warehouse's SKUs but not their orders (PRODUCT.md, "Tenancy"): a shop
reads a SKU's log and its own orders' logs, and of other shops it may learn counts
only, never an order id, a movement id or a customer. So every entry keeps *why* as
causes, each with the shop it belongs to, and says it in words when a shop reads it:
its own causes as they are, other shops' as "a change by another shop". A message
never names another shop's order either (:func:`describe`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from backorders.domain.allotment import LineChange


@dataclass(frozen=True, slots=True)
class Cause:
    """Why something changed: ``text`` ("order 812 created", "receipt PO-7") and the shop
    it belongs to (``None``: the service's own, such as a scheduled sweep)."""

    text: str
    shop: str | None = None


class LogAbout(TypedDict, total=False):
    """What a record-log entry is about: a SKU, an order (``shop`` and ``order_id``), a
    line of it, and the units it moved."""

    sku: str | None
    shop: str | None
    order_id: str | None
    line_no: int | None
    delta: int | None
    filled: int | None  # units of a waiting backorder this change filled (``filled_units``)


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One stored record-log entry: when, why (its causes) and what."""

    at: str
    causes: tuple[Cause, ...]
    message: str
    sku: str | None = None
    order_id: str | None = None
    line_no: int | None = None
    delta: int | None = None


Event = str | Sequence[Cause]  # a text of the service's own, or causes with their shops

MAX_NAMED = 3


def causes_of(event: Event, shop: str | None = None) -> tuple[Cause, ...]:
    return (Cause(event, shop),) if isinstance(event, str) else tuple(event)


def render(causes: Iterable[Cause], reader: str | None) -> str:
    """The causes in words for ``reader`` (a shop; ``None``: nobody's own)."""
    own: list[str] = []
    others = 0
    for cause in causes:
        if cause.shop is None or cause.shop == reader:
            if cause.text not in own:
                own.append(cause.text)
        else:
            others += 1
    parts = own[:MAX_NAMED]
    if len(own) > MAX_NAMED:
        parts.append(f"{len(own) - MAX_NAMED} more")
    if others:
        parts.append("a change by another shop" if others == 1 else f"{others} changes by other shops")
    return ", ".join(parts) or "a change"


@dataclass(frozen=True, slots=True)
class Fill:
    """Units of a waiting backorder a change filled (the filled-backorders report)."""

    at: str
    order_id: str
    line_no: int
    sku: str
    units: int


FILL_GRACE_SECONDS = 60  # a line allotted within a minute of its entry never waited


def filled_units(change: LineChange, at: str) -> int:
    """Units of a backorder this change filled: units given to a line that had units on
    backorder, more than ``FILL_GRACE_SECONDS`` after it was entered (the allotter's first
    pass over a new order, which starts with every unit on backorder, fills nothing)."""
    before = change.before
    if change.delta <= 0 or before.backordered <= 0:
        return 0
    entered = datetime.fromisoformat(before.entered_at.replace("Z", "+00:00"))
    now = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return min(change.delta, before.backordered) if (now - entered).total_seconds() > FILL_GRACE_SECONDS else 0


def describe(change: LineChange) -> str:
    """A record-log sentence for one line's allotment change, written to that line's
    order log (which only its own shop reads): a line of another shop that took its
    units is not named."""
    line = change.after
    units = abs(change.delta)
    plural = "unit" if units == 1 else "units"
    where = f"order {line.order_id} line {line.line_no}"
    if change.delta > 0:
        return f"{units} {plural} of {line.sku} went to {where} (priority {line.priority})"
    if change.delta < 0:
        taker = change.taker
        if taker is None:
            return f"{units} {plural} of {line.sku} released from {where}"
        whose = (
            f"order {taker.order_id} (priority {taker.priority})"
            if taker.shop == line.shop
            else f"an order of another shop (priority {taker.priority})"
        )
        return f"{units} {plural} of {line.sku} taken back from {where} for {whose}"
    return f"{where} now waits for a manual fill"
