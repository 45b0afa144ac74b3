"""Stock movements: receipts, returns, adjustments and counts, each with a ledger
entry whose id makes a replay harmless.

A movement that raises on_hand is one transaction (ledger entry + counters). One that
lowers on_hand below what is free first takes units back from the last lines in
allotment order (releases go before the decrease), so ``available`` never drops
below zero, not even for a moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict
from backorders.domain.model import LinePolicy, Movement, MovementKind, SkuBalance
from backorders.services.commit import commit_changes, retrying
from backorders.services.ports import Balances, Demand, Ledger, ManualShops, UnitOfWork, Writes


@dataclass(frozen=True, slots=True)
class MovementResult:
    status: Literal["recorded", "duplicate"]
    movement_id: str
    delta: int
    balance: SkuBalance


class StockStore(Writes, Balances, Demand, Ledger, ManualShops, Protocol):
    """What recording a movement reads (the ledger, the balance, its holders) and writes."""


class StockService:
    def __init__(self, store: StockStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    def record(self, movement: Movement, *, shop: str | None = None) -> MovementResult:
        """Record a movement posted by ``shop`` (``None``: by the warehouse itself)."""
        movement.validate()
        event = f"{movement.kind} {movement.movement_id}"

        def attempt() -> MovementResult:
            replay = self._replayed(movement)
            if replay is not None:
                return replay
            balance = self.store.balance(movement.sku) or SkuBalance(movement.sku)
            delta = movement.delta(balance.on_hand)
            after = balance.on_hand + delta
            if after < 0:
                raise Conflict(
                    f"{movement.sku} has {balance.on_hand} on hand; {movement.kind} {delta:+d} would go below zero",
                    field="quantity",
                )
            if after < balance.locked:
                raise Conflict(
                    f"{movement.sku}: {balance.locked} unit(s) are in released shipments; "
                    f"on hand cannot drop to {after}",
                    field="quantity",
                )
            try:
                self._commit(movement, balance, delta, after, event, shop)
            except Conflict as exc:
                # a concurrent delivery of the same movement won: report the replay
                if "ledger" in exc.failed and (replay := self._replayed(movement)) is not None:
                    return replay
                raise
            fresh = self.store.balance(movement.sku) or balance
            return MovementResult("recorded", movement.movement_id, delta, fresh)

        return retrying(attempt)

    def _replayed(self, movement: Movement) -> MovementResult | None:
        entry = self.store.ledger(movement.sku, movement.movement_id)
        if entry is None:
            return None
        if entry.kind is not movement.kind or entry.quantity != movement.quantity:
            raise Conflict(
                f"movement {movement.movement_id} of {movement.sku} was already recorded "
                f"as {entry.kind} {entry.quantity}",
                field="id",
            )
        balance = self.store.balance(movement.sku) or SkuBalance(movement.sku)
        return MovementResult("duplicate", movement.movement_id, entry.delta, balance)

    def _commit(
        self, movement: Movement, balance: SkuBalance, delta: int, after: int, event: str, shop: str | None
    ) -> None:
        """Ledger entry and on_hand change in one transaction. When on_hand drops below
        what is free, the lines that give units back (last in allotment order first)
        are part of the same commit, so the movement and its releases land together."""

        def record(uow: UnitOfWork) -> None:
            uow.add_ledger(movement, delta, after)
            uow.touch_sku(movement.sku, on_hand=delta)

        shortfall = -delta - balance.available
        releases = self._releases(balance, shortfall) if shortfall > 0 else []
        if not releases and movement.kind is not MovementKind.COUNT:
            # only adds, guarded by available >= n: no need to pin the version
            uow = self.store.unit_of_work(writer="api", event=event, at=self.clock(), shop=shop)
            record(uow)
            uow.commit()
            return
        # A count is computed from the on_hand it read and releases from the lines it
        # read: both need that exact SKU version.
        commit_changes(
            self.store,
            balance.sku,
            balance.version,
            releases,
            writer="api",
            event=event,
            at=self.clock(),
            shop=shop,
            finish=record,
            notifying=self.store.shop_modes().notifying,
        )

    def _releases(self, balance: SkuBalance, shortfall: int) -> list[LineChange]:
        """Movable units to give back, last lines in allotment order first (a whole line
        gives all it holds: it may not keep part)."""
        changes: list[LineChange] = []
        for line in self.store.holders_from_end(balance.sku):
            give = line.movable if line.policy is LinePolicy.WHOLE else min(line.movable, shortfall)
            changes.append(LineChange(line, line.with_movable(line.movable - give)))
            shortfall -= give
            if shortfall <= 0:
                return changes
        raise Conflict(f"{balance.sku}: allotments changed meanwhile, retry")
