"""Use cases of the allotment engine: recompute one SKU, write line changes safely."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from backorders.adapters.dynamodb.store import DynamoStore, DynamoUnitOfWork
from backorders.domain.allotment import AllotmentPlan, GreedyAllotter, LineChange, plan_allotment
from backorders.domain.errors import Conflict, Throttled

# Per transaction: each change writes its line and one order-log entry; plus the SKU
# balance and one SKU-log entry. 40 changes -> 82 items, under DynamoDB's 100.
CHANGES_PER_TRANSACTION = 40
MAX_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    sku: str
    plan: AllotmentPlan
    attempts: int


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


def describe(change: LineChange, first_take: LineChange | None, event: str) -> str:
    """A record-log sentence: what moved, where, and why. ``first_take`` is the first
    line of the plan that takes units (takes come in allotment order): a release after
    it in allotment order gave its units to that line."""
    line = change.after
    units = abs(change.delta)
    plural = "unit" if units == 1 else "units"
    if change.delta > 0:
        return (
            f"{units} {plural} of {line.sku} went to order {line.order_id} line {line.line_no} "
            f"(priority {line.priority}) after {event}"
        )
    if change.delta < 0:
        if first_take is not None and first_take.after.key < change.before.key:
            taker = first_take.after
            return (
                f"{units} {plural} of {line.sku} taken back from order {line.order_id} line {line.line_no} "
                f"for order {taker.order_id} (priority {taker.priority}) after {event}"
            )
        return f"{units} {plural} of {line.sku} released from order {line.order_id} line {line.line_no} after {event}"
    return f"order {line.order_id} line {line.line_no} now waits for a manual fill ({event})"


def commit_changes(
    store: DynamoStore,
    sku: str,
    version: int,
    changes: Sequence[LineChange],
    *,
    writer: str,
    event: str,
    at: str,
    finish: Callable[[DynamoUnitOfWork], None] | None = None,
) -> int:
    """Write line changes of one SKU in as few transactions as the 100-item limit
    allows, releases before takes, each conditioned on the SKU version the plan was
    made from (every commit bumps it by one). ``finish`` adds more writes to the last
    transaction, so they commit together with the last changes. Returns the SKU
    version after."""
    starts = list(range(0, len(changes), CHANGES_PER_TRANSACTION)) or [0]
    first_take = next((c for c in changes if c.delta > 0), None)
    for start in starts:
        chunk = changes[start : start + CHANGES_PER_TRANSACTION]
        uow = store.unit_of_work(writer=writer, event=event, at=at)
        for change in chunk:
            uow.change_line(change)
            uow.log(
                describe(change, first_take, event),
                sku=sku,
                shop=change.after.shop,
                order_id=change.after.order_id,
                line_no=change.after.line_no,
                delta=change.delta,
            )
        if chunk:
            net = sum(c.delta for c in chunk)
            uow.log(f"{len(chunk)} line(s) changed, {net:+d} allotted, after {event}", sku=sku, delta=net)
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

    def plan(self, sku: str) -> tuple[int, AllotmentPlan] | None:
        balance = self.store.balance(sku)
        if balance is None:
            return None
        allotter = GreedyAllotter(balance.pool)
        plan = plan_allotment(
            balance,
            self.store.demand(sku, allotter.page_hint),
            lambda key: self.store.holders_after(sku, key),
            manual_shops=self.store.manual_shops(),
            allotter=allotter,
        )
        return balance.version, plan

    def recompute(self, sku: str, *, event: str) -> RecomputeResult:
        """Recompute ``sku`` until a plan commits or there is nothing to change."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            planned = self.plan(sku)
            if planned is None:
                return RecomputeResult(sku, AllotmentPlan(sku, (), 0), attempt)
            version, plan = planned
            if not plan.changes:
                return RecomputeResult(sku, plan, attempt)
            try:
                commit_changes(self.store, sku, version, plan.changes, writer="allocator", event=event, at=self.clock())
                return RecomputeResult(sku, plan, attempt)
            except (Conflict, Throttled):
                backoff(attempt, self._sleep)
        raise Conflict(f"allotment of {sku} did not settle after {MAX_ATTEMPTS} attempts")
