"""What a table stream record asks the allotter to do (pure: works on the record's
images as Python values, as powertools' ``DynamoDBRecord`` deserializes them).

- a SKU balance changed by anyone but the service itself -> recompute that SKU;
- an order line changed by anyone but the service itself -> recompute its SKU;
- an order line whose allotment changed (anyone) -> sync the order's pending shipment;
- a SKU balance whose projected position or planning settings changed where planning
  looks (listed before or after: ``needs_attention``) -> replan its supplier (and the old
  one, if the product moved), through the replan queue.
- a webhook delivery stored (its insert) -> apply it (``services.webshop_sync``).
The service's own writes (``writer`` "allotter", "sweep" for its bookkeeping, "planner"
for expected dates) do not trigger recomputes of their own SKU: a recompute commits a state it computed from
what it read, and one that fails is retried from its trigger.

Each SKU to recompute comes with its causes: the record's ``last_event`` and the shop it
belongs to (a line's shop; a balance's ``event_shop``), so the record log can say why
without naming another shop's orders.

``triggers_of`` takes anything shaped as powertools' ``DynamoDBRecord`` (its
``dynamodb`` stream record with ``keys``, ``new_image`` and ``old_image``), named here as a
port so that services import no powertools.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from backorders.domain.model import Product, SkuBalance
from backorders.domain.purchasing import needs_attention
from backorders.domain.record_log import Cause

ALLOTMENT_FIELDS = ("allotted", "locked", "backordered", "shipped", "cancelled", "quantity")
SERVICE_WRITERS = frozenset({"allotter", "sweep", "planner"})  # the planner writes expected dates only


class StreamImages(Protocol):
    """A stream record's key and item images, deserialized (powertools' ``StreamRecord``)."""

    @property
    def keys(self) -> dict[str, Any]: ...
    @property
    def new_image(self) -> dict[str, Any]: ...
    @property
    def old_image(self) -> dict[str, Any]: ...


class StreamChange(Protocol):
    """One table stream record (powertools' ``DynamoDBRecord``)."""

    @property
    def dynamodb(self) -> StreamImages | None: ...


@dataclass(slots=True)
class Triggers:
    skus: dict[str, list[Cause]] = field(default_factory=dict)  # sku -> why it is recomputed
    orders: set[tuple[str, str]] = field(default_factory=set)
    suppliers: set[str] = field(default_factory=set)  # to replan
    deliveries: set[tuple[str, str]] = field(default_factory=set)  # (shop, delivery sort key) to apply

    def keys(self) -> set[tuple[str, str]]:
        return (
            {("sku", s) for s in self.skus}
            | {("order", f"{shop}#{oid}") for shop, oid in self.orders}
            | {("delivery", f"{shop}#{sk}") for shop, sk in self.deliveries}
        )

    def add(self, sku: str, cause: Cause) -> None:
        if not sku:
            return
        causes = self.skus.setdefault(sku, [])
        if cause not in causes:
            causes.append(cause)

    @classmethod
    def collect(cls, many: Iterable[Triggers]) -> Triggers:
        """Merge a batch: each SKU once, with the distinct causes that touched it."""
        out = cls()
        for t in many:
            for sku, causes in t.skus.items():
                for cause in causes:
                    out.add(sku, cause)
            out.orders |= t.orders
            out.suppliers |= t.suppliers
            out.deliveries |= t.deliveries
        return out


def triggers_of(record: StreamChange) -> Triggers:
    images = record.dynamodb
    out = Triggers()
    if images is None:
        return out
    new, old = images.new_image, images.old_image
    if not new:  # removals carry no allotment state
        return out
    sk = str(images.keys.get("sk") or "")
    by_service = new.get("writer") in SERVICE_WRITERS
    text = new.get("last_event") or "a change"
    if sk.startswith("DELIVERY#"):
        if not old:  # stored just now; settling it (applied, rejected) asks for nothing
            out.deliveries.add((str(new.get("shop") or ""), sk))
    elif sk == "SKU":
        if not by_service:
            out.add(new.get("sku") or "", Cause(text, new.get("event_shop") or None))
        out.suppliers |= suppliers_to_replan(old, new)
    elif sk.startswith("LINE#"):
        if not by_service:
            cause = Cause(text, new.get("shop") or None)
            out.add(new.get("sku") or "", cause)
            old_sku = old.get("sku")
            if old_sku and old_sku != new.get("sku"):
                out.add(old_sku, cause)
        if any(new.get(f) != old.get(f) for f in ALLOTMENT_FIELDS):
            out.orders.add((new.get("shop") or "", new.get("order_id") or ""))
    return out


PLANNING_FIELDS = ("on_hand", "allotted", "backordered", "incoming", "supplier_id", "min_stock", "max_stock",
                   "phased_out", "order_multiple", "tracked", "known", "purchase_price")  # fmt: skip


def _listed(image: dict[str, Any]) -> bool:
    if not image:
        return False
    product = Product(
        sku=str(image.get("sku") or ""),
        supplier_id=image.get("supplier_id"),
        min_stock=None if image.get("min_stock") is None else int(image["min_stock"]),
        phased_out=bool(image.get("phased_out")),
        tracked=image.get("tracked") is not False,
    )

    def count(name: str) -> int:
        return int(image.get(name) or 0)

    balance = SkuBalance(product.sku, count("on_hand"), count("allotted"), backordered=count("backordered"),
                         incoming=count("incoming"), known=bool(image.get("known")))  # fmt: skip
    return needs_attention(product, balance, float(image.get("demand_rate") or 0))


def suppliers_to_replan(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    """The suppliers to replan after a SKU balance changed from ``old`` to ``new``."""
    if not (_listed(old) or _listed(new)) or all(old.get(f) == new.get(f) for f in PLANNING_FIELDS):
        return set()
    return {str(s) for s in (old.get("supplier_id"), new.get("supplier_id")) if s}
