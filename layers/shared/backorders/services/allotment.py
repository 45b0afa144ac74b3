"""The allotment engine's use case: recompute one SKU from what is stored now."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from backorders.domain.allotment import AllotmentPlan, FreeUnits, plan_allotment
from backorders.domain.demand import DEFAULT_WINDOW_DAYS, rated
from backorders.domain.model import Product, ShopModes, SkuBalance
from backorders.domain.notifications import is_low, low_stock, unknown_sku
from backorders.domain.purchasing import needs_attention
from backorders.domain.record_log import Event, causes_of
from backorders.services.commit import commit_changes, retrying
from backorders.services.ports import Demand, ManualShops, Products, UnitOfWork, Writes


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    sku: str
    plan: AllotmentPlan
    attempts: int
    backordered_after: int | None = None  # the SKU's backordered units once the plan committed


class AllotmentStore(Writes, Products, Demand, ManualShops, Protocol):
    """What a recompute reads (a balance with its product, its demand, its holders,
    manual shops) and writes."""


class Allotter:
    """Level-triggered recompute: read the SKU as it is now and converge."""

    def __init__(
        self,
        store: AllotmentStore,
        *,
        clock: Callable[[], str],
        sleep: Callable[[float], None] = time.sleep,
        window_days: float = DEFAULT_WINDOW_DAYS,
    ) -> None:
        self.store = store
        self.clock = clock
        self._sleep = sleep
        self.window_days = window_days

    def plan(self, sku: str) -> tuple[SkuBalance, AllotmentPlan, Product, ShopModes] | None:
        found = self.store.product(sku)
        if found is None:
            return None
        balance, product = found
        free = FreeUnits(balance.free)
        modes = self.store.shop_modes()
        plan = plan_allotment(
            balance,
            self.store.demand(sku, free.page_hint),
            lambda: self.store.holders_from_end(sku),
            manual_shops=modes.manual,
            free=free,
        )
        return balance, plan, product, modes

    def recompute(self, sku: str, *, event: Event) -> RecomputeResult:
        """Recompute ``sku`` until a plan commits or there is nothing to change. A
        concurrent change or throttling, while reading or writing, starts over from a
        fresh read. It also keeps the SKU's listing in the planning index: allotment moves
        units between backordered and allotted but never changes the stock position, so
        the listing follows from the balance as read (``needs_attention``). And it folds
        the units ordered since the last rating into the SKU's demand rate (``domain.demand``)."""
        attempts = 0

        def attempt() -> RecomputeResult:
            nonlocal attempts
            attempts += 1
            planned = self.plan(sku)
            if planned is None:
                return RecomputeResult(sku, AllotmentPlan(sku, (), 0), attempts)
            balance, plan, product, modes = planned
            now = self.clock()
            demand = rated(balance.demand, balance.ordered, now, self.window_days)
            rate = demand.at_time(now, self.window_days)
            listing = product.supplier_id if needs_attention(product, balance, rate) else None
            low = is_low(product, balance)
            unknown = not balance.known and not balance.reported and balance.ordered > 0

            def relist(uow: UnitOfWork) -> None:
                if listing != balance.attention:
                    uow.list_for_planning(sku, listing)
                if demand != balance.demand:
                    uow.set_demand(sku, demand)
                if low != balance.low:  # the buyer hears of it once each time it falls under
                    uow.mark_low(sku, now if low else None)
                    if low:
                        uow.notify(low_stock(product, balance, now))
                if unknown:
                    uow.mark_reported(sku)
                    uow.notify(unknown_sku(sku, balance.version, causes_of(event), now))

            changed = listing != balance.attention or demand != balance.demand or low != balance.low or unknown
            if plan.changes or changed:
                commit_changes(self.store, sku, balance.version, plan.changes, writer="allotter", event=event,
                               at=now, finish=relist, notifying=modes.notifying)  # fmt: skip
            # every allotted unit comes off the backorder (and a released one goes back on it)
            return RecomputeResult(sku, plan, attempts, balance.backordered - plan.net)

        return retrying(attempt, self._sleep)
