"""The scheduled allotment sweep: recompute every SKU that has backordered lines.

It reads the sparse ``backlog`` index (a SKU enters it with its first backordered unit)
and the balances of those SKUs in one batch, and recomputes the SKUs that still have
backorders: its reads grow with the SKUs that have backorders, not with the lines
waiting, and a frequent run writes nothing unless a recompute changes something. A SKU
whose backorders are gone stays in the index until the daily run takes it out (one
conditional write, at most once a day per SKU, instead of one every few minutes for a
SKU whose orders come and are allotted all day).
"""

from __future__ import annotations

from typing import Any, Protocol

from backorders.services.allotment import Allotter
from backorders.services.ports import Backlog, Balances


class SweepStore(Backlog, Balances, Protocol):
    """What the sweep reads (the backlog index, balances) and clears."""


class Sweep:
    def __init__(self, store: SweepStore, allotter: Allotter) -> None:
        self.store = store
        self.allotter = allotter

    def run(self, *, event: str, clear_stale: bool = False) -> dict[str, Any]:
        skus = sorted(set(self.store.skus_with_backlog()))
        balances = self.store.balances(skus)  # eventually consistent: a backorder just made is the stream's
        changed = failed = cleared = 0
        for sku in skus:
            balance = balances.get(sku)
            try:
                backordered = balance.backordered if balance is not None else 0
                if backordered > 0:
                    result = self.allotter.recompute(sku, event=event)
                    changed += bool(result.plan.changes)
                    backordered = result.backordered_after or 0
                if backordered == 0 and clear_stale and self.store.clear_backlog(sku):
                    cleared += 1
            except Exception:  # one stuck SKU must not stop the sweep of the others
                failed += 1
        if failed:
            raise RuntimeError(f"sweep: {failed} of {len(skus)} SKU(s) could not be recomputed")
        return {"skus": len(skus), "changed": changed, "cleared": cleared}
