"""Shared builders for tests: order lines, balances and API payloads with vivid defaults."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from backorders.domain.allotment import AllotmentPlan, plan_allotment
from backorders.domain.model import LinePolicy, OrderLine, SkuBalance

_clock = iter(range(1, 1_000_000))


_BASE = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def entered(minute: int) -> str:
    """The entry time ``minute`` minutes after 10:00 on 22 November 2026, as the service writes it."""
    return (_BASE + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line(
    order_id: str,
    quantity: int,
    *,
    sku: str = "TEXTBOOK",
    priority: int = 0,
    at: int | None = None,
    policy: LinePolicy = LinePolicy.SPLIT,
    line_no: int = 1,
    shop: str = "aacme",
    **state: Any,
) -> OrderLine:
    return OrderLine(
        shop=shop,
        order_id=order_id,
        line_no=line_no,
        sku=sku,
        quantity=quantity,
        unit_price=Decimal("12.50"),
        priority=priority,
        entered_at=entered(next(_clock) if at is None else at),
        policy=policy,
        **state,
    )


def stock(on_hand: int, *, sku: str = "TEXTBOOK", **kw: Any) -> SkuBalance:
    allotted = kw.pop("allotted", 0)
    return SkuBalance(sku=sku, on_hand=on_hand, allotted=allotted, known=kw.pop("known", True), **kw)


def in_allotment_order(lines: Iterable[OrderLine]) -> list[OrderLine]:
    return sorted(lines, key=lambda ln: ln.key)


def demand_index(lines: Iterable[OrderLine]) -> list[OrderLine]:
    """What the sparse ``demand`` index holds: lines that may receive or hold units."""
    return [ln for ln in in_allotment_order(lines) if ln.cap > 0 or ln.movable > 0]


def plan(
    balance: SkuBalance, lines: Iterable[OrderLine], *, manual_shops: frozenset[str] = frozenset()
) -> AllotmentPlan:
    lines = list(lines)

    def holders_from_end() -> Iterator[OrderLine]:
        return iter([ln for ln in reversed(in_allotment_order(lines)) if ln.movable > 0])

    return plan_allotment(balance, demand_index(lines), holders_from_end, manual_shops=manual_shops)


def apply(lines: Iterable[OrderLine], result: AllotmentPlan) -> dict[str, OrderLine]:
    by_ref = {(ln.order_id, ln.line_no): ln for ln in lines}
    for change in result.changes:
        by_ref[(change.after.order_id, change.after.line_no)] = change.after
    return {f"{oid}/{n}" if n != 1 else oid: ln for (oid, n), ln in by_ref.items()}


def allot(balance: SkuBalance, *lines: OrderLine, manual_shops: frozenset[str] = frozenset()) -> dict[str, OrderLine]:
    """One recompute of ``balance`` for ``lines`` (handed to the planner in this order),
    applied: every line afterwards, by order id as ``apply`` names them."""
    return apply(lines, plan(balance, lines, manual_shops=manual_shops))
