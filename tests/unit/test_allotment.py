"""The allotment rules (PRODUCT.md "Orders and allotment"), without AWS."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backorders.domain.allotment import FreeUnits
from backorders.domain.model import LinePolicy, OrderLine
from tests.support.builders import allot, line, plan, stock

SPLIT, WHOLE = LinePolicy.SPLIT, LinePolicy.WHOLE


def test_split_line_gets_what_is_available_and_backorders_the_rest():
    # aACE: 25 textbooks ordered, 20 in stock, "split by availability": yes
    order = line("A-100", 25, policy=SPLIT)
    after = allot(stock(20), order)["A-100"]
    assert (after.allotted, after.backordered) == (20, 5)


def test_whole_line_waits_until_the_full_quantity_can_be_allotted():
    # aACE: same order, "split by availability": no
    order = line("A-100", 25, policy=WHOLE)
    result = plan(stock(20), [order])
    assert not result.changes
    assert order.backordered == 25


def test_whole_line_gets_everything_once_enough_arrives():
    order = line("A-100", 25, policy=WHOLE)
    after = allot(stock(25), order)["A-100"]
    assert (after.allotted, after.backordered) == (25, 0)


def test_a_whole_line_that_does_not_fit_lets_later_lines_take_the_units():
    big = line("BIG", 25, policy=WHOLE, at=1)
    small = line("SMALL", 3, at=2)
    after = allot(stock(20), big, small)
    assert after["BIG"].allotted == 0
    assert after["SMALL"].allotted == 3


def test_first_come_first_served_when_priorities_are_equal():
    early = line("EARLY", 10, at=1)
    late = line("LATE", 10, at=2)
    after = allot(stock(12), late, early)
    assert (after["EARLY"].allotted, after["LATE"].allotted) == (10, 2)


def test_a_later_order_with_higher_priority_takes_units_from_an_earlier_one():
    # aACE "competing orders": the important customer's later order goes first
    earlier = line("REGULAR", 10, at=1, allotted=10)
    important = line("VIP", 8, at=2, priority=1)
    after = allot(stock(10, allotted=10), earlier, important)
    assert after["VIP"].allotted == 8
    assert (after["REGULAR"].allotted, after["REGULAR"].backordered) == (2, 8)


def test_units_in_a_released_shipment_are_never_taken():
    released = line("RELEASED", 10, at=1, allotted=10, locked=10)
    important = line("VIP", 8, at=2, priority=9)
    after = allot(stock(10, allotted=10, locked=10), released, important)
    assert after["RELEASED"].allotted == 10
    assert after["VIP"].allotted == 0


def test_returned_stock_goes_to_the_oldest_waiting_line():
    oldest = line("OLDEST", 2, at=1)
    newer = line("NEWER", 2, at=2)
    after = allot(stock(1), newer, oldest)
    assert (after["OLDEST"].allotted, after["NEWER"].allotted) == (1, 0)


def test_unknown_skus_are_held_on_backorder_even_with_stock():
    order = line("A-1", 3, sku="TYPO-SKU")
    result = plan(stock(10, sku="TYPO-SKU", known=False), [order])
    assert not result.changes


def test_untracked_products_are_always_fulfilled():
    gift_card = line("A-1", 3, sku="GIFTCARD")
    after = allot(stock(0, sku="GIFTCARD", tracked=False), gift_card)["A-1"]
    assert (after.allotted, after.backordered) == (3, 0)


def test_forced_backorder_units_are_not_allotted():
    order = line("A-1", 10, forced=4)
    after = allot(stock(20), order)["A-1"]
    assert (after.allotted, after.backordered) == (6, 4)


def test_in_manual_mode_a_line_left_short_waits_for_a_fill():
    order = line("A-1", 10, shop="stone")
    after = allot(stock(4), order, manual_shops=frozenset({"stone"}))["A-1"]
    assert (after.allotted, after.awaiting_fill) == (4, True)


def test_in_manual_mode_a_waiting_line_does_not_take_new_stock():
    order = line("A-1", 10, shop="stone", allotted=4, awaiting_fill=True)
    result = plan(stock(20, allotted=4), [order], manual_shops=frozenset({"stone"}))
    assert not result.changes


def test_a_lower_count_takes_units_from_the_last_lines_first():
    first = line("FIRST", 5, at=1, allotted=5)
    second = line("SECOND", 5, at=2, allotted=5)
    after = allot(stock(6, allotted=10), first, second)
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
    assert FreeUnits(5).page_hint() == 6
    assert FreeUnits(0).page_hint() == 1
    assert FreeUnits(None).page_hint(100) == 100


# ------------------------------------------------------------------ stable allotments (decided 2026-12-01)


def test_an_earlier_waiting_line_of_equal_priority_gets_only_free_units():
    # A whole line waits; a later, smaller order took free stock (its pending shipment may be
    # picked already). A receipt arrives: the whole line gets free units only, the later order keeps.
    whole = line("WHOLE", 8, policy=WHOLE, at=1)
    small = line("SMALL", 3, at=2, allotted=3)
    after = allot(stock(3 + 6, allotted=3), whole, small)
    assert (after["WHOLE"].allotted, after["SMALL"].allotted) == (0, 3), "6 free units do not complete 8"
    after = allot(stock(3 + 8, allotted=3), whole, small)
    assert (after["WHOLE"].allotted, after["SMALL"].allotted) == (8, 3)


def test_an_earlier_split_line_of_equal_priority_does_not_take_a_later_lines_units():
    early = line("EARLY", 10, at=1, allotted=2)
    late = line("LATE", 5, at=2, allotted=5)
    after = allot(stock(8, allotted=7), early, late)
    assert (after["EARLY"].allotted, after["LATE"].allotted) == (3, 5), "only the one free unit moves"


def test_allotted_units_never_move_to_a_lower_priority_line():
    vip = line("VIP", 4, priority=2, at=2, allotted=4)
    regular = line("REGULAR", 4, at=1)
    result = plan(stock(4, allotted=4), [vip, regular])
    assert not result.changes


def test_a_higher_priority_line_takes_from_the_lowest_priority_latest_lines_first():
    low_early = line("LOW-EARLY", 3, priority=0, at=1, allotted=3)
    low_late = line("LOW-LATE", 3, priority=0, at=2, allotted=3)
    mid = line("MID", 3, priority=1, at=3, allotted=3)
    vip = line("VIP", 4, priority=5, at=4)
    after = allot(stock(9, allotted=9), low_early, low_late, mid, vip)
    assert after["VIP"].allotted == 4
    assert (after["LOW-LATE"].allotted, after["LOW-EARLY"].allotted, after["MID"].allotted) == (0, 2, 3)


def test_a_line_taking_units_records_who_it_took_them_from():
    regular = line("REGULAR", 5, at=1, allotted=5)
    vip = line("VIP", 2, priority=3, at=2)
    result = plan(stock(5, allotted=5), [regular, vip])
    (release,) = result.releases
    assert release.before.order_id == "REGULAR"
    assert release.taker is not None and release.taker.order_id == "VIP"


def test_free_units_go_first_before_a_lower_priority_line_gives_any():
    regular = line("REGULAR", 5, at=1, allotted=5)
    vip = line("VIP", 4, priority=3, at=2)
    after = allot(stock(5 + 3, allotted=5), regular, vip)
    assert (after["VIP"].allotted, after["REGULAR"].allotted) == (4, 4)


def test_a_whole_line_that_loses_units_gives_back_all_of_them():
    whole_low = line("WHOLE-LOW", 6, policy=WHOLE, at=1, allotted=6)
    vip = line("VIP", 2, priority=3, at=2)
    later = line("LATER", 10, at=3)
    after = allot(stock(6, allotted=6), whole_low, vip, later)
    assert after["VIP"].allotted == 2
    assert after["WHOLE-LOW"].allotted == 0, "a whole line holds all or nothing"
    assert after["LATER"].allotted == 4, "what the VIP did not need is free again"


def test_a_whole_line_takes_from_lower_priorities_only_when_that_completes_it():
    low = line("LOW", 3, at=1, allotted=3)
    whole_vip = line("WHOLE-VIP", 5, priority=2, policy=WHOLE, at=2)
    result = plan(stock(3 + 1, allotted=3), [low, whole_vip])
    assert not result.changes, "1 free + 3 below is not 5"
    after = allot(stock(3 + 2, allotted=3), low, whole_vip)
    assert (after["WHOLE-VIP"].allotted, after["LOW"].allotted) == (5, 0)


def test_units_of_an_equal_priority_are_never_taken_even_for_a_whole_line():
    holder = line("HOLDER", 4, priority=1, at=2, allotted=4)
    whole = line("WHOLE", 6, priority=1, policy=WHOLE, at=1)
    assert not plan(stock(4 + 5, allotted=4), [whole, holder]).changes


def test_with_nothing_free_and_no_lower_priority_holder_one_line_is_read():
    holders = [line(f"H{i}", 1, at=i, allotted=1) for i in range(1, 51)]
    waiting = [line(f"W{i}", 1, at=100 + i) for i in range(1, 1001)]
    result = plan(stock(50, allotted=50), holders + waiting)
    assert not result.changes
    assert result.lines_read <= 2, result.lines_read


@st.composite
def scenarios(draw):
    """A SKU's lines in any state the rules allow: a whole line holds all it may hold or
    nothing; on hand covers what is allotted (or not, when ``short`` is drawn)."""
    n = draw(st.integers(0, 12))
    lines = []
    for i in range(n):
        qty = draw(st.integers(1, 8))
        policy = draw(st.sampled_from([SPLIT, WHOLE]))
        locked = draw(st.integers(0, qty))
        movable = draw(st.sampled_from([0, qty - locked])) if policy is WHOLE else draw(st.integers(0, qty - locked))
        lines.append(
            line(
                f"O{i}",
                qty,
                at=draw(st.integers(0, 50)),
                priority=draw(st.integers(-1, 2)),
                policy=policy,
                allotted=locked + movable,
                locked=locked,
            )
        )
    locked_total = sum(ln.locked for ln in lines)
    allotted = sum(ln.allotted for ln in lines)
    on_hand = allotted + draw(st.integers(0, 30))
    if draw(st.booleans()):  # a lower count took some away: more allotted than on hand
        on_hand = max(locked_total, on_hand - draw(st.integers(0, 40)))
    return stock(on_hand, allotted=allotted, locked=locked_total), lines


def free_after(balance, after: list[OrderLine]) -> int:
    return balance.on_hand - sum(ln.allotted for ln in after)


def assert_no_line_waits_that_could_be_served(balance, after: list[OrderLine]) -> None:
    """The allotment rule's fixed point: no line waits while free units or units of a
    strictly lower-priority line could serve it (a whole line: all of what it waits for)."""
    free = free_after(balance, after)
    assert free >= 0
    for ln in after:
        waiting = ln.cap - ln.movable
        if waiting <= 0:
            continue
        below = sum(other.movable for other in after if other.priority < ln.priority)
        if ln.policy is WHOLE:
            assert ln.movable == 0, ln
            assert free + below < waiting, (ln, free, below)
        else:
            assert free + below == 0, (ln, free, below)


@given(scenarios())
def test_any_recompute_reaches_the_rules_fixed_point_and_never_over_allots(scenario):
    balance, lines = scenario
    after = list(allot(balance, *lines).values())
    assert sum(ln.allotted for ln in after) <= balance.on_hand
    for ln in after:
        ln.check()
        if ln.policy is WHOLE:
            assert ln.movable in (0, ln.need), f"a whole line holds all or nothing: {ln}"
    assert_no_line_waits_that_could_be_served(balance, after)


@given(scenarios())
def test_units_leave_a_line_only_for_a_strictly_higher_priority_or_a_lower_count(scenario):
    balance, lines = scenario
    result = plan(balance, lines)
    for change in result.releases:
        if change.taker is not None:
            assert change.taker.priority > change.before.priority, change
        else:
            assert balance.on_hand < balance.allotted, f"{change} gave units back with enough on hand"
    for change in result.takes:
        assert change.after.movable <= change.after.cap


@given(scenarios())
def test_recomputing_a_settled_sku_changes_nothing(scenario):
    balance, lines = scenario
    after = list(allot(balance, *lines).values())
    settled = stock(balance.on_hand, allotted=sum(ln.allotted for ln in after), locked=balance.locked)
    assert not plan(settled, after).changes
