"""The scheduled allotment sweep: recompute every SKU that has backordered lines."""

from __future__ import annotations

from typing import Any

from backorders.adapters.dynamodb.store import DynamoStore
from backorders.services.allocation import Allocator


class Sweep:
    def __init__(self, store: DynamoStore, allocator: Allocator) -> None:
        self.store = store
        self.allocator = allocator

    def run(self, *, event: str) -> dict[str, Any]:
        skus = sorted({line.sku for line in self.store.backordered_lines()})
        changed = failed = 0
        for sku in skus:
            try:
                if self.allocator.recompute(sku, event=event).plan.changes:
                    changed += 1
            except Exception:  # one stuck SKU must not stop the sweep of the others
                failed += 1
        if failed:
            raise RuntimeError(f"sweep: {failed} of {len(skus)} SKU(s) could not be recomputed")
        return {"skus": len(skus), "changed": changed}
