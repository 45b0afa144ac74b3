"""The scheduled allotment sweep: recompute every SKU that may have backordered lines.

It reads the sparse ``backlog`` index (SKUs enter it with their first backordered unit),
so its reads grow with the SKUs that have backorders, not with the lines waiting; a SKU
found with none left is taken out of the index.
"""

from __future__ import annotations

from typing import Any

from backorders.adapters.dynamodb.store import DynamoStore
from backorders.services.allocation import Allocator


class Sweep:
    def __init__(self, store: DynamoStore, allocator: Allocator) -> None:
        self.store = store
        self.allocator = allocator

    def run(self, *, event: str) -> dict[str, Any]:
        skus = sorted(set(self.store.skus_with_backlog()))
        changed = failed = cleared = 0
        for sku in skus:
            try:
                result = self.allocator.recompute(sku, event=event)
                if result.plan.changes:
                    changed += 1
                if result.backordered_after == 0 and self.store.clear_backlog(sku):
                    cleared += 1
            except Exception:  # one stuck SKU must not stop the sweep of the others
                failed += 1
        if failed:
            raise RuntimeError(f"sweep: {failed} of {len(skus)} SKU(s) could not be recomputed")
        return {"skus": len(skus), "changed": changed, "cleared": cleared}
