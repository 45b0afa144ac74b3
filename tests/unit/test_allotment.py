"""The allotment rules (PRODUCT.md "Orders and allotment"), without AWS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backorders.domain.allotment import GreedyAllotter
from backorders.domain.model import LinePolicy
from tests.support.builders import apply, line, plan, stock

SPLIT, WHOLE = LinePolicy.SPLIT, LinePolicy.WHOLE


def test_split_line_gets_what_is_available_and_backorders_the_rest():
    # aACE: 25 textbooks ordered, 20 in stock, "split by availability": yes
    order = line("A-100", 25, policy=SPLIT)
    after = apply([order], plan(stock(20), [order]))["A-100"]
    assert (after.allotted, after.backordered) == (20, 5)


def test_whole_line_waits_until_the_full_quantity_can_be_allotted():
    # aACE: same order, "split by availability": no
    order = line("A-100", 25, policy=WHOLE)
    result = plan(stock(20), [order])
    assert not result.changes
    assert order.backordered == 25


def test_whole_line_gets_everything_once_enough_arrives():
    order = line("A-100", 25, policy=WHOLE)
    after = apply([order], plan(stock(25), [order]))["A-100"]
    assert (after.allotted, after.backordered) == (25, 0)


def test_a_whole_line_that_does_not_fit_lets_later_lines_take_the_units():
    big = line("BIG", 25, policy=WHOLE, at=1)
    small = line("SMALL", 3, at=2)
    after = apply([big, small], plan(stock(20), [big, small]))
    assert after["BIG"].allotted == 0
    assert after["SMALL"].allotted == 3


def test_first_come_first_served_when_priorities_are_equal():
    early = line("EARLY", 10, at=1)
    late = line("LATE", 10, at=2)
    after = apply([early, late], plan(stock(12), [late, early]))
    assert (after["EARLY"].allotted, after["LATE"].allotted) == (10, 2)


def test_a_later_order_with_higher_priority_takes_units_from_an_earlier_one():
    # aACE "competing orders": the important customer's later order goes first
    earlier = line("REGULAR", 10, at=1, allotted=10)
    important = line("VIP", 8, at=2, priority=1)
    after = apply([earlier, important], plan(stock(10, allotted=10), [earlier, important]))
    assert after["VIP"].allotted == 8
    assert (after["REGULAR"].allotted, after["REGULAR"].backordered) == (2, 8)


def test_units_in_a_released_shipment_are_never_taken():
    released = line("RELEASED", 10, at=1, allotted=10, locked=10)
    important = line("VIP", 8, at=2, priority=9)
    after = apply([released, important], plan(stock(10, allotted=10, locked=10), [released, important]))
    assert after["RELEASED"].allotted == 10
    assert after["VIP"].allotted == 0


def test_returned_stock_goes_to_the_oldest_waiting_line():
    oldest = line("OLDEST", 2, at=1)
    newer = line("NEWER", 2, at=2)
    after = apply([oldest, newer], plan(stock(1), [newer, oldest]))
    assert (after["OLDEST"].allotted, after["NEWER"].allotted) == (1, 0)


def test_unknown_skus_are_held_on_backorder_even_with_stock():
    order = line("A-1", 3, sku="TYPO-SKU")
    result = plan(stock(10, sku="TYPO-SKU", known=False), [order])
    assert not result.changes


def test_untracked_products_are_always_fulfilled():
    gift_card = line("A-1", 3, sku="GIFTCARD")
    after = apply([gift_card], plan(stock(0, sku="GIFTCARD", tracked=False), [gift_card]))["A-1"]
    assert (after.allotted, after.backordered) == (3, 0)


def test_forced_backorder_units_are_not_allotted():
    order = line("A-1", 10, forced=4)
    after = apply([order], plan(stock(20), [order]))["A-1"]
    assert (after.allotted, after.backordered) == (6, 4)


def test_in_manual_mode_a_line_left_short_waits_for_a_fill():
    order = line("A-1", 10, shop="stone")
    after = apply([order], plan(stock(4), [order], manual_shops=frozenset({"stone"})))["A-1"]
    assert (after.allotted, after.awaiting_fill) == (4, True)


def test_in_manual_mode_a_waiting_line_does_not_take_new_stock():
    order = line("A-1", 10, shop="stone", allotted=4, awaiting_fill=True)
    result = plan(stock(20, allotted=4), [order], manual_shops=frozenset({"stone"}))
    assert not result.changes


def test_a_lower_count_takes_units_from_the_last_lines_first():
    first = line("FIRST", 5, at=1, allotted=5)
    second = line("SECOND", 5, at=2, allotted=5)
    after = apply([first, second], plan(stock(6, allotted=10), [first, second]))
    assert (after["FIRST"].allotted, after["SECOND"].allotted) == (5, 1)


def test_releases_come_before_takes():
    low = line("LOW", 5, at=1, allotted=5)
    high = line("HIGH", 5, at=2, priority=3)
    result = plan(stock(5, allotted=5), [low, high])
    assert [c.delta for c in result.changes] == [-5, 5]


def test_a_plan_reads_the_same_changes_whole_or_in_slices():
    low = [line(f"LOW{i}", 2, at=i, allotted=2) for i in range(1, 4)]
    high = [line(f"HIGH{i}", 2, at=10 + i, priority=5) for i in range(1, 4)]
    changes = plan(stock(6, allotted=6), low + high).changes
    whole = [(c.before.order_id, c.delta) for c in changes]
    sliced = [(c.before.order_id, c.delta) for first in (0, 2, 4) for c in changes[first : first + 2]]
    assert whole == sliced == [(c.before.order_id, c.delta) for c in (changes[i] for i in range(len(changes)))]
    assert [d for _, d in whole] == [-2, -2, -2, 2, 2, 2]


def test_reads_stop_once_the_pool_is_spent():
    waiting = [line(f"W{i}", 1, at=i) for i in range(1, 1001)]
    result = plan(stock(3), waiting)
    assert len(result.changes) == 3
    assert result.lines_read <= 4


def test_page_hint_asks_for_one_more_line_than_units_left():
    allotter = GreedyAllotter(5)
    assert allotter.page_hint() == 6
    assert GreedyAllotter(None).page_hint(100) == 100


@st.composite
def scenarios(draw):
    n = draw(st.integers(0, 12))
    lines = []
    for i in range(n):
        qty = draw(st.integers(1, 8))
        allotted = draw(st.integers(0, qty))
        locked = draw(st.integers(0, allotted))
        lines.append(
            line(
                f"O{i}",
                qty,
                at=draw(st.integers(0, 50)),
                priority=draw(st.integers(-1, 2)),
                policy=draw(st.sampled_from([SPLIT, WHOLE])),
                allotted=allotted,
                locked=locked,
            )
        )
    locked_total = sum(ln.locked for ln in lines)
    on_hand = locked_total + draw(st.integers(0, 30))
    return stock(on_hand, allotted=sum(ln.allotted for ln in lines), locked=locked_total), lines


@given(scenarios())
def test_any_recompute_yields_the_greedy_allotment_and_never_over_allots(scenario):
    balance, lines = scenario
    after = list(apply(lines, plan(balance, lines)).values())
    assert sum(ln.allotted for ln in after) <= balance.on_hand
    for ln in after:
        ln.check()
    # greedy in allotment order: no line waits while a later one holds units it could take
    remaining = balance.on_hand - balance.locked
    for ln in sorted(after, key=lambda x: x.key):
        expected = min(ln.need, remaining)
        if ln.policy is WHOLE and expected < ln.need:
            expected = 0
        assert ln.movable == expected, ln
        remaining -= expected


@given(scenarios())
def test_recomputing_a_settled_sku_changes_nothing(scenario):
    balance, lines = scenario
    after = list(apply(lines, plan(balance, lines)).values())
    settled = stock(balance.on_hand, allotted=sum(ln.allotted for ln in after), locked=balance.locked)
    assert not plan(settled, after).changes
