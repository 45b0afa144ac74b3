"""What a table stream record asks the allotter to do (pure: works on the raw record).

- a SKU balance changed by anyone but the service itself -> recompute that SKU;
- an order line changed by anyone but the service itself -> recompute its SKU;
- an order line whose allotment changed (anyone) -> sync the order's pending shipment.
The service's own writes (``writer`` "allotter", or "sweep" for its bookkeeping) do
not trigger recomputes of their own SKU: a recompute commits a state it computed from
what it read, and one that fails is retried from its trigger.

Each SKU to recompute comes with its causes: the record's ``last_event`` and the shop it
belongs to (a line's shop; a balance's ``event_shop``), so the record log can say why
without naming another shop's orders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from backorders.domain.record_log import Cause

ALLOTMENT_FIELDS = ("allotted", "locked", "backordered", "shipped", "cancelled", "quantity")
SERVICE_WRITERS = frozenset({"allotter", "sweep"})


def _s(image: dict[str, Any], name: str) -> str | None:
    value = image.get(name)
    if isinstance(value, dict):
        return value.get("S") or value.get("N")
    return None


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


def triggers_of(record: dict[str, Any]) -> Triggers:
    ddb = record.get("dynamodb") or {}
    new = ddb.get("NewImage") or {}
    old = ddb.get("OldImage") or {}
    sk = _s(ddb.get("Keys") or {}, "sk") or ""
    out = Triggers()
    if not new:  # removals carry no allotment state
        return out
    by_service = _s(new, "writer") in SERVICE_WRITERS
    text = _s(new, "last_event") or "a change"
    if sk == "SKU":
        if not by_service:
            out.add(_s(new, "sku") or "", Cause(text, _s(new, "event_shop")))
    elif sk.startswith("LINE#"):
        if not by_service:
            cause = Cause(text, _s(new, "shop"))
            out.add(_s(new, "sku") or "", cause)
            old_sku = _s(old, "sku")
            if old_sku and old_sku != _s(new, "sku"):
                out.add(old_sku, cause)
        if any(_s(new, f) != _s(old, f) for f in ALLOTMENT_FIELDS):
            out.orders.add((_s(new, "shop") or "", _s(new, "order_id") or ""))
    return out
