"""What a table stream record asks the allotter to do (pure: works on the record's
images as Python values, as powertools' ``DynamoDBRecord`` deserializes them).

- a SKU balance changed by anyone but the service itself -> recompute that SKU;
- an order line changed by anyone but the service itself -> recompute its SKU;
- an order line whose allotment changed (anyone) -> sync the order's pending shipment.
The service's own writes (``writer`` "allotter", or "sweep" for its bookkeeping) do
not trigger recomputes of their own SKU: a recompute commits a state it computed from
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

from backorders.domain.record_log import Cause

ALLOTMENT_FIELDS = ("allotted", "locked", "backordered", "shipped", "cancelled", "quantity")
SERVICE_WRITERS = frozenset({"allotter", "sweep"})


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

    def keys(self) -> set[tuple[str, str]]:
        return {("sku", s) for s in self.skus} | {("order", f"{shop}#{oid}") for shop, oid in self.orders}

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
    if sk == "SKU":
        if not by_service:
            out.add(new.get("sku") or "", Cause(text, new.get("event_shop") or None))
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
