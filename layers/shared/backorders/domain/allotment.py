"""Allotment: which open lines of one SKU hold its units.

The rule (PRODUCT.md, "Orders and allotment"): lines are served in allotment order
(priority high first, then entry time, order id and line number). Each line takes
``min(cap, remaining)`` units under the ``split`` policy, and all of its cap or
nothing under ``whole``. Units locked in released shipments never move; they are
outside the pool. A recompute is level-triggered: it looks at the current state and
returns the changes that make it the greedy result, so replays are harmless.

The caller hands lines in lazily (an iterator over a sparse index in allotment order)
and the planner stops pulling as soon as the pool is spent: a recompute reads the
lines that hold units or can receive them now, never the whole backlog. Lines after
that point that still hold units are fetched separately (``holders_after``) and give
their units back.

A plan keeps its changes as plain lists (the line and the allotment it gets) and builds
a :class:`LineChange` only when one is read: the planning loop then allocates nothing
per line, and a writer that takes the changes 40 at a time never holds them all as
objects (a million-line plan spent most of its time allocating them and in the garbage
collector walking them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import overload

from backorders.domain.model import LinePolicy, OrderLine, SkuBalance


class LineChange:
    """One line's state before and after a change. A recompute only decides the new
    allotment (and, in manual mode, the waiting flag); the full ``after`` line is
    built when someone asks for it, which keeps the planning loop cheap."""

    __slots__ = ("_after", "_allotted", "_awaiting_fill", "before")

    def __init__(
        self,
        before: OrderLine,
        after: OrderLine | None = None,
        *,
        allotted: int | None = None,
        awaiting_fill: bool | None = None,
    ) -> None:
        self.before = before
        self._after = after
        self._allotted = before.allotted if allotted is None else allotted
        self._awaiting_fill = awaiting_fill

    @property
    def after(self) -> OrderLine:
        if self._after is None:
            after = self.before.with_movable(self._allotted - self.before.locked)
            if self._awaiting_fill is not None and self._awaiting_fill != after.awaiting_fill:
                after = replace(after, awaiting_fill=self._awaiting_fill)
            self._after = after
        return self._after

    @property
    def delta(self) -> int:
        """Units this change takes (positive) or gives back (negative)."""
        after = self._after
        return (after.allotted if after is not None else self._allotted) - self.before.allotted

    def __repr__(self) -> str:
        return f"LineChange({self.before.order_id}/{self.before.line_no} {self.delta:+d})"


class Changes(Sequence[LineChange]):
    """Line changes kept as parallel lists (line, allotment after, waiting flag after),
    releases first; each :class:`LineChange` is built when it is read."""

    __slots__ = ("_allotted", "_lines", "_waiting")

    def __init__(self, lines: list[OrderLine], allotted: list[int], waiting: list[bool | None]) -> None:
        self._lines = lines
        self._allotted = allotted
        self._waiting = waiting

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> LineChange: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[LineChange, ...]: ...
    def __getitem__(self, index: int | slice) -> LineChange | tuple[LineChange, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self._lines))))
        return LineChange(self._lines[index], allotted=self._allotted[index], awaiting_fill=self._waiting[index])

    def __iter__(self) -> Iterator[LineChange]:
        for line, allotted, waiting in zip(self._lines, self._allotted, self._waiting, strict=True):
            yield LineChange(line, allotted=allotted, awaiting_fill=waiting)

    def __repr__(self) -> str:
        return f"Changes({len(self)} lines)"


@dataclass(frozen=True, slots=True)
class AllotmentPlan:
    sku: str
    changes: Sequence[LineChange]  # releases first, then takes in allotment order
    lines_read: int

    @property
    def releases(self) -> tuple[LineChange, ...]:
        return tuple(c for c in self.changes if c.delta < 0)

    @property
    def takes(self) -> tuple[LineChange, ...]:
        return tuple(c for c in self.changes if c.delta >= 0)

    @property
    def net(self) -> int:
        return sum(c.delta for c in self.changes)


class GreedyAllotter:
    """Hands out a pool of units to lines offered in allotment order."""

    __slots__ = ("remaining",)

    def __init__(self, pool: int | None) -> None:
        self.remaining = pool  # None: unlimited (untracked product)

    @property
    def exhausted(self) -> bool:
        return self.remaining == 0

    def offer(self, line: OrderLine) -> int:
        """The movable units ``line`` should hold, given every earlier line was offered."""
        cap = line.cap
        remaining = self.remaining
        if remaining is None:
            return cap
        if cap <= remaining:
            self.remaining = remaining - cap
            return cap
        if line.policy is LinePolicy.WHOLE:
            return 0
        self.remaining = 0
        return remaining

    def page_hint(self, maximum: int = 100) -> int:
        """How many more lines are worth reading: each line that gets anything takes
        at least one unit, so ``remaining + 1`` lines settle the pool in the usual case."""
        if self.remaining is None:
            return maximum
        return max(1, min(maximum, self.remaining + 1))


def settle(line: OrderLine, target: int, *, manual: bool) -> OrderLine:
    """The line after the recompute gave it ``target`` movable units. In manual fill
    mode a line left short waits for a fill command from now on."""
    after = line.with_movable(target) if target != line.movable else line
    if manual and after.backordered - after.forced > 0 and not after.awaiting_fill:
        after = replace(after, awaiting_fill=True)
    return after


# the line, the allotment it gets, its waiting flag after (None: unchanged)
_Side = tuple[list[OrderLine], list[int], list[bool | None]]


def plan_allotment(
    balance: SkuBalance,
    demand: Iterable[OrderLine],
    holders_after: Callable[[str], Iterable[OrderLine]],
    *,
    manual_shops: frozenset[str] = frozenset(),
    allotter: GreedyAllotter | None = None,
) -> AllotmentPlan:
    """Plan one SKU's recompute.

    ``demand`` yields the SKU's lines with ``cap > 0`` or movable units, in allotment
    order. ``holders_after(key)`` yields lines with movable units whose allotment key
    is greater than ``key``. Lines of shops in ``manual_shops`` that are left short
    start waiting for a fill command; while any shop fills by hand the whole demand
    index is read (it then holds only fresh lines and holders), so none is missed.
    """
    allotter = allotter or GreedyAllotter(balance.pool)
    # releases and takes as parallel lists: appending to them allocates nothing per line
    releases: _Side = ([], [], [])
    takes: _Side = ([], [], [])
    read = 0
    last: OrderLine | None = None
    offer = allotter.offer
    for line in demand:
        read += 1
        last = line
        target = offer(line)
        movable = line.allotted - line.locked
        if manual_shops and line.shop in manual_shops:
            after = settle(line, target, manual=True)
            if after != line:
                side = releases if target < movable else takes
                side[0].append(line)
                side[1].append(after.allotted)
                side[2].append(after.awaiting_fill if after.awaiting_fill != line.awaiting_fill else None)
        elif target != movable:  # only changed lines cost anything beyond the offer
            side = releases if target < movable else takes
            side[0].append(line)
            side[1].append(line.locked + target)
            side[2].append(None)
        if allotter.remaining == 0 and not manual_shops:
            break
    else:
        last = None  # demand fully read: every holder was seen
    if last is not None:
        for line in holders_after(last.key):
            read += 1
            after = settle(line, 0, manual=line.shop in manual_shops)
            if after != line:
                releases[0].append(line)
                releases[1].append(after.allotted)
                releases[2].append(after.awaiting_fill if after.awaiting_fill != line.awaiting_fill else None)
    # Releases first: a writer that applies them in this order never needs more
    # units than are free at any point.
    changes = Changes(releases[0] + takes[0], releases[1] + takes[1], releases[2] + takes[2])
    return AllotmentPlan(balance.sku, changes, read)
