"""Allotment: which open lines of one SKU hold its units.

The rule (PRODUCT.md, "Orders and allotment"): waiting lines are served in allotment
order (priority high first, then entry time, order id and line number), each with
``min(cap, what it can get)`` units under the ``split`` policy and all of its cap or
nothing under ``whole``. What a line can get is **free units** (on hand minus what is
allotted) and, failing those, units held by lines of **strictly lower priority**, taken
from the end of allotment order (lowest priority, latest first). Allotted units are
stable: they never move to a line of the same or a lower priority, so an earlier
waiting line of equal rank gets only free units, and a warehouse that is picking a
pending shipment never sees it shrink for an order of equal rank. Units locked in
released shipments never move; they are outside the pool. A whole line holds all of
its cap or nothing: one that loses units to a higher priority gives back all of them
(what the taker does not need becomes free).

A recompute is level-triggered: it looks at the current state and returns the changes
that reach the rule's fixed point, so replays are harmless. Afterwards no line waits
while free units or units of a strictly lower-priority line could serve it.

The caller hands lines in lazily (an iterator over a sparse index in allotment order)
and the planner stops as soon as no further line can get anything: when no free unit
is left and no holder ranks below the line just read. Holders are read from the end
(``holders_from_end``) only when a line may take their units. A recompute therefore
reads the lines that hold units or receive them, never the whole backlog.

A plan keeps its changes as plain lists (the line, the allotment it gets, its waiting
flag, the line that took its units) and builds a :class:`LineChange` only when one is
read: the planning loop then allots nothing per line, and a writer that takes the
changes 40 at a time never holds them all as objects (a million-line plan spent most of
its time allotting them and in the garbage collector walking them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import overload

from backorders.domain.model import LinePolicy, OrderLine, SkuBalance


class LineChange:
    """One line's state before and after a change. A recompute only decides the new
    allotment (and, in manual mode, the waiting flag); the full ``after`` line is
    built when someone asks for it, which keeps the planning loop cheap."""

    __slots__ = ("_after", "_allotted", "_awaiting_fill", "before", "taker")

    def __init__(
        self,
        before: OrderLine,
        after: OrderLine | None = None,
        *,
        allotted: int | None = None,
        awaiting_fill: bool | None = None,
        taker: OrderLine | None = None,
    ) -> None:
        self.before = before
        self._after = after
        self._allotted = before.allotted if allotted is None else allotted
        self._awaiting_fill = awaiting_fill
        self.taker = taker  # the higher-priority line these units went to, for a release

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
    """Line changes kept as parallel lists (line, allotment after, waiting flag after,
    taker), releases first; each :class:`LineChange` is built when it is read."""

    __slots__ = ("_allotted", "_lines", "_takers", "_waiting")

    def __init__(
        self,
        lines: list[OrderLine],
        allotted: list[int],
        waiting: list[bool | None],
        takers: list[OrderLine | None] | None = None,
    ) -> None:
        self._lines = lines
        self._allotted = allotted
        self._waiting = waiting
        self._takers = takers if takers is not None else [None] * len(lines)

    def __len__(self) -> int:
        return len(self._lines)

    @overload
    def __getitem__(self, index: int) -> LineChange: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[LineChange, ...]: ...
    def __getitem__(self, index: int | slice) -> LineChange | tuple[LineChange, ...]:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(len(self._lines))))
        return LineChange(
            self._lines[index],
            allotted=self._allotted[index],
            awaiting_fill=self._waiting[index],
            taker=self._takers[index],
        )

    def __iter__(self) -> Iterator[LineChange]:
        for line, allotted, waiting, taker in zip(
            self._lines, self._allotted, self._waiting, self._takers, strict=True
        ):
            yield LineChange(line, allotted=allotted, awaiting_fill=waiting, taker=taker)

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


class FreeUnits:
    """Units a recompute may hand out without taking them from a line: on hand minus
    allotted (``None``: unlimited, an untracked product). It also sizes the pages of
    the demand index the planner reads."""

    __slots__ = ("remaining",)

    def __init__(self, remaining: int | None) -> None:
        self.remaining = remaining

    def page_hint(self, maximum: int = 100) -> int:
        """How many more lines are worth reading: each line that gets anything takes at
        least one unit, so ``remaining + 1`` lines settle the free units in the usual case."""
        if self.remaining is None:
            return maximum
        return max(1, min(maximum, self.remaining + 1))


_Key = tuple[str, str, int]


def _key(line: OrderLine) -> _Key:
    return (line.shop, line.order_id, line.line_no)


class _Victim:
    """A holder read from the end of allotment order, and what this plan left it."""

    __slots__ = ("allotted", "awaiting_fill", "line", "taker")

    def __init__(self, line: OrderLine) -> None:
        self.line = line  # as read
        self.allotted = line.allotted
        self.awaiting_fill = line.awaiting_fill
        self.taker: OrderLine | None = None

    @property
    def movable(self) -> int:
        return self.allotted - self.line.locked


class _LowerHolders:
    """Lines holding movable units, from the end of allotment order (lowest priority,
    latest first): the lines a higher-priority line may take units from. Read lazily,
    only when some line may take from them."""

    def __init__(self, source: Callable[[], Iterable[OrderLine]]) -> None:
        self._source = source
        self._iterator: Iterator[OrderLine] | None = None
        self._ahead: deque[_Victim] = deque()  # read and not emptied yet, lowest first
        self.touched: dict[_Key, _Victim] = {}  # every holder this plan took from
        self.read = 0

    def _next(self, index: int) -> _Victim | None:
        """The ``index``-th holder not emptied yet (reading more when needed)."""
        while len(self._ahead) <= index:
            if self._iterator is None:
                self._iterator = iter(self._source())
            line = next(self._iterator, None)
            if line is None:
                return None
            self.read += 1
            if line.allotted - line.locked > 0:
                self._ahead.append(_Victim(line))
        return self._ahead[index]

    def any_below(self, priority: float) -> bool:
        lowest = self._next(0)
        return lowest is not None and lowest.line.priority < priority

    def can_give(self, priority: int, units: int) -> bool:
        """Whether holders below ``priority`` hold at least ``units`` movable units."""
        total, index = 0, 0
        while total < units:
            victim = self._next(index)
            if victim is None or victim.line.priority >= priority:
                return False
            total += victim.movable
            index += 1
        return True

    def take(self, priority: float, units: int, taker: OrderLine | None) -> int:
        """Take ``units`` from holders below ``priority``, lowest first. A whole line
        gives all it holds (it may not keep part), so this may return more than asked."""
        taken = 0
        while taken < units:
            victim = self._next(0)
            if victim is None or victim.line.priority >= priority:
                break
            give = victim.movable if victim.line.policy is LinePolicy.WHOLE else min(victim.movable, units - taken)
            victim.allotted -= give
            victim.taker = victim.taker or taker
            self.touched[_key(victim.line)] = victim
            taken += give
            if victim.movable == 0:
                self._ahead.popleft()
        return taken


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
    holders_from_end: Callable[[], Iterable[OrderLine]],
    *,
    manual_shops: frozenset[str] = frozenset(),
    free: FreeUnits | None = None,
) -> AllotmentPlan:
    """Plan one SKU's recompute.

    ``demand`` yields the SKU's lines with ``cap > 0`` or movable units, in allotment
    order. ``holders_from_end()`` yields the lines holding movable units in reverse
    allotment order. Lines of shops in ``manual_shops`` that are left short start
    waiting for a fill command; while any shop fills by hand the whole demand index is
    read, so none is missed. ``free`` (default: the balance's) is updated as units are
    handed out, so a reader sizing its pages by it reads no more than it needs.
    """
    free = free or FreeUnits(balance.free)
    holders = _LowerHolders(holders_from_end)
    touched = holders.touched
    releases: _Side = ([], [], [])
    takes: _Side = ([], [], [])
    if free.remaining is not None and free.remaining < 0:
        # more allotted than on hand (a product switched back to tracked): the last lines give back
        free.remaining += holders.take(float("inf"), -free.remaining, None)
    read = 0
    for line in demand:
        read += 1
        victim = touched.get(_key(line)) if touched else None
        if victim is not None:  # the plan already took from it: go on from what it holds now
            line = victim.line.with_movable(victim.movable)
        cap = line.cap
        movable = line.allotted - line.locked
        remaining = free.remaining
        target = movable
        if movable < cap:
            want = cap - movable
            if remaining is None:
                target = cap
            elif want <= remaining:
                free.remaining = remaining - want
                target = cap
            elif line.policy is LinePolicy.WHOLE:
                if holders.can_give(line.priority, want - remaining):
                    got = holders.take(line.priority, want - remaining, line)
                    free.remaining = got - (want - remaining)  # a whole victim may give more than needed
                    target = cap
                else:
                    free.remaining = remaining + movable  # all or nothing: a part held goes back
                    target = 0
            else:
                got = holders.take(line.priority, want - remaining, line)
                extra = max(0, got - (want - remaining))
                free.remaining = extra
                target = movable + remaining + got - extra
        elif movable > cap:  # more than the line may hold (not reachable while the line rules hold)
            if remaining is not None:
                free.remaining = remaining + movable - cap
            target = cap
        manual = bool(manual_shops) and line.shop in manual_shops
        if manual:
            after = settle(line, target, manual=True)
            allotted, waiting = after.allotted, after.awaiting_fill
        else:
            allotted, waiting = line.locked + target, line.awaiting_fill
        if victim is not None:
            victim.allotted, victim.awaiting_fill = allotted, waiting
        elif allotted != line.allotted or waiting != line.awaiting_fill:
            side = releases if allotted < line.allotted else takes
            side[0].append(line)
            side[1].append(allotted)
            side[2].append(waiting if waiting != line.awaiting_fill else None)
        if free.remaining == 0 and not manual_shops and not holders.any_below(line.priority):
            break  # nothing free, and no line below this one's rank to take from
    # Lines the plan took units from: releases (with the line that took them), or, when
    # free units came back to them later in the plan, takes.
    takers: list[OrderLine | None] = [None] * len(releases[0])
    for victim in touched.values():
        original = victim.line
        flag = victim.awaiting_fill if victim.awaiting_fill != original.awaiting_fill else None
        if victim.allotted == original.allotted and flag is None:
            continue
        side = releases if victim.allotted < original.allotted else takes
        side[0].append(original)
        side[1].append(victim.allotted)
        side[2].append(flag)
        if side is releases:
            takers.append(victim.taker)
    takers += [None] * len(takes[0])
    # Releases first: a writer that applies them in this order never needs more units
    # than are free at any point.
    changes = Changes(releases[0] + takes[0], releases[1] + takes[1], releases[2] + takes[2], takers)
    return AllotmentPlan(balance.sku, changes, read + holders.read)
