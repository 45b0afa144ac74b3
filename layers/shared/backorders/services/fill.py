"""Manual filling (Stone Edge "Fill Backorders") for shops that do not fill automatically.

The command picks the shop's waiting lines (those waiting for a fill, and lines forced
onto backorder by hand) with its filters: some SKUs only; only orders that can be
completed, or any lines. In allotment order they get **free units only** (PRODUCT.md,
"Allotted units are stable": a fill never takes units another line holds). Each order
is written in one transaction guarded by ``available >= n``, so the answer says
exactly what the order views show afterwards. A line that still falls short waits again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from backorders.domain.allotment import LineChange
from backorders.domain.model import FillMode, LinePolicy, OrderLine, SkuBalance
from backorders.domain.orders import request_fill
from backorders.domain.record_log import describe, filled_units
from backorders.services.commit import customer_intents, retrying
from backorders.services.ports import Backorders, Balances, ManualShops, Orders, Settings, Writes

EVENT = "manual fill"


@dataclass(frozen=True, slots=True)
class FillReport:
    orders_considered: int
    lines_filled: int
    units_filled: int
    filled: list[dict[str, Any]]


def _free(balance: SkuBalance | None) -> float:
    if balance is None:
        return 0
    free = balance.free
    return float("inf") if free is None else max(0, free)


def _fill_lines(lines: list[OrderLine], free: dict[str, float], *, only_complete: bool) -> list[LineChange]:
    """The fill of one order's chosen lines from ``free`` units per SKU (updated), in
    allotment order: a split line takes what is free, a whole line all it waits for."""
    ordered = sorted(lines, key=lambda ln: ln.key)
    eligible = [request_fill(ln) for ln in ordered]  # forced units count as waiting again
    if only_complete:  # all of the order's waiting units, or nothing
        need: dict[str, int] = defaultdict(int)
        for ln in eligible:
            need[ln.sku] += ln.cap - ln.movable
        if not all(free[sku] >= units for sku, units in need.items()):
            return []
    changes = []
    for before, ln in zip(ordered, eligible, strict=True):
        want, have = ln.cap - ln.movable, free[ln.sku]
        give = int(min(want, have))
        if give <= 0 or (ln.policy is LinePolicy.WHOLE and give < want):
            continue
        free[ln.sku] = have - give
        changes.append(LineChange(before, ln.with_movable(ln.movable + give)))
    return changes


class FillStore(Writes, Orders, Backorders, Balances, Settings, ManualShops, Protocol):
    """What a manual fill reads (the shop's waiting lines, their orders, what is free) and writes."""


class FillService:
    def __init__(self, store: FillStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    def fill(self, shop: str, *, skus: set[str] | None, only_complete: bool) -> FillReport:
        waiting: dict[str, list[OrderLine]] = defaultdict(list)
        for line in self.store.backordered_lines(shop):
            if (not skus or line.sku in skus) and (line.awaiting_fill or line.forced):
                waiting[line.order_id].append(line)
        manual = self.store.shop_settings(shop).fill_mode is FillMode.MANUAL
        filled: list[dict[str, Any]] = []
        lines_filled = units_filled = 0
        for order_id in sorted(waiting, key=lambda oid: min(ln.key for ln in waiting[oid])):
            line_nos = {ln.line_no for ln in waiting[order_id]}
            changes = retrying(
                lambda oid=order_id, nos=line_nos: self._fill_order(shop, oid, nos, only_complete, manual)  # type: ignore[misc]
            )
            if not changes:
                continue
            lines_filled += len(changes)
            units_filled += sum(c.delta for c in changes)
            view = self.store.order_view(shop, order_id, with_log=False)
            filled.append(
                {
                    "order_id": order_id,
                    "complete": view is not None and all(ln.backordered == 0 for ln in view.lines),
                    "lines": [{"line": c.after.line_no, "sku": c.after.sku, "filled": c.delta} for c in changes],
                }
            )
        return FillReport(len(waiting), lines_filled, units_filled, filled)

    def _fill_order(
        self, shop: str, order_id: str, line_nos: set[int], only_complete: bool, manual: bool
    ) -> list[LineChange]:
        """Fill one order from fresh reads; a concurrent change of a line or of what is
        free (the ``available >= n`` guard) fails the commit and ``retrying`` runs it again."""
        view = self.store.order_view(shop, order_id, with_log=False)
        if view is None:
            return []
        chosen = [ln for ln in view.lines if ln.backordered > 0]
        if not only_complete:
            chosen = [ln for ln in chosen if ln.line_no in line_nos and (ln.awaiting_fill or ln.forced)]
        balances = self.store.balances({ln.sku for ln in chosen})
        free = {sku: _free(balances.get(sku)) for sku in {ln.sku for ln in chosen}}
        changes = _fill_lines(chosen, free, only_complete=only_complete)
        if manual:  # a line left short waits for the next fill
            changes = [
                LineChange(c.before, replace(c.after, awaiting_fill=c.after.backordered - c.after.forced > 0))
                for c in changes
            ]
        if not changes:
            return []
        uow_at = self.clock()
        uow = self.store.unit_of_work(writer="api", event=EVENT, at=uow_at, shop=shop)
        for change in changes:
            uow.change_line(change)
            uow.log(
                describe(change),
                sku=change.after.sku,
                shop=shop,
                order_id=order_id,
                line_no=change.after.line_no,
                delta=change.delta,
                filled=filled_units(change, uow_at) or None,
            )
        for intent in customer_intents(changes, uow_at, self.store.shop_modes().notifying):
            uow.notify(intent)
        uow.commit()
        return changes
