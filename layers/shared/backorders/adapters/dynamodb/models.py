"""PynamoDB models of the single table, and their mapping to domain objects.

Keys (one table, see docs/data-model.md):

    SKU#<sku>            SKU                 balance and product settings (backlog index: BACKLOG)
    SKU#<sku>            LEDGER#<id>         one change of on_hand (id unique per SKU)
    SKU#<sku>            LOG#<ts>#<n>        record log of the SKU
    ORDER#<shop>#<id>    ORDER               order header (customer, ship type, priority)
    ORDER#<shop>#<id>    LINE#<nnnn>         order line and its allotment state (backorders index: BO#<shop>)
    ORDER#<shop>#<id>    SHIPMENT#<nnnn>     shipment (pending, released, shipped)
    ORDER#<shop>#<id>    LOG#<ts>#<n>        record log of the order
    SHOP#<shop>          SHOP                shop settings (line policy, fill mode)
    SHOP#<shop>          CUSTOMER#<id>       customer settings (line policy)
    SUPPLIER#<id>        SUPPLIER            supplier settings

The table name is bound at run time (``bind``), never read from the environment at
import time.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar

from pynamodb.attributes import (
    Attribute,
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.constants import STRING
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from backorders.domain.model import (
    Customer,
    LinePolicy,
    OrderLine,
    Shipment,
    ShipmentStatus,
    ShipType,
    SkuBalance,
)

BACKLOG = "BACKLOG"  # the one partition of the sparse ``backlog`` index


class DecimalAttribute(Attribute[Decimal]):
    """Money as an exact decimal string (NumberAttribute would round-trip via float)."""

    attr_type = STRING

    def serialize(self, value: Decimal) -> str:
        return str(value)

    def deserialize(self, value: str) -> Decimal:
        return Decimal(value)


class JsonAttribute(Attribute[Any]):
    attr_type = STRING

    def serialize(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def deserialize(self, value: str) -> Any:
        return json.loads(value)


class _Base(Model):
    class Meta:
        table_name = "unbound"
        region = "us-east-1"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


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


class BacklogIndex(GlobalSecondaryIndex["SkuItem"]):  # type: ignore[no-untyped-call]
    """SKU balances that may have backordered lines: set by every write that adds
    backordered units, cleared by the sweep once a SKU has none."""

    class Meta:
        index_name = "backlog"
        projection = KeysOnlyProjection()

    backlog_pk = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class SkuItem(_Base):
    sku = UnicodeAttribute()
    on_hand = NumberAttribute(default=0)
    allotted = NumberAttribute(default=0)
    available = NumberAttribute(default=0)
    locked = NumberAttribute(default=0)
    backordered = NumberAttribute(default=0)
    known = BooleanAttribute(default=False)
    tracked = BooleanAttribute(default=True)
    version = NumberAttribute(default=0)
    writer = UnicodeAttribute(null=True)
    last_event = UnicodeAttribute(null=True)
    event_shop = UnicodeAttribute(null=True)  # the shop whose action last_event is (None: the service's)
    updated_at = UnicodeAttribute(null=True)
    backlog_pk = UnicodeAttribute(null=True)
    backlog_index: ClassVar[BacklogIndex] = BacklogIndex()
    # product settings (purchasing uses them later)
    name = UnicodeAttribute(null=True)
    supplier_id = UnicodeAttribute(null=True)
    purchase_price = DecimalAttribute(null=True)
    min_stock = NumberAttribute(null=True)
    max_stock = NumberAttribute(null=True)
    phased_out = BooleanAttribute(null=True)
    order_multiple = NumberAttribute(null=True)

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
        )

    def product(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "supplier_id": self.supplier_id,
            "purchase_price": str(self.purchase_price) if self.purchase_price is not None else None,
            "min_stock": int(self.min_stock) if self.min_stock is not None else None,
            "max_stock": int(self.max_stock) if self.max_stock is not None else None,
            "phased_out": bool(self.phased_out) if self.phased_out is not None else False,
            "order_multiple": int(self.order_multiple) if self.order_multiple is not None else None,
            "tracked": bool(self.tracked) if self.tracked is not None else True,
        }


class LedgerItem(_Base):
    sku = UnicodeAttribute()
    movement_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    quantity = NumberAttribute()
    delta = NumberAttribute()
    on_hand_after = NumberAttribute()
    at = UnicodeAttribute()
    note = UnicodeAttribute(null=True)


class CauseMap(MapAttribute[str, Any]):
    """Why a record-log entry happened, and whose (``backorders.domain.record_log.Cause``)."""

    text = UnicodeAttribute()
    shop = UnicodeAttribute(null=True)


class LogItem(_Base):
    at = UnicodeAttribute()
    causes = ListAttribute(of=CauseMap, default=list)
    message = UnicodeAttribute()
    sku = UnicodeAttribute(null=True)
    order_id = UnicodeAttribute(null=True)
    shop = UnicodeAttribute(null=True)
    line_no = NumberAttribute(null=True)
    delta = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)


class CommandItem(_Base):
    """A relative command applied to an order (its idempotency key), kept a week."""

    fingerprint = UnicodeAttribute()
    at = UnicodeAttribute()
    expires_at = NumberAttribute()


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


class LineItem(_Base):
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
    version = NumberAttribute(default=0)
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
    def from_domain(cls, line: OrderLine, *, writer: str, event: str, at: str) -> LineItem:
        item = cls(
            pk=order_pk(line.shop, line.order_id),
            sk=line_sk(line.line_no),
            shop=line.shop,
            order_id=line.order_id,
            line_no=line.line_no,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            priority=line.priority,
            entered_at=line.entered_at,
            policy=line.policy.value,
            customer_id=line.customer_id,
            allotted=line.allotted,
            locked=line.locked,
            shipped=line.shipped,
            cancelled=line.cancelled,
            forced=line.forced,
            backordered=line.backordered,
            awaiting_fill=line.awaiting_fill,
            version=line.version,
            writer=writer,
            last_event=event[:200],
            updated_at=at,
            demand_sk=line.key,
        )
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
            shop=self.shop,
            order_id=self.order_id,
            line_no=int(self.line_no),
            sku=self.sku,
            quantity=int(self.quantity),
            unit_price=self.unit_price,
            priority=int(self.priority),
            entered_at=self.entered_at,
            policy=LinePolicy(self.policy),
            customer_id=self.customer_id or "",
            allotted=int(self.allotted),
            locked=int(self.locked),
            shipped=int(self.shipped),
            cancelled=int(self.cancelled),
            forced=int(self.forced),
            awaiting_fill=bool(self.awaiting_fill),
            version=int(self.version),
        )


class OrderItem(_Base):
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
    version = NumberAttribute(default=0)
    created_at = UnicodeAttribute()

    @property
    def customer(self) -> Customer:
        return Customer(self.customer_id, self.customer_email, self.customer_name)

    @property
    def ship_type_enum(self) -> ShipType:
        return ShipType(self.ship_type)


class ShipmentItem(_Base):
    shop = UnicodeAttribute()
    order_id = UnicodeAttribute()
    shipment_no = NumberAttribute()
    status = UnicodeAttribute()
    lines = JsonAttribute()  # {"<line_no>": units}
    skus = JsonAttribute()  # {"<line_no>": sku}
    version = NumberAttribute(default=0)
    updated_at = UnicodeAttribute()

    def to_domain(self) -> Shipment:
        return Shipment(
            shop=self.shop,
            order_id=self.order_id,
            shipment_no=int(self.shipment_no),
            status=ShipmentStatus(self.status),
            lines={int(k): int(v) for k, v in self.lines.items()},
            skus={int(k): str(v) for k, v in self.skus.items()},
            version=int(self.version),
        )

    @classmethod
    def from_domain(cls, shipment: Shipment, at: str) -> ShipmentItem:
        return cls(
            pk=order_pk(shipment.shop, shipment.order_id),
            sk=shipment_sk(shipment.shipment_no),
            shop=shipment.shop,
            order_id=shipment.order_id,
            shipment_no=shipment.shipment_no,
            status=shipment.status.value,
            lines={str(k): v for k, v in shipment.lines.items()},
            skus={str(k): v for k, v in shipment.skus.items()},
            version=shipment.version,
            updated_at=at,
        )


# ------------------------------------------------------------------ settings


class ShopItem(_Base):
    shop = UnicodeAttribute(null=True)
    manual_shops = UnicodeSetAttribute(null=True)  # only on the CONFIG/MANUAL_SHOPS item
    line_policy = UnicodeAttribute(default="split")
    fill_mode = UnicodeAttribute(default="auto")
    notify_customers = BooleanAttribute(default=False)
    version = NumberAttribute(default=0)


class CustomerItem(_Base):
    shop = UnicodeAttribute()
    customer_id = UnicodeAttribute()
    line_policy = UnicodeAttribute(null=True)


class SupplierItem(_Base):
    supplier_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    settings = JsonAttribute()
    version = NumberAttribute(default=0)


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
)


def bind(table_name: str, region: str, host: str | None = None) -> None:
    """Point every model at the table. Called by the composition root."""
    for model in MODELS:
        model.Meta.table_name = table_name
        model.Meta.region = region
        model.Meta.host = host  # type: ignore[attr-defined]
        model._connection = None
