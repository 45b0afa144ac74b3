"""What a snapshot of an order does to the stored one (decision 65): the shop's current
quantities are the truth, applied absolutely, so a replayed or re-read snapshot changes
nothing and an older one is never applied (``ShopOrder.newer_than``).

- A line the shop still orders ``target`` units of follows it: more units are added to
  the line (they queue like any new demand), fewer are cancelled, backordered units first.
  Units already shipped, or in a released shipment, cannot be taken back: the line keeps
  them and the excess is reported (``Outcome.stuck``) instead of refused.
- A line the shop no longer lists (WooCommerce drops edited-out lines) orders 0 units.
- A line that is new to the service is added with the next line number.
- A cancelled snapshot cancels every open unit; a snapshot of an order that is no order
  yet (WooCommerce's pending payment) creates nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from backorders.domain import orders as rules
from backorders.domain.model import NewLine, OrderLine
from backorders.domain.webshops.common import ShopOrder, line_numbers


@dataclass(frozen=True, slots=True)
class Outcome:
    """The lines a snapshot changes and adds, and what it could not take back."""

    changed: tuple[tuple[OrderLine, OrderLine], ...] = ()  # (before, after)
    added: tuple[NewLine, ...] = ()
    numbers: Mapping[str, int] = field(default_factory=dict)  # platform line id -> line number
    stuck: Mapping[int, int] = field(default_factory=dict)  # line number -> units the shop dropped that had shipped

    @property
    def changes_anything(self) -> bool:
        return bool(self.changed or self.added)


def follow(line: OrderLine, target: int) -> tuple[OrderLine, int]:
    """The line ordering ``target`` units in all (shipped ones included), and the units
    above ``target`` it has to keep (shipped, or in a released shipment)."""
    ordered = line.quantity - line.cancelled
    if target > ordered:
        return rules.change_quantity(line, line.quantity + target - ordered), 0
    if target == ordered:
        return line, 0
    drop = min(ordered - target, rules.open_units(line))
    after = rules.cancel(line, drop) if drop > 0 else line
    return after, ordered - target - drop


def apply(snapshot: ShopOrder, stored: Sequence[OrderLine], known: Mapping[str, int]) -> Outcome:
    """What ``snapshot`` does to an order whose lines are ``stored`` and whose platform
    line ids were numbered ``known``."""
    numbers = line_numbers(known, [line.line_id for line in snapshot.lines])
    targets = {numbers[line.line_id]: (0 if snapshot.cancelled else line.quantity) for line in snapshot.lines}
    by_number = {line.line_no: line for line in stored}
    changed: list[tuple[OrderLine, OrderLine]] = []
    stuck: dict[int, int] = {}
    for line_no, line in sorted(by_number.items()):
        after, kept = follow(line, targets.get(line_no, 0))
        if after != line:
            changed.append((line, after))
        if kept:
            stuck[line_no] = kept
    added = tuple(
        NewLine(numbers[line.line_id], line.sku, line.quantity, line.unit_price)
        for line in snapshot.lines
        if numbers[line.line_id] not in by_number and line.quantity > 0 and not snapshot.cancelled
    )
    return Outcome(tuple(changed), added, numbers, stuck)
