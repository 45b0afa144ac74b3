"""PynamoDB models of the single table, and their mapping to domain objects.

Keys (one table, see docs/data-model.md):

    SKU#<sku>            SKU                 balance and product settings (backlog index: BACKLOG;
                                             catalogue index: PRODUCTS once it is a product)
    SKU#<sku>            LEDGER#<id>         one change of on_hand (id unique per SKU)
    SKU#<sku>            LOG#<ts>#<n>        record log of the SKU
    ORDER#<shop>#<id>    ORDER               order header (customer, ship type, priority)
    ORDER#<shop>#<id>    LINE#<nnnn>         order line and its allotment state (backorders index: BO#<shop>)
    ORDER#<shop>#<id>    SHIPMENT#<nnnn>     shipment (pending, released, shipped)
    ORDER#<shop>#<id>    LOG#<ts>#<n>        record log of the order
    SHOP#<shop>          SHOP                shop settings (line policy, fill mode)
    SHOP#<shop>          CUSTOMER#<id>       customer settings (line policy)
    SUPPLIER#<id>        SUPPLIER            supplier settings (planning index: PLAN; catalogue index: SUPPLIERS)
    SUPPLIER#<id>        OPEN#<kind>         the supplier's open recommendation of a kind
    PO#<id>              PO                  purchase order: lines, status, history (purchase_orders index)
    WEBHOOK#<shop>       DELIVERY#<p>#<key>  a webhook delivery, stored once; REJECTED#... what could not be applied
    INTEGRATIONS         <shop>#<platform>   a configured webshop integration, for the catch-up
    NOTIFY#<audience>    NOTE#<intent id>    a notification intent (outbox index while pending or failed)
    NOTIFY#<audience>    CLAIM               a notifier run's claim of the audience (and what it is sending)
    SUPPRESS#<digest>    SUPPRESS            an address SES reported as bounced or complained about
    CHOICE#<choice id>   CHOICE              a customer's answer to a backorder email, once

The items of an order's partition (header, lines, shipments, commands, log) carry an
``item_type`` discriminator, so that one query of the partition returns each item as its
own model. Lines, orders and shipments carry a pynamodb ``VersionAttribute``: every
write of one is conditioned on the version it was read at. A SKU balance keeps a plain
counter instead: its ``ADD`` writes are blind on purpose, and only a recompute pins the
version (docs/decisions.md).

The table name is bound at run time (``bind``), never read from the environment at
import time.
"""

from __future__ import annotations

import zlib
from dataclasses import fields
from decimal import Decimal
from typing import Any, ClassVar

from pynamodb.attributes import (
    Attribute,
    BinaryAttribute,
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.constants import STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from backorders.domain.demand import DemandRate
from backorders.domain.model import (
    Customer,
    HeldShopLine,
    LedgerEntry,
    LinePolicy,
    MovementKind,
    Order,
    OrderLine,
    Product,
    Shipment,
    ShipmentStatus,
    ShipType,
    SkuBalance,
    Supplier,
    WebshopRef,
)
from backorders.domain.purchasing import PoKind, PoLine, PoStatus, PurchaseOrder
from backorders.domain.record_log import Cause, LogEntry

BACKLOG = "BACKLOG"  # the one partition of the sparse ``backlog`` index


class DecimalAttribute(Attribute[Decimal]):
    """Money as an exact decimal string (NumberAttribute would round-trip via float)."""

    attr_type = STRING

    def serialize(self, value: Decimal) -> str:
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class _Base(Model):
    class Meta:
        table_name = "unbound"
        region = "us-east-1"
        host: str | None = None

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class OrderPartItem(_Base):
    """Any item of an order's partition; querying this model returns each as its own."""

    item_type = DiscriminatorAttribute()


# ------------------------------------------------------------------ keys


def sku_pk(sku: str) -> str:
    return f"SKU#{sku}"


def order_pk(shop: str, order_id: str) -> str:
    return f"ORDER#{shop}#{order_id}"


def line_sk(line_no: int) -> str:
    return f"LINE#{line_no:04d}"


def shipment_sk(shipment_no: int) -> str:
    return f"SHIPMENT#{shipment_no:04d}"


def backorders_pk(shop: str) -> str:
    """A shop's partition of the ``backorders`` index: it reads its own backlog only."""
    return f"BO#{shop}"


# ------------------------------------------------------------------ SKU


class BacklogIndex(GlobalSecondaryIndex["BacklogKey"]):  # type: ignore[no-untyped-call]
    """SKU balances that may have backordered lines: set by every write that adds
    backordered units, cleared by the sweep once a SKU has none."""

    class Meta:
        index_name = "backlog"
        projection = KeysOnlyProjection()

    backlog_pk = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class BacklogKey(_Base):
    """A SKU item as the keys-only ``backlog`` index holds it (no ``item_type`` to
    discriminate by: SKU items are read from it through this plain model)."""

    backlog_pk = UnicodeAttribute(null=True)
    backlog_index: ClassVar[BacklogIndex] = BacklogIndex()


PLAN = "PLAN"  # the one partition of the sparse ``planning`` index


def plan_sk(supplier_id: str, part: str) -> str:
    """The planning index groups by supplier: ``0`` the supplier, ``1#<kind>`` its open
    recommendations, ``2#<sku>`` its SKUs that need attention (ids never hold ``#``)."""
    return f"{supplier_id}#{part}"


class PlanningIndex(GlobalSecondaryIndex["PlanPartItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "planning"
        projection = AllProjection()

    plan_pk = UnicodeAttribute(hash_key=True)
    plan_sk = UnicodeAttribute(range_key=True)


class PlanPartItem(_Base):
    """Any item of the ``planning`` index (suppliers, open recommendations, SKUs that
    need attention); querying the index returns each as its own model."""

    item_type = DiscriminatorAttribute()
    plan_pk = UnicodeAttribute(null=True)
    plan_sk = UnicodeAttribute(null=True)
    planning_index: ClassVar[PlanningIndex] = PlanningIndex()


PRODUCTS = "PRODUCTS"  # the ``catalogue`` index's partition of products (SKU items with settings)
SUPPLIERS = "SUPPLIERS"  # and of suppliers


class CatalogueIndex(GlobalSecondaryIndex["PlanPartItem"]):  # type: ignore[no-untyped-call]
    """Products and suppliers by key (``pk``): what the lists and CSV exports read. It
    projects the catalogue's attributes only (template.yaml names them)."""

    class Meta:
        index_name = "catalogue"
        projection = IncludeProjection(
            [
                "item_type", "sku", "name", "supplier_id", "purchase_price", "min_stock", "max_stock", "phased_out",
                "order_multiple", "tracked", "settings",
            ]
        )  # fmt: skip

    catalogue_pk = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class SkuItem(PlanPartItem, discriminator="SKU"):
    sku = UnicodeAttribute()
    on_hand = NumberAttribute(default=0)
    allotted = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    locked = NumberAttribute(default=0)
    backordered = NumberAttribute(default=0)
    incoming = NumberAttribute(null=True)  # units on placed POs not received yet
    purchased = NumberAttribute(null=True)  # units placed POs ever bought (decision 64)
    dated = UnicodeAttribute(null=True)  # what the waiting lines' expected dates were computed from
    ordered = NumberAttribute(null=True)  # units ever ordered (domain.demand)
    demand_rate = NumberAttribute(null=True)  # units a day, as of demand_at
    demand_at = UnicodeAttribute(null=True)
    demand_counted = NumberAttribute(null=True)  # the ordered total the rate includes
    known = BooleanAttribute(default=False)
    tracked = BooleanAttribute(default=True)
    version = NumberAttribute(default=0)
    writer = UnicodeAttribute(null=True)
    last_event = UnicodeAttribute(null=True)
    event_shop = UnicodeAttribute(null=True)  # the shop whose action last_event is (None: the service's)
    updated_at = UnicodeAttribute(null=True)
    backlog_pk = UnicodeAttribute(null=True)
    # product settings (purchasing uses them later)
    name = UnicodeAttribute(null=True)
    supplier_id = UnicodeAttribute(null=True)
    purchase_price = DecimalAttribute(null=True)
    min_stock = NumberAttribute(null=True)
    max_stock = NumberAttribute(null=True)
    phased_out = BooleanAttribute(null=True)
    order_multiple = NumberAttribute(null=True)
    catalogue_pk = UnicodeAttribute(null=True)  # PRODUCTS once the SKU has product settings
    catalogue_index: ClassVar[CatalogueIndex] = CatalogueIndex()
    low_since = UnicodeAttribute(null=True)  # projected position under minimum since (the buyer was told)
    reported_at = UnicodeAttribute(null=True)  # an unknown SKU the buyer was told about

    def to_domain(self) -> SkuBalance:
        return SkuBalance(
            sku=self.sku,
            on_hand=int(self.on_hand),
            allotted=int(self.allotted),
            locked=int(self.locked),
            backordered=int(self.backordered),
            known=bool(self.known),
            tracked=bool(self.tracked) if self.tracked is not None else True,
            version=int(self.version),
            incoming=int(self.incoming or 0),
            purchased=int(self.purchased or 0),
            attention=self.plan_sk.partition("#")[0] if self.plan_pk and self.plan_sk else None,
            dated=self.dated,
            ordered=int(self.ordered or 0),
            demand=DemandRate(float(self.demand_rate or 0), self.demand_at, int(self.demand_counted or 0)),
            low=self.low_since is not None,
            reported=self.reported_at is not None,
        )

    def product(self) -> Product:
        return Product(
            sku=self.sku,
            name=self.name,
            supplier_id=self.supplier_id,
            purchase_price=self.purchase_price,
            min_stock=_int(self.min_stock),
            max_stock=_int(self.max_stock),
            phased_out=bool(self.phased_out),
            order_multiple=_int(self.order_multiple),
            tracked=bool(self.tracked) if self.tracked is not None else True,
        )


def _int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def product_fields(product: Product) -> dict[str, Any]:
    """The balance item's attributes that hold ``product`` (they share its field names)."""
    return {f.name: getattr(product, f.name) for f in fields(product) if f.name != "sku"}


class LedgerItem(_Base):
    sku = UnicodeAttribute()
    movement_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    quantity = NumberAttribute()
    delta = NumberAttribute()
    on_hand_after = NumberAttribute()
    at = UnicodeAttribute()
    note = UnicodeAttribute(null=True)

    def to_domain(self) -> LedgerEntry:
        return LedgerEntry(
            sku=self.sku,
            movement_id=self.movement_id,
            kind=MovementKind(self.kind),
            quantity=int(self.quantity),
            delta=int(self.delta),
            on_hand_after=int(self.on_hand_after),
            at=self.at,
            note=self.note,
        )


class CauseMap(MapAttribute[str, Any]):
    """Why a record-log entry happened, and whose (``backorders.domain.record_log.Cause``)."""

    text = UnicodeAttribute()
    shop = UnicodeAttribute(null=True)


class FillsIndex(GlobalSecondaryIndex["LogItem"]):  # type: ignore[no-untyped-call]
    """A shop's backorder fills by time (the order-log entries that filled waiting units)."""

    class Meta:
        index_name = "fills"
        projection = AllProjection()

    fill_pk = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)


def fills_pk(shop: str) -> str:
    return f"FILLS#{shop}"


class LogItem(OrderPartItem, discriminator="LOG"):
    """A record-log entry, in an order's partition or in a SKU's."""

    at = UnicodeAttribute()
    causes = ListAttribute(of=CauseMap, default=list)
    message = UnicodeAttribute()
    sku = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    shop = UnicodeAttribute(null=True)
    line_no = NumberAttribute(null=True)
    delta = NumberAttribute(null=True)
    filled = NumberAttribute(null=True)
    fill_pk = UnicodeAttribute(null=True)  # set on entries that filled a backorder
    expires_at = TTLAttribute(null=True)
    fills_index: ClassVar[FillsIndex] = FillsIndex()

    def to_domain(self) -> LogEntry:
        return LogEntry(
            at=self.at,
            causes=tuple(Cause(c.text, c.shop) for c in self.causes or ()),
            message=self.message,
            sku=self.sku,
            order_id=self.order_id,
            line_no=_int(self.line_no),
            delta=_int(self.delta),
        )


class CommandItem(OrderPartItem, discriminator="CMD"):
    """A relative command applied to an order (its idempotency key), kept a week."""

    fingerprint = UnicodeAttribute()
    at = UnicodeAttribute()
    expires_at = TTLAttribute()


# ------------------------------------------------------------------ orders


class DemandIndex(GlobalSecondaryIndex["LineItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "demand"
        projection = AllProjection()

    demand_pk = UnicodeAttribute(hash_key=True)
    demand_sk = UnicodeAttribute(range_key=True)


class HoldersIndex(GlobalSecondaryIndex["LineItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "holders"
        projection = AllProjection()

    holder_pk = UnicodeAttribute(hash_key=True)
    demand_sk = UnicodeAttribute(range_key=True)


class BackordersIndex(GlobalSecondaryIndex["LineItem"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "backorders"
        projection = AllProjection()

    backorder_pk = UnicodeAttribute(hash_key=True)
    backorder_sk = UnicodeAttribute(range_key=True)


# what a line item stores of an ``OrderLine`` under the same names (numbers come back as
# ints: pynamodb reads a whole number as one; customer_id "" is stored as it is)
_LINE_STATE = (
    "shop", "order_id", "line_no", "sku", "quantity", "unit_price", "priority", "entered_at", "customer_id",
    "allotted", "locked", "shipped", "cancelled", "forced", "awaiting_fill", "expected_on", "expected_source",
)  # fmt: skip


class LineItem(OrderPartItem, discriminator="LINE"):
    shop = UnicodeAttribute()
    order_id = UnicodeAttribute()
    line_no = NumberAttribute()
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    unit_price = DecimalAttribute()
    priority = NumberAttribute()
    entered_at = UnicodeAttribute()
    policy = UnicodeAttribute()
    customer_id = UnicodeAttribute(null=True)
    allotted = NumberAttribute(default=0)
    locked = NumberAttribute(default=0)
    shipped = NumberAttribute(default=0)
    cancelled = NumberAttribute(default=0)
    forced = NumberAttribute(default=0)
    backordered = NumberAttribute(default=0)
    awaiting_fill = BooleanAttribute(default=False)
    expected_on = UnicodeAttribute(null=True)
    expected_source = UnicodeAttribute(null=True)
    version = VersionAttribute()
    writer = UnicodeAttribute(null=True)
    last_event = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # sparse index keys, derived from the state on every write
    demand_pk = UnicodeAttribute(null=True)
    demand_sk = UnicodeAttribute(null=True)
    holder_pk = UnicodeAttribute(null=True)
    backorder_pk = UnicodeAttribute(null=True)
    backorder_sk = UnicodeAttribute(null=True)

    demand_index: ClassVar[DemandIndex] = DemandIndex()
    holders_index: ClassVar[HoldersIndex] = HoldersIndex()
    backorders_index: ClassVar[BackordersIndex] = BackordersIndex()

    @classmethod
    def from_domain(cls, line: OrderLine, *, writer: str, event: str, at: str, new: bool = False) -> LineItem:
        """The item of ``line``, to be written over the version ``line`` was read at
        (``new``: a line not stored yet)."""
        item = cls(
            pk=order_pk(line.shop, line.order_id),
            sk=line_sk(line.line_no),
            **{name: getattr(line, name) for name in _LINE_STATE},
            policy=line.policy.value,
            backordered=line.backordered,
            writer=writer,
            last_event=event[:200],
            updated_at=at,
            demand_sk=line.key,
        )
        if not new:  # else pynamodb writes version 1, on condition that there is none yet
            item.version = line.version
        if line.cap > 0 or line.movable > 0:
            item.demand_pk = sku_pk(line.sku)
        if line.movable > 0:
            item.holder_pk = sku_pk(line.sku)
        if line.backordered > 0:
            item.backorder_pk = backorders_pk(line.shop)
            item.backorder_sk = f"{line.entered_at}#{line.order_id}#{line.line_no:04d}"
        return item

    def to_domain(self) -> OrderLine:
        return OrderLine(
            **{name: getattr(self, name) for name in _LINE_STATE},
            policy=LinePolicy(self.policy),
            version=int(self.version or 0),
        )


class OrderItem(OrderPartItem, discriminator="ORDER"):
    shop = UnicodeAttribute()
    order_id = UnicodeAttribute()
    entered_at = UnicodeAttribute()
    priority = NumberAttribute(default=0)
    ship_type = UnicodeAttribute()
    policy = UnicodeAttribute(null=True)
    customer_id = UnicodeAttribute()
    customer_email = UnicodeAttribute(null=True)
    customer_name = UnicodeAttribute(null=True)
    fingerprint = UnicodeAttribute()
    line_count = NumberAttribute()
    next_shipment_no = NumberAttribute(default=1)
    version = VersionAttribute()
    created_at = UnicodeAttribute()
    webshop = JSONAttribute(null=True)  # WebshopRef: the platform the order came from (decision 69)

    @classmethod
    def from_domain(cls, order: Order, *, at: str) -> OrderItem:
        return cls(
            pk=order_pk(order.shop, order.order_id),
            sk="ORDER",
            shop=order.shop,
            order_id=order.order_id,
            entered_at=order.entered_at,
            priority=order.priority,
            ship_type=order.ship_type.value,
            policy=order.policy.value if order.policy else None,
            customer_id=order.customer.id,
            customer_email=order.customer.email,
            customer_name=order.customer.name,
            fingerprint=order.fingerprint,
            line_count=len(order.lines),
            next_shipment_no=1,
            created_at=at,
            webshop=webshop_values(order.webshop),
        )

    def to_domain(self) -> Order:
        return Order(
            shop=self.shop,
            order_id=self.order_id,
            entered_at=self.entered_at,
            customer=Customer(self.customer_id, self.customer_email, self.customer_name),
            priority=int(self.priority),
            ship_type=ShipType(self.ship_type),
            policy=LinePolicy(self.policy) if self.policy else None,
            fingerprint=self.fingerprint,
            version=int(self.version or 0),
            webshop=webshop_ref(self.webshop),
        )


def webshop_values(ref: WebshopRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {
        "platform": ref.platform, "number": ref.number, "updated_at": ref.updated_at,
        "line_ids": dict(ref.line_ids), "held": [[h.line_id, h.quantity, h.reason] for h in ref.held],
        "restocked": dict(ref.restocked), "released": dict(ref.released),
    }  # fmt: skip


def webshop_ref(values: dict[str, Any] | None) -> WebshopRef | None:
    if not values:
        return None
    return WebshopRef(
        platform=str(values["platform"]),
        number=str(values["number"]),
        updated_at=str(values["updated_at"]),
        line_ids={str(k): int(v) for k, v in (values.get("line_ids") or {}).items()},
        held=tuple(HeldShopLine(str(i), int(q), str(r)) for i, q, r in values.get("held") or []),
        restocked={str(k): int(v) for k, v in (values.get("restocked") or {}).items()},
        released={str(k): int(v) for k, v in (values.get("released") or {}).items()},
    )


class ShipmentItem(OrderPartItem, discriminator="SHIPMENT"):
    shop = UnicodeAttribute()
    order_id = UnicodeAttribute()
    shipment_no = NumberAttribute()
    status = UnicodeAttribute()
    lines = JSONAttribute()  # {"<line_no>": units}
    skus = JSONAttribute()  # {"<line_no>": sku}
    version = VersionAttribute()
    updated_at = UnicodeAttribute()

    def to_domain(self) -> Shipment:
        return Shipment(
            shop=self.shop,
            order_id=self.order_id,
            shipment_no=int(self.shipment_no),
            status=ShipmentStatus(self.status),
            lines={int(k): int(v) for k, v in self.lines.items()},
            skus={int(k): str(v) for k, v in self.skus.items()},
            version=int(self.version or 0),
        )

    @classmethod
    def from_domain(cls, shipment: Shipment, at: str, *, new: bool = False) -> ShipmentItem:
        item = cls(
            pk=order_pk(shipment.shop, shipment.order_id),
            sk=shipment_sk(shipment.shipment_no),
            shop=shipment.shop,
            order_id=shipment.order_id,
            shipment_no=shipment.shipment_no,
            status=shipment.status.value,
            lines={str(k): v for k, v in shipment.lines.items()},
            skus={str(k): v for k, v in shipment.skus.items()},
            updated_at=at,
        )
        if not new:
            item.version = shipment.version
        return item


# ------------------------------------------------------------------ settings


class ShopItem(_Base):
    shop = UnicodeAttribute(null=True)
    manual_shops = UnicodeSetAttribute(null=True)  # only on the CONFIG/MANUAL_SHOPS item
    notifying = MapAttribute[str, Any](null=True)  # type: ignore[no-untyped-call]  # idem: shop -> combining window (minutes)
    line_policy = UnicodeAttribute(default="split")
    fill_mode = UnicodeAttribute(default="auto")
    notify_customers = BooleanAttribute(default=False)
    customer_messages = UnicodeSetAttribute(null=True)
    combine_minutes = NumberAttribute(null=True)
    time_zone = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    contact_email = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)


class CustomerItem(_Base):
    shop = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    line_policy = UnicodeAttribute(null=True)


class SupplierItem(PlanPartItem, discriminator="SUPPLIER"):
    supplier_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    settings = JSONAttribute()
    version = NumberAttribute(default=0)
    catalogue_pk = UnicodeAttribute(null=True)
    catalogue_index: ClassVar[CatalogueIndex] = CatalogueIndex()

    @classmethod
    def from_domain(cls, supplier: Supplier) -> SupplierItem:
        """The whole supplier item: every supplier heads its group of the planning index and
        is listed in the catalogue index."""
        return cls(
            pk=supplier_pk(supplier.supplier_id),
            sk="SUPPLIER",
            supplier_id=supplier.supplier_id,
            name=supplier.name,
            settings=dict(supplier.settings),
            plan_pk=PLAN,
            plan_sk=plan_sk(supplier.supplier_id, "0"),
            catalogue_pk=SUPPLIERS,
        )

    def to_domain(self) -> Supplier:
        return Supplier(self.supplier_id, self.name, dict(self.settings))


def supplier_pk(supplier_id: str) -> str:
    return f"SUPPLIER#{supplier_id}"


class SlotItem(PlanPartItem, discriminator="SLOT"):
    """A supplier's one open recommendation of a kind (``SUPPLIER#<id>`` / ``OPEN#<kind>``):
    its conditional write is what keeps a concurrent planner from recommending twice."""

    supplier_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    po_id = UnicodeAttribute(null=True)


# ------------------------------------------------------------------ purchase orders


class PurchaseOrdersIndex(GlobalSecondaryIndex["PurchaseOrderItem"]):  # type: ignore[no-untyped-call]
    """Purchase orders by status, oldest first."""

    class Meta:
        index_name = "purchase_orders"
        projection = AllProjection()

    po_status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class PoLineMap(MapAttribute[str, Any]):
    sku = UnicodeAttribute()
    quantity = NumberAttribute()
    received = NumberAttribute(default=0)
    unit_price = DecimalAttribute()
    incoming_seen = NumberAttribute(default=0)
    purchased_seen = NumberAttribute(default=0)


class PurchaseOrderItem(_Base):
    """``PO#<id>`` / ``PO``: the order, its lines and its history."""

    po_id = UnicodeAttribute()
    supplier_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    po_status = UnicodeAttribute()
    created_at = UnicodeAttribute()
    lines = ListAttribute(of=PoLineMap, default=list)
    threshold = UnicodeAttribute(null=True)
    expected_at = UnicodeAttribute(null=True)  # a date
    placed_at = UnicodeAttribute(null=True)
    receipts = UnicodeSetAttribute(null=True)  # receipt ids applied
    history = JSONAttribute(default=list)
    version = VersionAttribute()
    purchase_orders_index: ClassVar[PurchaseOrdersIndex] = PurchaseOrdersIndex()

    def to_domain(self) -> PurchaseOrder:
        return PurchaseOrder(
            po_id=self.po_id,
            supplier_id=self.supplier_id,
            kind=PoKind(self.kind),
            status=PoStatus(self.po_status),
            created_at=self.created_at,
            lines=tuple(
                PoLine(
                    line.sku,
                    int(line.quantity),
                    line.unit_price,
                    int(line.received or 0),
                    int(line.incoming_seen or 0),
                    int(line.purchased_seen or 0),
                )
                for line in self.lines
            ),
            threshold=self.threshold,
            expected_at=self.expected_at,
            placed_at=self.placed_at,
            receipts=frozenset(self.receipts or ()),
            history=tuple(self.history or ()),
            version=int(self.version or 0),
        )

    @classmethod
    def from_domain(cls, po: PurchaseOrder) -> PurchaseOrderItem:
        item = cls(
            pk=po_pk(po.po_id),
            sk="PO",
            po_id=po.po_id,
            supplier_id=po.supplier_id,
            kind=po.kind.value,
            po_status=po.status.value,
            created_at=po.created_at,
            lines=[
                PoLineMap(  # type: ignore[no-untyped-call]
                    sku=line.sku,
                    quantity=line.quantity,
                    received=line.received,
                    unit_price=line.unit_price,
                    incoming_seen=line.incoming_seen,
                    purchased_seen=line.purchased_seen,
                )
                for line in po.lines
            ],
            threshold=po.threshold,
            expected_at=po.expected_at,
            placed_at=po.placed_at,
            receipts=set(po.receipts) or None,
            history=list(po.history),
        )
        if po.version:  # written over this version; a new PO is written as version 1
            item.version = po.version
        return item


class ImportJobItem(_Base):
    """``IMPORT#<id>`` / ``JOB`` (kind, created) and ``CHUNK#<nnnn>`` (its records, as the
    catalogue stores them, and whether the chunk is applied)."""

    kind = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    chunks = NumberAttribute(null=True)
    records = JSONAttribute(null=True)
    applied = BooleanAttribute(null=True)
    expires_at = TTLAttribute(null=True)


def import_pk(job_id: str) -> str:
    return f"IMPORT#{job_id}"


def chunk_sk(number: int) -> str:
    return f"CHUNK#{number:04d}"


def record_json(record: Product | Supplier) -> dict[str, Any]:
    if isinstance(record, Product):
        return {"sku": record.sku, **{k: (str(v) if isinstance(v, Decimal) else v)
                                      for k, v in product_fields(record).items()}}  # fmt: skip
    return {"supplier_id": record.supplier_id, "name": record.name, "settings": dict(record.settings)}


def record_of(kind: str, data: dict[str, Any]) -> Product | Supplier:
    if kind == "products":
        price = data.get("purchase_price")
        return Product(**{**data, "purchase_price": None if price is None else Decimal(price)})
    return Supplier(data["supplier_id"], data.get("name"), data.get("settings") or {})


def po_pk(po_id: str) -> str:
    return f"PO#{po_id}"


class DeliveryItem(_Base):
    """``WEBHOOK#<shop>`` / ``DELIVERY#<platform>#<key>``: a genuine webhook delivery (or an
    order the catch-up read), its body zlib-compressed; its insert is the stream record the
    allotter applies it from. Kept ``DELIVERY_DAYS`` to tell duplicates."""

    shop = UnicodeAttribute()
    platform = UnicodeAttribute()
    key = UnicodeAttribute()
    topic = UnicodeAttribute()
    body = BinaryAttribute(legacy_encoding=False)
    received_at = UnicodeAttribute()
    event_id = UnicodeAttribute(null=True)
    triggered_at = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class RejectionItem(_Base):
    """``WEBHOOK#<shop>`` / ``REJECTED#<received_at>#<platform>#<key>``: a delivery the
    service could not apply, or a line it holds (GET /v1/webhooks/rejected)."""

    platform = UnicodeAttribute()
    topic = UnicodeAttribute()
    key = UnicodeAttribute()
    received_at = UnicodeAttribute()
    reason = UnicodeAttribute()
    order_id = UnicodeAttribute(null=True)
    expires_at = TTLAttribute()


class StateSeenItem(_Base):
    """``WEBHOOK#<shop>`` / ``STATE#<platform>#<order id>``: the newest state applied of a
    platform order the service has no order for (cancelled, or no order yet), so that an
    older state arriving later creates nothing (decision 69)."""

    updated_at = UnicodeAttribute()
    expires_at = TTLAttribute()


class CatchUpItem(_Base):
    """``INTEGRATIONS`` / ``<shop>#<platform>``: a configured integration and up to when the
    catch-up has read its orders. One small partition: one item per shop and platform."""

    shop = UnicodeAttribute()
    platform = UnicodeAttribute()
    configured_at = UnicodeAttribute()
    seen_until = UnicodeAttribute(null=True)


def webhook_pk(shop: str) -> str:
    return f"WEBHOOK#{shop}"


def delivery_sk(platform: str, key: str) -> str:
    return f"DELIVERY#{platform}#{key}"


INTEGRATIONS = "INTEGRATIONS"


# ------------------------------------------------------------------ notifications (decision 72)

OUTBOX_SHARDS = 4  # pending intents spread over this many index partitions
FAILED = "FAILED"  # the outbox index's partition of intents that failed for good (the digest lists them)


def outbox_pk(audience: str) -> str:
    return f"OUTBOX#{zlib.crc32(audience.encode()) % OUTBOX_SHARDS}"


def notify_pk(audience: str) -> str:
    return f"NOTIFY#{audience}"


class OutboxIndex(GlobalSecondaryIndex["NoteItem"]):  # type: ignore[no-untyped-call]
    """Pending intents (``OUTBOX#<n>``, by due time) and failed ones (``FAILED``, by time).
    Sparse: an intent leaves it when it is sent or skipped."""

    class Meta:
        index_name = "outbox"
        projection = AllProjection()

    outbox_pk = UnicodeAttribute(hash_key=True)
    outbox_sk = UnicodeAttribute(range_key=True)


class NoteItem(_Base):
    """``NOTIFY#<audience>`` / ``NOTE#<intent id>``: a notification intent, written in the
    transaction of the change it reports; settled by the notifier."""

    audience = UnicodeAttribute()
    intent_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    at = UnicodeAttribute()
    due_at = UnicodeAttribute()
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    shop = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    line_no = NumberAttribute(null=True)
    sku = UnicodeAttribute(null=True)
    supplier_id = UnicodeAttribute(null=True)
    po_id = UnicodeAttribute(null=True)
    data = JSONAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    outbox_pk = UnicodeAttribute(null=True)
    outbox_sk = UnicodeAttribute(null=True)
    outbox_index: ClassVar[OutboxIndex] = OutboxIndex()
    expires_at = TTLAttribute(null=True)


class ClaimItem(_Base):
    """``NOTIFY#<audience>`` / ``CLAIM``: one notifier run works on the audience until
    ``until``; ``sending`` names the message it handed SES and the intents it covers."""

    token = UnicodeAttribute()
    until = UnicodeAttribute()
    sending = UnicodeAttribute(null=True)
    covers = UnicodeSetAttribute(null=True)


class SuppressionItem(_Base):
    """``SUPPRESS#<sha256 of the address>`` / ``SUPPRESS``: nothing more is sent to it."""

    reason = UnicodeAttribute()
    at = UnicodeAttribute()


class ChoiceItem(_Base):
    """``CHOICE#<choice id>`` / ``CHOICE``: the customer's answer, written once, with its effect."""

    shop = UnicodeAttribute()
    order_id = UnicodeAttribute()
    action = UnicodeAttribute()
    at = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


MODELS: tuple[type[_Base], ...] = (
    SkuItem,
    LedgerItem,
    LogItem,
    CommandItem,
    LineItem,
    OrderItem,
    ShipmentItem,
    ShopItem,
    CustomerItem,
    SupplierItem,
    SlotItem,
    PurchaseOrderItem,
    ImportJobItem,
    DeliveryItem,
    RejectionItem,
    StateSeenItem,
    CatchUpItem,
    NoteItem,
    ClaimItem,
    SuppressionItem,
    ChoiceItem,
)


def bind(table_name: str, region: str, host: str | None = None) -> None:
    """Point every model at the table. Called by the composition root.

    pynamodb opens a model's connection again when its table name changes, not when only
    the endpoint does: one table name is therefore bound to one endpoint per process."""
    meta = _Base.Meta  # every model's Meta (they inherit it)
    if meta.table_name == table_name and (meta.region, meta.host) != (region, host):
        raise RuntimeError(
            f"table {table_name} is bound to {meta.host or meta.region} already; "
            "give a table on another endpoint another name"
        )
    meta.table_name, meta.region, meta.host = table_name, region, host
