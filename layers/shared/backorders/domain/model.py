"""The things the rules talk about: SKU balances, order lines, orders, shipments, movements.

Plain dataclasses. Quantities are whole units (int); money is Decimal. Every ordered
unit of a line is, at every moment, exactly one of shipped, allotted, backordered or
cancelled: ``quantity == shipped + allotted + backordered + cancelled``. Units in a
released shipment are ``locked`` (a part of ``allotted`` no higher priority may take).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from backorders.domain.demand import DemandRate
from backorders.domain.errors import InvalidInput

PRIORITY_MIN = -9999
PRIORITY_MAX = 9999


class LinePolicy(StrEnum):
    """What happens to a line when stock is short (aACE "split by availability")."""

    SPLIT = "split"  # allot what is there, backorder the rest
    WHOLE = "whole"  # backorder the whole line until all of it can be allotted


class ShipType(StrEnum):
    PARTIAL = "partial"  # ship what is allotted
    COMPLETE = "complete"  # ship only when every line is fully allotted


class FillMode(StrEnum):
    AUTO = "auto"  # returned and received stock goes to waiting lines by itself
    MANUAL = "manual"  # waiting lines are filled only by a fill command (Stone Edge)


class MovementKind(StrEnum):
    RECEIPT = "receipt"
    RETURN = "return"
    ADJUSTMENT = "adjustment"
    COUNT = "count"
    SHIPMENT = "shipment"


class ShipmentStatus(StrEnum):
    PENDING = "pending"
    RELEASED = "released"
    SHIPPED = "shipped"


def allotment_key(priority: int, entered_at: str, shop: str, order_id: str, line_no: int) -> str:
    """Sort key that puts lines in allotment order: priority (high first), entry time,
    then shop, order id and line number as a stable tie-break. Lexicographic order of
    the key is allotment order, so a DynamoDB index can hand lines out in that order."""
    if not PRIORITY_MIN <= priority <= PRIORITY_MAX:
        raise InvalidInput(f"priority must be between {PRIORITY_MIN} and {PRIORITY_MAX}", field="priority")
    return f"{PRIORITY_MAX - priority:05d}#{entered_at}#{shop}#{order_id}#{line_no:04d}"


@dataclass(frozen=True, slots=True)
class LineRef:
    shop: str
    order_id: str
    line_no: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    shop: str
    order_id: str
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal
    priority: int
    entered_at: str
    policy: LinePolicy
    customer_id: str = ""
    allotted: int = 0
    locked: int = 0
    shipped: int = 0
    cancelled: int = 0
    forced: int = 0
    awaiting_fill: bool = False
    version: int = 0
    expected_on: str | None = None  # when its backordered units are expected (a date)
    expected_source: str | None = None  # "po:<id>", "lead_time" or "no_supplier"

    @property
    def ref(self) -> LineRef:
        return LineRef(self.shop, self.order_id, self.line_no)

    @property
    def key(self) -> str:
        return allotment_key(self.priority, self.entered_at, self.shop, self.order_id, self.line_no)

    @property
    def backordered(self) -> int:
        return self.quantity - self.shipped - self.allotted - self.cancelled

    @property
    def movable(self) -> int:
        """Allotted units a higher priority may still take (not in a released shipment)."""
        return self.allotted - self.locked

    @property
    def need(self) -> int:
        """Units this line may hold as movable allotment: not shipped, cancelled,
        locked, or forced onto backorder by hand."""
        return max(0, self.quantity - self.shipped - self.cancelled - self.locked - self.forced)

    @property
    def cap(self) -> int:
        """The most a recompute may give this line. A line waiting for a manual fill
        keeps what it holds but gets nothing more until the fill."""
        need = self.quantity - self.shipped - self.cancelled - self.locked - self.forced
        if need < 0:
            need = 0
        if self.awaiting_fill:
            return min(need, self.allotted - self.locked)
        return need

    @property
    def is_open(self) -> bool:
        return self.shipped + self.cancelled < self.quantity

    def with_movable(self, movable: int) -> OrderLine:
        # positional construction: several times faster than dataclasses.replace,
        # and this sits in the allotment hot loop
        return OrderLine(
            self.shop,
            self.order_id,
            self.line_no,
            self.sku,
            self.quantity,
            self.unit_price,
            self.priority,
            self.entered_at,
            self.policy,
            self.customer_id,
            self.locked + movable,
            self.locked,
            self.shipped,
            self.cancelled,
            self.forced,
            self.awaiting_fill,
            self.version,
            self.expected_on,
            self.expected_source,
        )

    def check(self) -> None:
        """The per-line invariant; raises AssertionError with the line when broken."""
        parts = (self.shipped, self.allotted, self.cancelled, self.locked, self.forced)
        assert min(parts) >= 0, self
        assert self.locked <= self.allotted, self
        assert self.backordered >= 0, self
        assert self.forced <= self.backordered, self


@dataclass(frozen=True, slots=True)
class SkuBalance:
    """Quantities of one SKU. ``available = on_hand - allotted`` is stored too, so the
    database can refuse any write that would take it below zero. Untracked products
    (services, gift cards) hold no stock: their lines are always allotted, and their
    ``available`` goes negative by design; the guard applies to tracked products."""

    sku: str
    on_hand: int = 0
    allotted: int = 0
    locked: int = 0
    backordered: int = 0
    known: bool = False
    tracked: bool = True
    version: int = 0
    incoming: int = 0  # units on placed purchase orders not received yet
    purchased: int = 0  # units placed POs ever bought (a receipt keeps it, a cancel takes off the rest)
    attention: str | None = None  # the supplier it is listed under for planning (None: not listed)
    dated: str | None = None  # what its waiting lines' expected dates were last computed from
    ordered: int = 0  # every unit ever ordered (new lines), which demand is measured from
    demand: DemandRate = field(default_factory=DemandRate)
    low: bool = False  # its projected position is under its minimum, and the buyer was told
    reported: bool = False  # an unknown SKU the buyer was told about

    @property
    def available(self) -> int:
        return self.on_hand - self.allotted

    @property
    def stock_position(self) -> int:
        return self.available - self.backordered

    @property
    def projected_position(self) -> int:
        return self.stock_position + self.incoming

    @property
    def free(self) -> int | None:
        """Units on hand that no line holds, which a recompute may hand out; None =
        unlimited (untracked products: services, gift cards). Unknown SKUs hand out
        nothing. Negative when more is allotted than is on hand (a product switched
        back to tracked): the recompute then takes units back."""
        if not self.known:
            return 0
        if not self.tracked:
            return None
        return self.on_hand - self.allotted


@dataclass(frozen=True, slots=True)
class Product:
    """A SKU's catalogue settings; purchasing plans from them."""

    sku: str
    name: str | None = None
    supplier_id: str | None = None
    purchase_price: Decimal | None = None
    min_stock: int | None = None
    max_stock: int | None = None
    phased_out: bool = False
    order_multiple: int | None = None
    tracked: bool = True


@dataclass(frozen=True, slots=True)
class Supplier:
    """A supplier and its purchasing settings (as the API took them)."""

    supplier_id: str
    name: str | None
    settings: Mapping[str, Any]


CUSTOMER_MESSAGES = ("backordered", "date_moved", "filled", "cancelled")


@dataclass(frozen=True, slots=True)
class ShopSettings:
    shop: str
    line_policy: LinePolicy = LinePolicy.SPLIT
    fill_mode: FillMode = FillMode.AUTO
    notify_customers: bool = False
    customer_messages: frozenset[str] = frozenset(CUSTOMER_MESSAGES)  # which ones, when notifying
    combine_minutes: int = 10  # a customer's messages within this window become one
    time_zone: str = "UTC"  # dates in customer emails
    locale: str = "en"
    name: str | None = None  # the shop's name in customer emails
    contact_email: str | None = None  # customers' replies, and customers' choices, go here


@dataclass(frozen=True, slots=True)
class ShopModes:
    """What the allotter needs to know of every shop, from one small item: the shops that
    fill by hand, and the shops that notify customers with their combining windows."""

    manual: frozenset[str] = frozenset()
    notifying: Mapping[str, int] = field(default_factory=dict)  # shop -> combining window, minutes


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    email: str | None = None
    name: str | None = None

    def __repr__(self) -> str:  # never print personal data
        return f"Customer(id={self.id!r})"


@dataclass(frozen=True, slots=True)
class NewLine:
    line_no: int
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True)
class HeldShopLine:
    """A webshop line the service could not order (no usable SKU): kept on the order with
    its reason, so it is reported, never dropped."""

    line_id: str
    quantity: int
    reason: str


@dataclass(frozen=True, slots=True)
class WebshopRef:
    """Where an order came from when a webshop platform sent it (decision 69): the
    platform, the shop's own order number (for display), the platform's time of the state
    last applied (an older one never overwrites it) and the service's line number of each
    platform line id."""

    platform: str
    number: str
    updated_at: str
    line_ids: Mapping[str, int] = field(default_factory=dict)
    held: tuple[HeldShopLine, ...] = ()
    restocked: Mapping[str, int] = field(default_factory=dict)  # platform line id -> units restocked, applied
    released: Mapping[str, int] = field(default_factory=dict)  # of those, units released before they shipped


@dataclass(frozen=True, slots=True)
class Order:
    shop: str
    order_id: str
    entered_at: str
    customer: Customer
    priority: int = 0
    ship_type: ShipType = ShipType.PARTIAL
    policy: LinePolicy | None = None  # None: shop / customer default
    lines: tuple[NewLine, ...] = field(default_factory=tuple)
    fingerprint: str = ""
    version: int = 0
    webshop: WebshopRef | None = None  # None: sent through the native API


@dataclass(frozen=True, slots=True)
class Shipment:
    shop: str
    order_id: str
    shipment_no: int
    status: ShipmentStatus
    lines: dict[int, int]  # line_no -> units
    skus: dict[int, str]  # line_no -> sku
    version: int = 0

    @property
    def units(self) -> int:
        return sum(self.lines.values())


@dataclass(frozen=True, slots=True)
class Movement:
    """A change of on_hand with a caller-supplied id, unique per SKU: replaying it
    changes nothing. For a count, ``quantity`` is the counted on_hand."""

    movement_id: str
    sku: str
    kind: MovementKind
    quantity: int
    note: str = ""

    def delta(self, on_hand: int) -> int:
        if self.kind is MovementKind.COUNT:
            return self.quantity - on_hand
        if self.kind is MovementKind.SHIPMENT:
            return -self.quantity
        return self.quantity

    def validate(self) -> None:
        if not self.movement_id.strip():
            raise InvalidInput("movement id must not be empty", field="id")
        if self.kind in (MovementKind.RECEIPT, MovementKind.RETURN) and self.quantity <= 0:
            raise InvalidInput(f"a {self.kind} must have a positive quantity", field="quantity")
        if self.kind is MovementKind.ADJUSTMENT and self.quantity == 0:
            raise InvalidInput("an adjustment must not be zero", field="quantity")
        if self.kind is MovementKind.COUNT and self.quantity < 0:
            raise InvalidInput("a count cannot be negative", field="quantity")


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One recorded change of a SKU's on_hand: the movement (or shipment) that made it."""

    sku: str
    movement_id: str
    kind: MovementKind
    quantity: int
    delta: int
    on_hand_after: int
    at: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ImportJob:
    """A CSV import too large for one request, applied chunk by chunk in the background
    (each chunk in one transaction with its "applied" mark, so a chunk lands once)."""

    job_id: str
    kind: str  # "products" or "suppliers"
    created_at: str
    chunks: tuple[tuple[Product | Supplier, ...], ...]
    applied: frozenset[int] = frozenset()  # chunk numbers already written

    @property
    def records(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

    @property
    def done(self) -> bool:
        return len(self.applied) == len(self.chunks)
