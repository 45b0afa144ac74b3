"""The rules for order intake and for edits of an order line (``domain/orders.py``;
PRODUCT.md "Orders and allotment", docs/decisions.md 13, 17 and 20), without AWS.

An edit never allots: it only cancels, holds back or gives units back, and the next
recompute hands out what was freed. Refusals are domain errors that name the field."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backorders.domain import orders as rules
from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict, DomainError, InvalidInput, TooLarge
from backorders.domain.model import (
    PRIORITY_MAX,
    PRIORITY_MIN,
    Customer,
    LinePolicy,
    NewLine,
    Order,
    OrderLine,
    ShopSettings,
)
from backorders.domain.record_log import filled_units
from tests.support.builders import entered, line

SPLIT, WHOLE = LinePolicy.SPLIT, LinePolicy.WHOLE


def order(
    *skus_and_quantities: tuple[str, int],
    priority: int = 0,
    policy: LinePolicy | None = None,
    lines: tuple[NewLine, ...] | None = None,
) -> Order:
    """Order A-100 of the aacme shop, entered at 10:05 by ALICE: one line per (sku, quantity) at 12.50."""
    if lines is None:
        lines = tuple(NewLine(n, sku, q, Decimal("12.50")) for n, (sku, q) in enumerate(skus_and_quantities, 1))
    return Order("aacme", "A-100", entered(5), Customer("ALICE"), priority=priority, policy=policy, lines=lines)


def refusal(error: type[DomainError], edit: Callable[[], object]) -> DomainError:
    with pytest.raises(error) as refused:
        edit()
    return refused.value


def units(ln: OrderLine) -> tuple[int, int, int, int]:
    """Where the ordered units are: (shipped, allotted, backordered, cancelled)."""
    return ln.shipped, ln.allotted, ln.backordered, ln.cancelled


# -- fingerprint: a replay is told from a changed order ---------------------------------


def test_a_replayed_payload_has_the_same_fingerprint_whatever_its_key_order():
    sent = {"order_id": "A-100", "lines": [{"sku": "TEXTBOOK", "quantity": 2}], "customer": {"id": "ALICE"}}
    replayed = {"customer": {"id": "ALICE"}, "lines": [{"quantity": 2, "sku": "TEXTBOOK"}], "order_id": "A-100"}
    assert rules.fingerprint(sent) == rules.fingerprint(replayed)


def test_any_changed_value_changes_the_fingerprint():
    sent = {"order_id": "A-100", "lines": [{"sku": "TEXTBOOK", "quantity": 2}]}
    changed = {"order_id": "A-100", "lines": [{"sku": "TEXTBOOK", "quantity": 3}]}
    assert rules.fingerprint(sent) != rules.fingerprint(changed)


def test_a_fingerprint_is_the_digest_of_canonical_json_so_stored_ones_stay_comparable_across_releases():
    # fingerprints are stored with orders and commands: the digest of a payload must not change
    canonical = b'{"lines":[{"quantity":2,"sku":"TEXTBOOK"}],"order_id":"A-100"}'
    payload = {"order_id": "A-100", "lines": [{"sku": "TEXTBOOK", "quantity": 2}]}
    assert rules.fingerprint(payload) == hashlib.sha256(canonical).hexdigest()


def test_values_json_does_not_know_are_fingerprinted_as_their_text():
    assert rules.fingerprint({"unit_price": Decimal("12.50")}) == rules.fingerprint({"unit_price": "12.50"})


# -- validate_order: what an order must be ----------------------------------------------


def test_an_order_of_a_textbook_and_a_pen_is_valid():
    rules.validate_order(order(("TEXTBOOK", 2), ("PEN", 1)))


def test_an_order_without_lines_is_refused():
    error = refusal(InvalidInput, lambda: rules.validate_order(order()))
    assert error.field == "lines"


def test_an_order_may_carry_forty_lines_and_no_more():
    # one order is one transaction of at most 100 items (docs/decisions.md)
    assert rules.MAX_LINES == 40
    rules.validate_order(order(*[(f"SKU-{n}", 1) for n in range(40)]))
    error = refusal(TooLarge, lambda: rules.validate_order(order(*[(f"SKU-{n}", 1) for n in range(41)])))
    assert error.field == "lines"


@pytest.mark.parametrize("priority", [PRIORITY_MIN, -1, 0, 1, PRIORITY_MAX])
def test_an_order_priority_within_its_limits_is_accepted(priority: int):
    rules.validate_order(order(("TEXTBOOK", 1), priority=priority))


@pytest.mark.parametrize("priority", [PRIORITY_MIN - 1, PRIORITY_MAX + 1])
def test_an_order_priority_beyond_its_limits_is_refused(priority: int):
    error = refusal(InvalidInput, lambda: rules.validate_order(order(("TEXTBOOK", 1), priority=priority)))
    assert error.field == "priority"


def test_a_line_number_given_twice_is_refused_at_its_second_line():
    twice = order(lines=(NewLine(1, "TEXTBOOK", 1, Decimal(1)), NewLine(1, "PEN", 1, Decimal(1))))
    error = refusal(InvalidInput, lambda: rules.validate_order(twice))
    assert error.field == "lines[1].line"


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_line_of_no_units_is_refused_and_named_by_its_place(quantity: int):
    error = refusal(InvalidInput, lambda: rules.validate_order(order(("TEXTBOOK", 2), ("PEN", quantity))))
    assert error.field == "lines[1].quantity"


def test_a_negative_unit_price_is_refused():
    bad = order(lines=(NewLine(1, "TEXTBOOK", 1, Decimal("-0.01")),))
    error = refusal(InvalidInput, lambda: rules.validate_order(bad))
    assert error.field == "lines[0].unit_price"


def test_a_free_line_is_valid():
    rules.validate_order(order(lines=(NewLine(1, "GIFT-WRAP", 1, Decimal(0)),)))


@pytest.mark.parametrize("sku", ["", "   "])
def test_a_line_without_a_sku_is_refused(sku: str):
    error = refusal(InvalidInput, lambda: rules.validate_order(order(("TEXTBOOK", 1), (sku, 1))))
    assert error.field == "lines[1].sku"


# -- resolve_policy: the order's own, else the customer's, else the shop's ---------------


def test_the_orders_own_line_policy_wins_over_the_customers_and_the_shops():
    shop = ShopSettings("aacme", line_policy=SPLIT)
    assert rules.resolve_policy(order(("TEXTBOOK", 25), policy=WHOLE), SPLIT, shop) is WHOLE
    assert rules.resolve_policy(order(("TEXTBOOK", 25), policy=SPLIT), WHOLE, replace(shop, line_policy=WHOLE)) is SPLIT


def test_without_a_policy_of_its_own_an_order_takes_its_customers():
    assert rules.resolve_policy(order(("TEXTBOOK", 25)), WHOLE, ShopSettings("aacme", line_policy=SPLIT)) is WHOLE


def test_without_an_order_or_customer_policy_the_shops_applies():
    assert rules.resolve_policy(order(("TEXTBOOK", 25)), None, ShopSettings("aacme", line_policy=WHOLE)) is WHOLE


def test_a_shop_that_sets_nothing_splits_lines():
    assert rules.resolve_policy(order(("TEXTBOOK", 25)), None, ShopSettings("aacme")) is SPLIT


# -- lines_of: the lines of a new order ---------------------------------------------------


def test_every_new_line_starts_wholly_on_backorder_with_the_orders_rank_and_policy():
    new = order(("TEXTBOOK", 25), ("PEN", 3), priority=2)
    made = rules.lines_of(new, WHOLE)
    assert [(ln.line_no, ln.sku, ln.quantity, ln.unit_price) for ln in made] == [
        (1, "TEXTBOOK", 25, Decimal("12.50")),
        (2, "PEN", 3, Decimal("12.50")),
    ]
    for ln in made:
        assert (ln.shop, ln.order_id, ln.customer_id) == ("aacme", "A-100", "ALICE")
        assert (ln.priority, ln.entered_at, ln.policy) == (2, entered(5), WHOLE)
        assert units(ln) == (0, 0, ln.quantity, 0)
        assert (ln.locked, ln.forced, ln.awaiting_fill) == (0, 0, False)
        ln.check()


# -- open_units: what may still be cancelled ---------------------------------------------


def test_open_units_are_those_not_shipped_cancelled_or_in_a_released_shipment():
    # 10 ordered: 2 shipped, 1 cancelled, 5 allotted of which 3 are in a released shipment
    assert rules.open_units(line("A-100", 10, shipped=2, cancelled=1, allotted=5, locked=3)) == 4


def test_allotted_and_forced_units_are_still_open():
    assert rules.open_units(line("A-100", 10, allotted=6, forced=4)) == 10


def test_a_shipped_and_cancelled_line_has_no_open_units():
    assert rules.open_units(line("A-100", 10, shipped=7, cancelled=3)) == 0


# -- whole_or_nothing: a whole line holds all it may hold or nothing ----------------------


@pytest.mark.parametrize("held", [1, 6, 9])
def test_a_whole_line_holding_part_of_what_it_needs_gives_it_back(held: int):
    after = rules.whole_or_nothing(line("A-100", 10, policy=WHOLE, allotted=held))
    assert units(after) == (0, 0, 10, 0)


def test_a_whole_line_gives_back_only_movable_units_never_a_released_shipment():
    after = rules.whole_or_nothing(line("A-100", 10, policy=WHOLE, allotted=6, locked=2))
    assert (after.allotted, after.locked, after.backordered) == (2, 2, 8)


@pytest.mark.parametrize(
    "held",
    [
        line("A-100", 10, policy=WHOLE, allotted=10),
        line("A-100", 10, policy=WHOLE),
        line("A-100", 10, policy=SPLIT, allotted=6),
    ],
    ids=["whole-line-holding-all", "whole-line-holding-nothing", "split-line-holding-part"],
)
def test_a_line_holding_all_or_nothing_or_a_split_line_keeps_what_it_holds(held: OrderLine):
    assert rules.whole_or_nothing(held) == held


# -- cancel -------------------------------------------------------------------------------


def test_a_cancel_without_units_cancels_every_open_unit_and_frees_their_allotment():
    shipping = line("A-100", 10, shipped=2, allotted=5, locked=3)
    after = rules.cancel(shipping)
    assert units(after) == (2, 3, 0, 5)
    assert (after.locked, rules.open_units(after)) == (3, 0)


def test_cancelled_units_come_off_the_backorder_before_the_allotment():
    waiting = line("A-100", 10, allotted=6)  # 4 on backorder
    assert units(rules.cancel(waiting, 3)) == (0, 6, 1, 3)
    assert units(rules.cancel(waiting, 6)) == (0, 4, 0, 6)


def test_units_in_a_released_shipment_cannot_be_cancelled():
    released = line("A-100", 10, allotted=10, locked=10)
    error = refusal(Conflict, lambda: rules.cancel(released, 1))
    assert error.field == "units"


def test_cancelling_more_units_than_are_open_is_refused():
    shipping = line("A-100", 10, shipped=4, cancelled=1, allotted=3, locked=1)  # 4 open
    rules.cancel(shipping, 4).check()
    error = refusal(Conflict, lambda: rules.cancel(shipping, 5))
    assert error.field == "units"
    assert "only 4 unit(s)" in error.message


@pytest.mark.parametrize("count", [0, -1])
def test_cancelling_no_units_is_refused(count: int):
    error = refusal(InvalidInput, lambda: rules.cancel(line("A-100", 10), count))
    assert error.field == "units"


def test_cancelled_units_come_out_of_the_forced_hold_first():
    held = line("A-100", 10, forced=3)  # all 10 on backorder, 3 of them held by hand
    after = rules.cancel(held, 2)
    assert (after.cancelled, after.backordered, after.forced) == (2, 8, 1)


def test_cancelling_past_the_backorder_clears_the_forced_hold_and_frees_allotment():
    held = line("A-100", 10, allotted=6, forced=4)
    after = rules.cancel(held, 5)
    assert units(after) == (0, 5, 0, 5)
    assert after.forced == 0


def test_a_whole_line_that_cancels_some_units_keeps_the_rest_allotted():
    after = rules.cancel(line("A-100", 10, policy=WHOLE, allotted=10), 3)
    assert units(after) == (0, 7, 0, 3)


# -- change_quantity ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "floor"),
    [
        ({"shipped": 4, "allotted": 2}, 4),
        ({"cancelled": 3}, 3),
        ({"allotted": 5, "locked": 5}, 5),
        ({"shipped": 2, "cancelled": 1, "allotted": 4, "locked": 3}, 6),
    ],
    ids=["shipped", "cancelled", "released-shipment", "all-three"],
)
def test_a_quantity_below_what_has_shipped_is_refused(state: dict[str, int], floor: int):
    before = line("A-100", 10, **state)
    error = refusal(Conflict, lambda: rules.change_quantity(before, floor - 1))
    assert error.field == "quantity"
    assert f"below {floor} units" in error.message
    rules.change_quantity(before, floor).check()


def test_a_quantity_down_to_what_is_shipped_and_cancelled_closes_the_line():
    after = rules.change_quantity(line("A-100", 10, shipped=4, cancelled=2, allotted=3), 6)
    assert units(after) == (4, 0, 0, 2)
    assert not after.is_open


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_quantity_of_no_units_is_refused_cancel_the_line_instead(quantity: int):
    error = refusal(InvalidInput, lambda: rules.change_quantity(line("A-100", 10), quantity))
    assert error.field == "quantity"


def test_a_smaller_quantity_comes_off_the_backorder_first():
    assert units(rules.change_quantity(line("A-100", 10, allotted=4), 7)) == (0, 4, 3, 0)


def test_a_quantity_below_what_is_allotted_gives_the_surplus_back():
    assert units(rules.change_quantity(line("A-100", 10, allotted=8), 5)) == (0, 5, 0, 0)


def test_a_smaller_quantity_never_takes_units_from_a_released_shipment():
    after = rules.change_quantity(line("A-100", 10, allotted=8, locked=4), 5)
    assert (after.allotted, after.locked, after.backordered) == (5, 4, 0)


def test_a_larger_quantity_on_a_split_line_backorders_the_extra():
    assert units(rules.change_quantity(line("A-100", 5, allotted=5), 8)) == (0, 5, 3, 0)


def test_a_larger_quantity_on_a_whole_line_gives_its_units_back_until_all_can_be_allotted():
    assert units(rules.change_quantity(line("A-100", 5, policy=WHOLE, allotted=5), 8)) == (0, 0, 8, 0)


def test_a_smaller_quantity_on_a_whole_line_keeps_it_wholly_allotted():
    assert units(rules.change_quantity(line("A-100", 10, policy=WHOLE, allotted=10), 6)) == (0, 6, 0, 0)


def test_a_cancelled_line_reopens_when_its_quantity_grows():
    after = rules.change_quantity(line("A-100", 5, cancelled=5), 8)
    assert units(after) == (0, 0, 3, 5)
    assert after.is_open


def test_a_forced_hold_shrinks_with_the_backorder():
    after = rules.change_quantity(line("A-100", 10, allotted=4, forced=6), 7)
    assert (after.backordered, after.forced) == (3, 3)


def test_setting_the_same_quantity_again_changes_nothing():
    # an absolute command: a replay is harmless (docs/decisions.md 17)
    once = rules.change_quantity(line("A-100", 10, allotted=8), 5)
    assert rules.change_quantity(once, 5) == once


# -- force_backorder (Stone Edge "Force Backorders") --------------------------------------


def test_forcing_units_onto_backorder_gives_their_allotment_back():
    after = rules.force_backorder(line("A-100", 10, allotted=10), 4)
    assert units(after) == (0, 6, 4, 0)
    assert after.forced == 4


def test_forcing_units_already_on_backorder_keeps_the_allotment():
    after = rules.force_backorder(line("A-100", 10, allotted=6), 4)
    assert units(after) == (0, 6, 4, 0)
    assert after.forced == 4


def test_a_forced_backorder_is_set_not_added_and_zero_lifts_it():
    held = rules.force_backorder(line("A-100", 10, allotted=10), 4)
    assert rules.force_backorder(held, 4) == held
    assert rules.force_backorder(held, 2).forced == 2
    assert rules.force_backorder(held, 0).forced == 0


def test_only_units_not_shipped_cancelled_or_released_can_be_forced():
    shipping = line("A-100", 10, shipped=2, cancelled=1, allotted=5, locked=3)  # 4 can be forced
    after = rules.force_backorder(shipping, 4)
    assert (after.allotted, after.locked, after.backordered, after.forced) == (3, 3, 4, 4)
    error = refusal(Conflict, lambda: rules.force_backorder(shipping, 5))
    assert error.field == "units"
    assert "only 4 unit(s)" in error.message


def test_forcing_negative_units_is_refused():
    error = refusal(InvalidInput, lambda: rules.force_backorder(line("A-100", 10), -1))
    assert error.field == "units"


# -- reprioritize -------------------------------------------------------------------------


def test_a_new_priority_moves_the_line_in_allotment_order_and_changes_nothing_else():
    before = line("A-100", 10, allotted=6, locked=2, forced=1)
    after = rules.reprioritize(before, 5)
    assert after.priority == 5
    assert after.key < before.key  # higher priority sorts first
    assert replace(after, priority=before.priority) == before


def test_a_closed_line_takes_the_new_priority_too():
    # a quantity increase can reopen it, and it must then queue at the order's priority
    assert rules.reprioritize(line("A-100", 5, cancelled=5), 3).priority == 3


@pytest.mark.parametrize("priority", [PRIORITY_MIN, PRIORITY_MAX])
def test_a_priority_at_its_limits_is_accepted(priority: int):
    assert rules.reprioritize(line("A-100", 1), priority).priority == priority


@pytest.mark.parametrize("priority", [PRIORITY_MIN - 1, PRIORITY_MAX + 1])
def test_a_priority_beyond_its_limits_is_refused(priority: int):
    error = refusal(InvalidInput, lambda: rules.reprioritize(line("A-100", 1), priority))
    assert error.field == "priority"


# -- request_fill (Stone Edge "Fill Backorders") ------------------------------------------


def test_a_fill_request_makes_a_waiting_line_and_its_forced_units_eligible_again():
    waiting = line("A-100", 10, allotted=4, forced=3, awaiting_fill=True)
    after = rules.request_fill(waiting)
    assert (after.awaiting_fill, after.forced) == (False, 0)
    assert units(after) == units(waiting)  # it allots nothing itself: the fill hands out free units


# -- properties over any line and any edits -----------------------------------------------

Edit = Callable[[OrderLine], OrderLine]


PARTS = ("shipped", "cancelled", "allotted", "backordered")


@st.composite
def lines_in_any_state(draw: st.DrawFn) -> OrderLine:
    """A line that holds the invariant: each part drawn on its own, so every mix turns up."""
    shipped, cancelled, allotted, backordered = (draw(st.integers(0, 3), label=part) for part in PARTS)
    quantity = max(1, shipped + cancelled + allotted + backordered)
    backordered = quantity - shipped - cancelled - allotted
    return line(
        "A-100",
        quantity,
        at=1,
        policy=draw(st.sampled_from(LinePolicy)),
        shipped=shipped,
        cancelled=cancelled,
        allotted=allotted,
        locked=draw(st.integers(0, allotted), label="locked"),
        forced=draw(st.integers(0, backordered), label="forced"),
        awaiting_fill=draw(st.booleans(), label="awaiting fill"),
    )


UNIT_EDITS = ("cancel", "cancel all", "change quantity", "force backorder")
EDITS = (*UNIT_EDITS, "reprioritize", "request fill")
PRIORITIES = (PRIORITY_MIN - 1, PRIORITY_MIN, -3, 0, 3, PRIORITY_MAX, PRIORITY_MAX + 1)


def an_edit(data: st.DataObject, ln: OrderLine) -> tuple[str, Edit]:
    """One edit of ``ln`` and its kind, sized up to what the line allows and one unit past it."""
    kind = data.draw(st.sampled_from(EDITS), label="edit")
    room = rules.open_units(ln) + 1
    edit: Edit = rules.request_fill
    if kind == "cancel":
        edit = partial(rules.cancel, units=data.draw(st.integers(1, room), label="units"))
    elif kind == "cancel all":
        edit = rules.cancel
    elif kind == "change quantity":
        edit = partial(rules.change_quantity, quantity=data.draw(st.integers(0, ln.quantity + 3), label="quantity"))
    elif kind == "force backorder":
        edit = partial(rules.force_backorder, units=data.draw(st.integers(0, room), label="units"))
    elif kind == "reprioritize":
        edit = partial(rules.reprioritize, priority=data.draw(st.sampled_from(PRIORITIES), label="priority"))
    return kind, edit


def attempt(edit: Edit, ln: OrderLine) -> OrderLine | DomainError:
    """The edited line, or the refusal (only ``InvalidInput`` and ``Conflict`` are refusals)."""
    try:
        return edit(ln)
    except (InvalidInput, Conflict) as refused:
        return refused


@settings(max_examples=100)
@given(start=lines_in_any_state(), data=st.data())
def test_after_any_edits_every_ordered_unit_is_exactly_one_of_shipped_allotted_backordered_or_cancelled(
    start: OrderLine, data: st.DataObject
):
    ln = start
    for _ in range(data.draw(st.integers(1, 6), label="edits")):
        _, edit = an_edit(data, ln)
        after = attempt(edit, ln)
        if isinstance(after, DomainError):
            assert after.field in ("units", "quantity", "priority")
            continue
        after.check()
        assert after.shipped + after.allotted + after.backordered + after.cancelled == after.quantity
        # an edit never ships, never touches a released shipment, never allots, never un-cancels
        assert (after.shipped, after.locked) == (ln.shipped, ln.locked)
        assert after.allotted <= ln.allotted
        assert after.cancelled >= ln.cancelled
        ln = after


@settings(max_examples=100)
@given(start=lines_in_any_state(), data=st.data())
def test_after_any_edit_of_its_units_a_whole_line_holds_all_it_may_hold_or_nothing(
    start: OrderLine, data: st.DataObject
):
    ln = replace(start, policy=WHOLE)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind, edit = an_edit(data, ln)
        after = attempt(edit, ln)
        if isinstance(after, DomainError):
            continue
        if kind in UNIT_EDITS:  # a fill request may leave it short: the fill or the recompute settles that
            assert after.movable in (0, after.need)
        ln = after


# ------------------------------------------------------------------ what counts as a filled backorder


def test_units_given_to_a_line_that_waited_fill_a_backorder_and_a_new_lines_first_pass_does_not():
    waited = line("812", 3, at=0)  # entered 10:00
    change = LineChange(waited, waited.with_movable(2))
    assert filled_units(change, "2026-11-22T10:05:00.000000Z") == 2
    assert filled_units(change, "2026-11-22T10:00:30.000000Z") == 0  # its first pass, within the minute
    assert filled_units(LineChange(change.after, waited), "2026-11-22T10:05:00.000000Z") == 0  # a release
