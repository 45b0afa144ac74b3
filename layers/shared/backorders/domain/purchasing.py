"""Purchasing rules (PRODUCT.md "Purchasing", the Optiply seed): what to order, and when
an order is worth placing. Pure: positions and terms in, proposed purchase orders out.

- A **backorder** PO, for a supplier with backorders on: every product with a negative
  stock position gets the quantity that brings its projected position (stock position +
  incoming) up to its minimum stock, or exactly to zero when phased out, rounded up to
  the order multiple.
- A **regular** PO, on the supplier's review date: every product at or below its minimum
  is ordered up to its maximum (min/max), rounded up the same way.
- Either is proposed only when its value (quantity x purchase price) exceeds the bound
  the threshold mode names: the fixed order cost, the MOV, or their sum (``none``: always).

A proposal is a function of the stored state only, so planning twice proposes the same
thing: the planner updates an open recommendation in place with it, never adds one.
Placed quantities count as incoming, so what is placed is never proposed again.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from statistics import NormalDist
from typing import Any

from backorders.domain.errors import Conflict, InvalidInput
from backorders.domain.model import OrderLine, Product, SkuBalance

MAX_PO_LINES = 90  # one PO, its SKU counters and the planner's bookkeeping fit one transaction


class ThresholdMode(StrEnum):
    NONE = "none"
    FIXED_COST = "fixed_cost"
    MOV = "mov"
    BOTH = "both"


class StockoutAction(StrEnum):
    """What to do when demand threatens a stockout before the next review."""

    EMERGENCY = "emergency"
    PREPONE = "prepone"
    OFF = "off"


class PoKind(StrEnum):
    BACKORDER = "backorder"
    REGULAR = "regular"
    EMERGENCY = "emergency"


class PoStatus(StrEnum):
    RECOMMENDED = "recommended"
    PLACED = "placed"
    PARTLY_RECEIVED = "partly_received"
    RECEIVED = "received"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset({PoStatus.PLACED, PoStatus.PARTLY_RECEIVED})  # their outstanding units are incoming


@dataclass(frozen=True, slots=True)
class Terms:
    """A supplier's purchasing settings, typed (the API stores them as it took them)."""

    supplier_id: str
    backorders_enabled: bool = False
    fixed_order_cost: Decimal = Decimal(0)
    minimum_order_value: Decimal = Decimal(0)
    threshold_mode: ThresholdMode = ThresholdMode.NONE
    lead_time_days: int = 7
    review_period_days: int = 7
    next_review_date: date | None = None
    stockout_action: StockoutAction = StockoutAction.OFF
    service_level: float = 0.95  # the chance of no stockout before an order arrives (safety stock)

    @classmethod
    def of(cls, supplier_id: str, settings: Mapping[str, Any]) -> Terms:
        review = settings.get("next_review_date")
        return cls(
            supplier_id,
            backorders_enabled=bool(settings.get("backorders_enabled", False)),
            fixed_order_cost=Decimal(str(settings.get("fixed_order_cost", 0))),
            minimum_order_value=Decimal(str(settings.get("minimum_order_value", 0))),
            threshold_mode=ThresholdMode(settings.get("threshold_mode", "none")),
            lead_time_days=int(settings.get("lead_time_days", 7)),
            review_period_days=int(settings.get("review_period_days", 7)),
            next_review_date=date.fromisoformat(review) if review else None,
            stockout_action=StockoutAction(settings.get("stockout_action", "off")),
            service_level=float(settings.get("service_level", 0.95)),
        )

    def days_to_review(self, today: date) -> int:
        """Days until the next regular order (no date set: one review period)."""
        if self.next_review_date is None:
            return self.review_period_days
        return max(0, (self.next_review_date - today).days)

    def bound(self) -> Decimal:
        """The value a proposal must exceed (``none``: any value, even zero, passes)."""
        return {
            ThresholdMode.NONE: Decimal(-1),
            ThresholdMode.FIXED_COST: self.fixed_order_cost,
            ThresholdMode.MOV: self.minimum_order_value,
            ThresholdMode.BOTH: self.fixed_order_cost + self.minimum_order_value,
        }[self.threshold_mode]

    def threshold_passed(self, value: Decimal) -> str | None:
        """What the PO records as the threshold it passed, or None when it did not."""
        bound = self.bound()
        if value <= bound:
            return None
        if self.threshold_mode is ThresholdMode.NONE:
            return "none"
        return f"{self.threshold_mode.value} {bound}"

    def review_due(self, today: date) -> bool:
        return self.next_review_date is not None and self.next_review_date <= today

    def review_after(self, today: date) -> date:
        """The next review date once today's review is done: moved on by whole periods."""
        step = timedelta(days=self.review_period_days)
        moved = self.next_review_date or today
        while moved <= today:
            moved += step
        return moved


@dataclass(frozen=True, slots=True)
class Position:
    """What planning knows of one SKU: its settings and its counters."""

    product: Product
    balance: SkuBalance

    @property
    def projected(self) -> int:
        return self.balance.projected_position


@dataclass(frozen=True, slots=True)
class PoLine:
    sku: str
    quantity: int
    unit_price: Decimal
    received: int = 0
    incoming_seen: int = 0  # the SKU's incoming this line was planned against
    purchased_seen: int = 0  # and the units its placed POs had bought by then

    @property
    def value(self) -> Decimal:
        return self.quantity * self.unit_price

    @property
    def outstanding(self) -> int:
        return max(0, self.quantity - self.received)


@dataclass(frozen=True, slots=True)
class Proposal:
    """A purchase order the rules ask for: one supplier, one kind."""

    supplier_id: str
    kind: PoKind
    lines: tuple[PoLine, ...]
    threshold: str  # the threshold it passed

    @property
    def value(self) -> Decimal:
        return sum((line.value for line in self.lines), Decimal(0))


def rounded_up(quantity: int, multiple: int | None) -> int:
    """``quantity`` rounded up to the order multiple (none set: as it is)."""
    if quantity <= 0 or not multiple or multiple <= 1:
        return max(0, quantity)
    return -(-quantity // multiple) * multiple


def orderable(position: Position, supplier_id: str) -> bool:
    """A tracked product of this supplier with a purchase price can be ordered."""
    product = position.product
    return product.supplier_id == supplier_id and product.tracked and product.purchase_price is not None


def backorder_quantity(position: Position) -> int:
    """Units to order for a negative stock position: up to minimum stock (exactly to zero
    when phased out), counting what is already incoming."""
    if position.balance.stock_position >= 0:
        return 0
    product = position.product
    target = 0 if product.phased_out else (product.min_stock or 0)
    return rounded_up(target - position.projected, product.order_multiple)


def regular_quantity(position: Position) -> int:
    """Units to order at a review: at or below minimum -> up to maximum (min/max). A
    phased-out product is ordered only to zero; without a maximum, up to the minimum."""
    product = position.product
    if product.phased_out:
        return rounded_up(-position.projected, product.order_multiple)
    if product.min_stock is None or position.projected > product.min_stock:
        return 0
    target = product.max_stock if product.max_stock is not None else product.min_stock
    return rounded_up(max(target, product.min_stock) - position.projected, product.order_multiple)


def _proposal(terms: Terms, kind: PoKind, quantities: Iterable[tuple[Position, int]]) -> Proposal | None:
    wanted = sorted(((p, q) for p, q in quantities if q > 0), key=lambda pq: (pq[0].projected, pq[0].product.sku))
    lines = tuple(
        PoLine(
            p.product.sku,
            q,
            p.product.purchase_price or Decimal(0),
            incoming_seen=p.balance.incoming,
            purchased_seen=p.balance.purchased,
        )
        for p, q in wanted[:MAX_PO_LINES]
    )  # the most urgent first; the rest waits for the next PO
    if not lines:
        return None
    threshold = terms.threshold_passed(sum((line.value for line in lines), Decimal(0)))
    return Proposal(terms.supplier_id, kind, lines, threshold) if threshold is not None else None


def backorder_proposal(terms: Terms, positions: Iterable[Position]) -> Proposal | None:
    """The supplier's backorder PO, or None (backorders off, nothing short, or below the threshold)."""
    if not terms.backorders_enabled:
        return None
    mine = [p for p in positions if orderable(p, terms.supplier_id)]
    return _proposal(terms, PoKind.BACKORDER, ((p, backorder_quantity(p)) for p in mine))


def regular_proposal(terms: Terms, positions: Iterable[Position]) -> Proposal | None:
    """The supplier's regular (min/max) PO at a review, or None."""
    mine = [p for p in positions if orderable(p, terms.supplier_id)]
    return _proposal(terms, PoKind.REGULAR, ((p, regular_quantity(p)) for p in mine))


LISTING_HORIZON_DAYS = 90  # a SKU whose stock lasts less than this at its demand rate is watched


# ------------------------------------------------------------------ emergency and preponed orders


def safety_stock(terms: Terms, demand_per_day: float) -> int:
    """z * sigma * sqrt(L), with sigma the daily demand's spread taken as Poisson's
    (sqrt of the rate): z * sqrt(rate * L), z from the supplier's service level."""
    if demand_per_day <= 0:
        return 0
    z = NormalDist().inv_cdf(terms.service_level)
    return math.ceil(max(0.0, z) * math.sqrt(demand_per_day * terms.lead_time_days))


def runs_out_in(position: Position, terms: Terms, demand_per_day: float) -> float | None:
    """Days until the projected position, less safety stock, is used up (None: no demand)."""
    if demand_per_day <= 0:
        return None
    return (position.projected - safety_stock(terms, demand_per_day)) / demand_per_day


def at_risk(position: Position, terms: Terms, demand_per_day: float, today: date) -> bool:
    """Demand threatens a stockout before the next regular order can arrive: the
    projected position less demand runs below zero before the next review plus lead time."""
    days = runs_out_in(position, terms, demand_per_day)
    return days is not None and days < terms.days_to_review(today) + terms.lead_time_days


def emergency_quantity(position: Position, terms: Terms, demand_per_day: float, today: date) -> int:
    """Enough to reach the next regular order's arrival with safety stock and minimum left."""
    if not at_risk(position, terms, demand_per_day, today):
        return 0
    horizon = terms.days_to_review(today) + terms.lead_time_days
    need = math.ceil(demand_per_day * horizon) + safety_stock(terms, demand_per_day) + (position.product.min_stock or 0)
    return rounded_up(need - position.projected, position.product.order_multiple)


def emergency_proposal(
    terms: Terms, positions: Iterable[Position], rates: Mapping[str, float], today: date
) -> Proposal | None:
    """The supplier's emergency PO (``stockout_action`` emergency), or None."""
    if terms.stockout_action is not StockoutAction.EMERGENCY:
        return None
    mine = [p for p in positions if orderable(p, terms.supplier_id) and not p.product.phased_out]
    quantities = ((p, emergency_quantity(p, terms, rates.get(p.product.sku, 0.0), today)) for p in mine)
    return _proposal(terms, PoKind.EMERGENCY, quantities)


def preponed_review(
    terms: Terms, positions: Iterable[Position], rates: Mapping[str, float], today: date
) -> date | None:
    """The earlier review date (``stockout_action`` prepone) at which ordering still beats
    the stockout: the day the first product at risk must be ordered, at the latest. None
    when nothing is at risk, the date would not move forward, or the order it brings
    forward would not pass the supplier's threshold."""
    if terms.stockout_action is not StockoutAction.PREPONE:
        return None
    mine = [p for p in positions if orderable(p, terms.supplier_id) and not p.product.phased_out]
    risky = [p for p in mine if at_risk(p, terms, rates.get(p.product.sku, 0.0), today)]
    if not risky:
        return None

    def latest_order_day(p: Position) -> date:
        days = (runs_out_in(p, terms, rates[p.product.sku]) or 0) - terms.lead_time_days
        return today + timedelta(days=max(0, math.floor(days)))

    order_by = min(latest_order_day(p) for p in risky)
    if terms.next_review_date is not None and order_by >= terms.next_review_date:
        return None
    # the threshold applies to what the products at risk need until the regular order
    needed = (
        (p.product.purchase_price or Decimal(0)) * emergency_quantity(p, terms, rates[p.product.sku], today)
        for p in risky
    )
    return order_by if terms.threshold_passed(sum(needed, Decimal(0))) is not None else None


def needs_attention(product: Product, balance: SkuBalance, demand_per_day: float = 0.0) -> bool:
    """Whether planning must look at this SKU: negative stock position, a projected
    position at or below minimum, or one that demand uses up within the listing horizon
    (room for any lead time plus review period up to 90 days). The sparse planning index
    holds exactly these."""
    if not product.supplier_id or not product.tracked or not balance.known:
        return False
    if balance.stock_position < 0:
        return True
    if product.phased_out:
        return False
    floor = product.min_stock or 0
    if product.min_stock is not None and balance.projected_position <= floor:
        return True
    return demand_per_day > 0 and balance.projected_position - floor < demand_per_day * LISTING_HORIZON_DAYS


# ------------------------------------------------------------------ the PO life cycle


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """recommended -> placed -> partly_received -> received, or withdrawn (by the planner)
    / cancelled (by a buyer). Placed, unreceived units are the SKUs' ``incoming``."""

    po_id: str
    supplier_id: str
    kind: PoKind
    status: PoStatus
    created_at: str
    lines: tuple[PoLine, ...]
    threshold: str | None = None
    expected_at: str | None = None  # the expected arrival (a date), once placed
    placed_at: str | None = None
    receipts: frozenset[str] = frozenset()
    history: tuple[Mapping[str, Any], ...] = ()
    version: int = 0

    @property
    def value(self) -> Decimal:
        return sum((line.value for line in self.lines), Decimal(0))

    @property
    def incoming(self) -> dict[str, int]:
        """What this PO adds to its SKUs' incoming now."""
        if self.status not in OPEN_STATUSES:
            return {}
        return {line.sku: line.outstanding for line in self.lines if line.outstanding}

    @property
    def bought(self) -> dict[str, int]:
        """What this PO has bought of each SKU: a placed one every unit it orders (a
        receipt changes nothing here), a cancelled one what it received before (up to
        what it ordered; more is stock, not an order), a recommendation nothing."""
        if self.status in OPEN_STATUSES or self.status is PoStatus.RECEIVED:
            return {line.sku: line.quantity for line in self.lines}
        if self.status is PoStatus.CANCELLED:
            return {line.sku: min(line.received, line.quantity) for line in self.lines if line.received}
        return {}

    def noted(self, at: str, what: str, **more: Any) -> tuple[Mapping[str, Any], ...]:
        return (*self.history, {"at": at, "event": what, **more})


def recommend(po_id: str, proposal: Proposal, at: str) -> PurchaseOrder:
    return PurchaseOrder(
        po_id, proposal.supplier_id, proposal.kind, PoStatus.RECOMMENDED, at, proposal.lines, proposal.threshold,
        history=({"at": at, "event": "recommended", "value": str(proposal.value)},),
    )  # fmt: skip


def revise(po: PurchaseOrder, proposal: Proposal, at: str) -> PurchaseOrder | None:
    """The open recommendation updated in place to the new proposal; None if it is the same."""
    if po.lines == proposal.lines and po.threshold == proposal.threshold:
        return None
    note = po.noted(at, "updated", value=str(proposal.value))
    return replace(po, lines=proposal.lines, threshold=proposal.threshold, history=note)


def withdraw(po: PurchaseOrder, at: str) -> PurchaseOrder:
    return _moved(po, PoStatus.WITHDRAWN, at, "withdrawn: nothing to order any more")


def place(
    po: PurchaseOrder, *, at: str, today: date, lead_time_days: int,
    quantities: Mapping[str, int] | None = None, expected: date | None = None,
) -> PurchaseOrder:  # fmt: skip
    """Place a recommendation, with optional quantity edits (0 drops a line) and an
    expected arrival (default: today plus the supplier's lead time)."""
    if po.status is not PoStatus.RECOMMENDED:
        raise Conflict(f"purchase order {po.po_id} is {po.status.value}; only a recommended one can be placed",
                       field="status")  # fmt: skip
    edits = dict(quantities or {})
    if unknown := sorted(set(edits) - {line.sku for line in po.lines}):
        raise InvalidInput(f"purchase order {po.po_id} has no line for SKU {unknown[0]}", field="lines")
    lines = tuple(
        replace(line, quantity=edits.get(line.sku, line.quantity))
        for line in po.lines
        if edits.get(line.sku, line.quantity) > 0
    )
    if not lines:
        raise InvalidInput("a purchase order needs at least one line with a quantity", field="lines")
    arrival = (expected or today + timedelta(days=lead_time_days)).isoformat()
    placed = _moved(po, PoStatus.PLACED, at, "placed", expected_at=arrival)
    return replace(placed, lines=lines, expected_at=arrival, placed_at=at)


def receive(po: PurchaseOrder, receipt_id: str, quantities: Mapping[str, int], at: str) -> PurchaseOrder:
    """Book a receipt against a placed PO. Over-receipts are accepted and recorded (the
    incoming count never goes below zero for them); a SKU the PO does not order is refused."""
    if po.status not in OPEN_STATUSES:
        raise Conflict(f"purchase order {po.po_id} is {po.status.value}; receipts need a placed one", field="status")
    by_sku = {line.sku: line for line in po.lines}
    if unknown := sorted(set(quantities) - set(by_sku)):
        raise InvalidInput(f"purchase order {po.po_id} has no line for SKU {unknown[0]}", field="lines")
    lines = tuple(
        PoLine(ln.sku, ln.quantity, ln.unit_price, ln.received + quantities.get(ln.sku, 0)) for ln in po.lines
    )
    done = all(line.received >= line.quantity for line in lines)
    status = PoStatus.RECEIVED if done else PoStatus.PARTLY_RECEIVED
    note = po.noted(at, f"receipt {receipt_id}", lines={sku: q for sku, q in sorted(quantities.items())})
    return replace(po, status=status, lines=lines, receipts=po.receipts | {receipt_id}, history=note)


def move(po: PurchaseOrder, expected: date, at: str) -> PurchaseOrder:
    """A placed PO's new expected arrival."""
    if po.status not in OPEN_STATUSES:
        raise Conflict(f"purchase order {po.po_id} is {po.status.value}; only a placed one has an arrival to move",
                       field="status")  # fmt: skip
    arrival = expected.isoformat()
    if arrival == po.expected_at:
        return po
    return replace(po, expected_at=arrival, history=po.noted(at, "moved", expected_at=arrival, was=po.expected_at))


def cancel(po: PurchaseOrder, at: str) -> PurchaseOrder:
    """Cancel a recommendation or a placed PO. Cancelling a cancelled one again is no
    change (a re-delivered request is answered as the first was)."""
    if po.status is PoStatus.CANCELLED:
        return po
    if po.status not in (PoStatus.RECOMMENDED, *OPEN_STATUSES):
        raise Conflict(f"purchase order {po.po_id} is {po.status.value} and cannot be cancelled", field="status")
    return _moved(po, PoStatus.CANCELLED, at, "cancelled")


def incoming_change(before: PurchaseOrder, after: PurchaseOrder) -> dict[str, int]:
    """How a PO's change moves its SKUs' incoming (placing adds, receiving and cancelling take away)."""
    return _per_sku_change(before.incoming, after.incoming)


def purchased_change(before: PurchaseOrder, after: PurchaseOrder) -> dict[str, int]:
    """How a PO's change moves its SKUs' ``purchased`` (placing adds, cancelling takes off
    what was not received, receiving changes nothing). Unlike incoming, it does not come
    back to an earlier value when stock on order arrives, so a recommendation planned
    before another PO was placed and received can tell (decision 64)."""
    return _per_sku_change(before.bought, after.bought)


def _per_sku_change(was: Mapping[str, int], now: Mapping[str, int]) -> dict[str, int]:
    return {sku: delta for sku in sorted(set(was) | set(now)) if (delta := now.get(sku, 0) - was.get(sku, 0))}


def _moved(po: PurchaseOrder, status: PoStatus, at: str, what: str, **more: Any) -> PurchaseOrder:
    return replace(po, status=status, history=po.noted(at, what, **more))


# ------------------------------------------------------------------ expected dates


@dataclass(frozen=True, slots=True)
class Arrival:
    """Units of a SKU a placed PO still brings, and when."""

    on: str  # the PO's expected arrival (a date)
    units: int
    po_id: str


def arrivals_of(pos: Iterable[PurchaseOrder]) -> dict[str, list[Arrival]]:
    """Per SKU, what the placed POs still bring, earliest first."""
    found: dict[str, list[Arrival]] = {}
    for po in pos:
        if po.status in OPEN_STATUSES and po.expected_at:
            for line in po.lines:
                if line.outstanding:
                    found.setdefault(line.sku, []).append(Arrival(po.expected_at, line.outstanding, po.po_id))
    return {sku: sorted(arrivals, key=lambda a: (a.on, a.po_id)) for sku, arrivals in found.items()}


def dating_key(version: int, arrivals: Sequence[Arrival]) -> str:
    """What a SKU's expected dates follow from: its balance version (any order, priority or
    stock change bumps it) and its arrivals. Unchanged key: the dates still hold."""
    text = ";".join(f"{a.on},{a.units},{a.po_id}" for a in arrivals)
    return f"{version}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def expected_dates(
    waiting: Iterable[OrderLine], arrivals: Sequence[Arrival], *, fallback: date | None
) -> Iterator[tuple[OrderLine, str | None, str]]:
    """Walk waiting lines in allotment order against the arrivals, earliest first: the
    first lines are covered by the earliest PO, and so on; a line's date is that of the PO
    that completes it. A line no PO covers keeps the lead-time date it was given (so a
    date that passes makes the line *defaulting*), or gets ``fallback`` (today plus the
    supplier's lead time), or none when the SKU has no supplier. Yields the lines whose
    date or source changes, with the new ones."""
    queue = list(arrivals)
    index, left = 0, queue[0].units if queue else 0
    for line in waiting:
        need = line.backordered
        if need <= 0:
            continue
        last: Arrival | None = None
        while need > 0 and index < len(queue):
            take = min(need, left)
            need, left, last = need - take, left - take, queue[index]
            if left == 0:
                index += 1
                left = queue[index].units if index < len(queue) else 0
        if need == 0 and last is not None:
            on, source = last.on, f"po:{last.po_id}"
        elif line.expected_source == "lead_time" and line.expected_on:
            on, source = line.expected_on, "lead_time"
        elif fallback is not None:
            on, source = fallback.isoformat(), "lead_time"
        else:
            on, source = None, "no_supplier"
        if (on, source) != (line.expected_on, line.expected_source):
            yield line, on, source
