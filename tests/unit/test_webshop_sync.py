"""What a webshop's snapshot of an order does to the stored order (decision 65): the
shop's current quantities are applied absolutely, so a replay changes nothing; fewer
units cancel (backordered ones first), more are added, a dropped line orders nothing,
a new line is added with the next number, a cancelled order cancels every open unit,
and what has shipped is kept and reported. Pure: no moto."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from backorders.domain.model import Customer, NewLine
from backorders.domain.webshops.common import Platform, ShopLine, ShopOrder
from backorders.domain.webshops.sync import apply, follow
from tests.support.builders import line

KNOWN = {"9001": 1, "9002": 2}


def snapshot(*lines: tuple[str, str, int], cancelled: bool = False) -> ShopOrder:
    return ShopOrder(
        Platform.WOOCOMMERCE, "727", "727", "2026-11-30T18:22:10.000000Z", "2026-11-30T19:00:00.000000Z",
        Customer("guest-727"), tuple(ShopLine(i, sku, q, Decimal("3")) for i, sku, q in lines), cancelled=cancelled,
    )  # fmt: skip


def stored():  # type: ignore[no-untyped-def]
    return [
        line("727", 4, sku="BOOK", line_no=1, allotted=1),  # 1 allotted, 3 backordered
        line("727", 2, sku="PEN", line_no=2, allotted=2),
    ]


def test_the_same_snapshot_again_changes_nothing():
    outcome = apply(snapshot(("9001", "BOOK", 4), ("9002", "PEN", 2)), stored(), KNOWN)
    assert not outcome.changes_anything and not outcome.stuck


def test_fewer_units_cancel_backordered_ones_first():
    outcome = apply(snapshot(("9001", "BOOK", 2), ("9002", "PEN", 2)), stored(), KNOWN)
    ((before, after),) = outcome.changed
    assert (after.line_no, after.cancelled, after.allotted, after.backordered) == (1, 2, 1, 1)
    assert before.backordered == 3


def test_more_units_are_added_to_the_line_and_wait_like_new_demand():
    outcome = apply(snapshot(("9001", "BOOK", 6), ("9002", "PEN", 2)), stored(), KNOWN)
    ((_, after),) = outcome.changed
    assert (after.quantity, after.allotted, after.backordered) == (6, 1, 5)


def test_a_line_the_shop_no_longer_lists_orders_nothing_and_its_units_go_back():
    outcome = apply(snapshot(("9001", "BOOK", 4)), stored(), KNOWN)
    ((_, after),) = outcome.changed
    assert (after.line_no, after.cancelled, after.allotted) == (2, 2, 0)


def test_a_new_line_is_added_with_the_next_number():
    outcome = apply(snapshot(("9001", "BOOK", 4), ("9002", "PEN", 2), ("9003", "INK", 5)), stored(), KNOWN)
    assert outcome.added == (NewLine(3, "INK", 5, Decimal("3")),)
    assert outcome.numbers == {"9001": 1, "9002": 2, "9003": 3}


def test_a_cancelled_snapshot_cancels_every_open_unit_and_adds_nothing():
    outcome = apply(snapshot(("9001", "BOOK", 4), ("9003", "INK", 5), cancelled=True), stored(), KNOWN)
    assert [(after.line_no, after.cancelled) for _, after in outcome.changed] == [(1, 4), (2, 2)]
    assert outcome.added == ()


def test_shipped_units_are_kept_and_reported_not_refused():
    shipped = line("727", 3, sku="BOOK", line_no=1, shipped=2, allotted=1)
    after, kept = follow(shipped, 0)
    assert (after.shipped, after.cancelled, after.allotted, kept) == (2, 1, 0, 2)
    outcome = apply(snapshot(("9002", "PEN", 2)), [shipped, stored()[1]], KNOWN)
    assert outcome.stuck == {1: 2}


def test_a_line_cancelled_before_comes_back_when_the_shop_orders_it_again():
    cancelled = replace(line("727", 4, sku="BOOK", line_no=1), cancelled=4)
    after, kept = follow(cancelled, 3)
    assert (after.quantity, after.cancelled, after.backordered, kept) == (7, 4, 3, 0)
    assert follow(after, 3) == (after, 0)  # and again: no change
