"""Manual filling (Stone Edge "Fill Backorders") for shops that do not fill automatically.

The command picks waiting lines (filters: SKUs; only orders that can be completed, or
any lines), makes them eligible again and recomputes their SKUs at once, so the
answer says what was filled. Lines that still fall short wait again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backorders.adapters.dynamodb.store import DynamoStore
from backorders.domain.model import LinePolicy, OrderLine
from backorders.services.allocation import Allocator
from backorders.services.orders import OrderService


@dataclass(frozen=True, slots=True)
class FillReport:
    orders_considered: int
    lines_released: int
    filled: list[dict[str, Any]]


class FillService:
    def __init__(
        self, store: DynamoStore, orders: OrderService, allocator: Allocator, *, clock: Callable[[], str]
    ) -> None:
        self.store = store
        self.orders = orders
        self.allocator = allocator
        self.clock = clock

    def fill(self, shop: str, *, skus: set[str] | None, only_complete: bool) -> FillReport:
        waiting: dict[str, list[OrderLine]] = defaultdict(list)
        for line in self.store.backordered_lines():
            if line.shop != shop or (skus and line.sku not in skus):
                continue
            if line.awaiting_fill or line.forced:
                waiting[line.order_id].append(line)
        if not waiting:
            return FillReport(0, 0, [])
        wanted_skus = {ln.sku for lines in waiting.values() for ln in lines}
        if only_complete:  # an order can be completed only if all its waiting lines can
            for order_id in list(waiting):
                view = self.store.order_view(shop, order_id, with_log=False)
                waiting[order_id] = [ln for ln in view.lines if ln.backordered > 0] if view else []
                wanted_skus |= {ln.sku for ln in waiting[order_id]}
        balances = self.store.balances(wanted_skus)
        free: dict[str, float] = {}
        for sku in wanted_skus:
            b = balances.get(sku)
            if b is None or not b.known:
                free[sku] = 0
            else:
                free[sku] = float("inf") if b.pool is None else b.available
        chosen: dict[str, set[int]] = {}
        for order_id, lines in sorted(waiting.items(), key=lambda kv: min(ln.key for ln in kv[1]) if kv[1] else ""):
            if not lines:
                continue
            if only_complete:
                need: dict[str, int] = defaultdict(int)
                for ln in lines:
                    need[ln.sku] += ln.backordered
                if all(free[s] >= n for s, n in need.items()):
                    for s, n in need.items():
                        free[s] -= n
                    chosen[order_id] = {ln.line_no for ln in lines}
                continue
            picked = set()
            for ln in sorted(lines, key=lambda ln: ln.key):
                have = free[ln.sku]
                take = ln.backordered if ln.policy is LinePolicy.WHOLE else min(have, ln.backordered)
                if have > 0 and take <= have:
                    free[ln.sku] -= take
                    picked.add(ln.line_no)
            if picked:
                chosen[order_id] = picked
        released = 0
        for order_id, line_nos in chosen.items():
            released += len(self.orders.mark_fill(shop, order_id, line_nos, event="manual fill"))
        touched = {ln.sku for order_id in chosen for ln in waiting[order_id] if ln.line_no in chosen[order_id]}
        for sku in sorted(touched):
            self.allocator.recompute(sku, event="manual fill")
        filled = []
        for order_id, line_nos in chosen.items():
            before = {ln.line_no: ln for ln in waiting[order_id]}
            after = [ln for ln in self.orders.view(shop, order_id).lines if ln.line_no in line_nos]
            got = [
                {"line": ln.line_no, "sku": ln.sku, "filled": ln.allotted - before[ln.line_no].allotted}
                for ln in after
                if ln.allotted > before[ln.line_no].allotted
            ]
            if got:
                complete = all(ln.backordered == 0 for ln in self.orders.view(shop, order_id).lines)
                filled.append({"order_id": order_id, "complete": complete, "lines": got})
        return FillReport(len(waiting), released, filled)
