"""Use cases of the allotment engine: recompute one SKU, write line changes safely."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backorders.adapters.dynamodb.store import DynamoStore, DynamoUnitOfWork
from backorders.domain.allotment import AllotmentPlan, FreeUnits, LineChange, plan_allotment
from backorders.domain.errors import Conflict, Throttled
from backorders.domain.model import SkuBalance
from backorders.domain.record_log import Event, describe

# Per transaction: each change writes its line and one order-log entry; plus the SKU
# balance and one SKU-log entry. 40 changes -> 82 items, under DynamoDB's 100.
CHANGES_PER_TRANSACTION = 40
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    sku: str
    plan: AllotmentPlan
    attempts: int
    backordered_after: int | None = None  # the SKU's backordered units once the plan committed


def backoff(attempt: int, sleep: Callable[[float], None] = time.sleep) -> None:
    sleep(min(0.5, 0.01 * (2**attempt)) * random.random())


def retrying[T](action: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``action`` again (it re-reads) when storage reports a concurrent change or
    throttling; a conflict raised by a rule (it names a field) goes straight out."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return action()
        except Conflict as exc:
            if exc.field is not None or attempt == MAX_ATTEMPTS:
                raise
        except Throttled:
            if attempt == MAX_ATTEMPTS:
                raise
        backoff(attempt, sleep)
    raise AssertionError("unreachable")


def commit_changes(
    store: DynamoStore,
    sku: str,
    version: int,
    changes: Sequence[LineChange],
    *,
    writer: str,
    event: Event,
    at: str,
    shop: str | None = None,
    finish: Callable[[DynamoUnitOfWork], None] | None = None,
) -> int:
    """Write line changes of one SKU in as few transactions as the 100-item limit
    allows, releases before takes, each conditioned on the SKU version the plan was
    made from (every commit bumps it by one). ``finish`` adds more writes to the last
    transaction, so they commit together with the last changes. Returns the SKU
    version after."""
    starts = list(range(0, len(changes), CHANGES_PER_TRANSACTION)) or [0]
    for start in starts:
        chunk = changes[start : start + CHANGES_PER_TRANSACTION]
        uow = store.unit_of_work(writer=writer, event=event, at=at, shop=shop)
        for change in chunk:
            uow.change_line(change)
            uow.log(
                describe(change),
                sku=sku,
                shop=change.after.shop,
                order_id=change.after.order_id,
                line_no=change.after.line_no,
                delta=change.delta,
            )
        if chunk:
            net = sum(c.delta for c in chunk)
            uow.log(f"{len(chunk)} line(s) changed, {net:+d} allotted", sku=sku, delta=net)
        if finish is not None and start == starts[-1]:
            finish(uow)
        uow.touch_sku(sku, expect_version=version)
        uow.commit()
        version += 1
    return version


class Allocator:
    """Level-triggered recompute: read the SKU as it is now and converge."""

    def __init__(
        self,
        store: DynamoStore,
        *,
        clock: Callable[[], str],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.clock = clock
        self._sleep = sleep

    def plan(self, sku: str) -> tuple[SkuBalance, AllotmentPlan] | None:
        balance = self.store.balance(sku)
        if balance is None:
            return None
        free = FreeUnits(balance.free)
        plan = plan_allotment(
            balance,
            self.store.demand(sku, free.page_hint),
            lambda: self.store.holders_from_end(sku),
            manual_shops=self.store.manual_shops(),
            free=free,
        )
        return balance, plan

    def recompute(self, sku: str, *, event: Event) -> RecomputeResult:
        """Recompute ``sku`` until a plan commits or there is nothing to change. A
        concurrent change or throttling, while reading or writing, starts over from a
        fresh read."""
        attempts = 0

        def attempt() -> RecomputeResult:
            nonlocal attempts
            attempts += 1
            planned = self.plan(sku)
            if planned is None:
                return RecomputeResult(sku, AllotmentPlan(sku, (), 0), attempts)
            balance, plan = planned
            if plan.changes:
                commit_changes(
                    self.store, sku, balance.version, plan.changes, writer="allocator", event=event, at=self.clock()
                )
            # every allotted unit comes off the backorder (and a released one goes back on it)
            return RecomputeResult(sku, plan, attempts, balance.backordered - plan.net)

        return retrying(attempt, self._sleep)
