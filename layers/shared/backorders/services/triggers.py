"""What a table stream record asks the allocator to do (pure: works on the raw record).

- a SKU balance changed by anyone but the allocator -> recompute that SKU;
- an order line changed by anyone but the allocator -> recompute its SKU;
- an order line whose allotment changed (anyone) -> sync the order's pending shipment.
Allocator writes do not trigger recomputes of their own SKU: a recompute commits a
state it computed from what it read, and one that fails is retried from its trigger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALLOTMENT_FIELDS = ("allotted", "locked", "backordered", "shipped", "cancelled", "quantity")


def _s(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, dict):
        return value.get("S") or value.get("N")
    return None


@dataclass(slots=True)
class Triggers:
    skus: dict[str, str] = field(default_factory=dict)  # sku -> event that triggered it
    orders: set[tuple[str, str]] = field(default_factory=set)

    def keys(self) -> set[tuple[str, str]]:
        return {("sku", s) for s in self.skus} | {("order", f"{shop}#{oid}") for shop, oid in self.orders}

    @classmethod
    def collect(cls, many: Iterable[Triggers]) -> Triggers:
        """Merge a batch: each SKU once, with the distinct events that touched it."""
        out = cls()
        events: dict[str, list[str]] = {}
        for t in many:
            for sku, event in t.skus.items():
                seen = events.setdefault(sku, [])
                if event not in seen:
                    seen.append(event)
            out.orders |= t.orders
        for sku, seen in events.items():
            out.skus[sku] = ", ".join(seen[:3]) + (f" and {len(seen) - 3} more" if len(seen) > 3 else "")
        return out


def triggers_of(record: dict[str, Any]) -> Triggers:
    ddb = record.get("dynamodb") or {}
    new = ddb.get("NewImage") or {}
    old = ddb.get("OldImage") or {}
    image = new or old
    sk = _s(ddb.get("Keys") or {}, "sk") or ""
    out = Triggers()
    if not new:  # removals carry no allotment state
        return out
    writer = _s(new, "writer")
    event = _s(new, "last_event") or "a change"
    if sk == "SKU":
        if writer != "allocator":
            out.skus[_s(image, "sku") or ""] = event
    elif sk.startswith("LINE#"):
        if writer != "allocator":
            out.skus[_s(image, "sku") or ""] = event
            old_sku = _s(old, "sku")
            if old_sku and old_sku != _s(new, "sku"):
                out.skus[old_sku] = event
        if any(_s(new, f) != _s(old, f) for f in ALLOTMENT_FIELDS):
            out.orders.add((_s(image, "shop") or "", _s(image, "order_id") or ""))
    out.skus.pop("", None)
    return out
