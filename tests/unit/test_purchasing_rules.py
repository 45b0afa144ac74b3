"""Optiply's backorder rules, as a table: what a supplier's backorder PO and regular
(min/max) order hold, and whether each threshold mode lets it through. Pure: no moto."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from backorders.domain.errors import Conflict, InvalidInput
from backorders.domain.model import OrderLine, Product, SkuBalance
from backorders.domain.purchasing import (
    Arrival,
    PoKind,
    Position,
    PoStatus,
    StockoutAction,
    Terms,
    ThresholdMode,
    at_risk,
    backorder_proposal,
    cancel,
    dating_key,
    emergency_proposal,
    expected_dates,
    incoming_change,
    move,
    needs_attention,
    place,
    preponed_review,
    purchased_change,
    receive,
    recommend,
    regular_proposal,
    revise,
    rounded_up,
    safety_stock,
)
from tests.support.builders import line

AT = "2026-12-02T08:00:00.000000Z"
TERMS = Terms("acme", backorders_enabled=True)


def position(sku="BOOK", *, on_hand=0, backordered=0, incoming=0, **product) -> Position:  # type: ignore[no-untyped-def]
    settings = {"supplier_id": "acme", "purchase_price": Decimal("10"), "min_stock": 4} | product
    balance = SkuBalance(sku, on_hand=on_hand, backordered=backordered, incoming=incoming, known=True)
    return Position(Product(sku, **settings), balance)


def ordered(proposal) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    return [(line.sku, line.quantity) for line in proposal.lines] if proposal else []


@pytest.mark.parametrize(
    ("case", "pos", "expected"),
    [
        ("not phased out: up to minimum stock", position(backordered=3), 7),
        ("phased out: exactly to zero", position(backordered=3, phased_out=True), 3),
        ("incoming counts: a placed PO prevents a second order", position(backordered=3, incoming=7), 0),
        ("incoming short of the target: only the rest", position(backordered=3, incoming=5), 2),
        ("the order multiple rounds up", position(backordered=3, order_multiple=5), 10),
        ("no minimum: to zero", position(backordered=3, min_stock=None), 3),
        ("stock position not negative: no backorder PO", position(on_hand=1), 0),
    ],
)
def test_backorder_quantities(case, pos, expected):
    assert ordered(backorder_proposal(TERMS, [pos])) == ([("BOOK", expected)] if expected else []), case


def test_backorders_off_means_no_backorder_po():
    assert backorder_proposal(replace(TERMS, backorders_enabled=False), [position(backordered=3)]) is None


def test_products_of_other_suppliers_untracked_or_without_price_are_left_out():
    others = [
        position("THEIRS", backordered=3, supplier_id="other"),
        position("SERVICE", backordered=3, tracked=False),
        position("NOPRICE", backordered=3, purchase_price=None),
    ]
    assert backorder_proposal(TERMS, others) is None


# 7 units at 10.00 = 70.00 against bounds of fixed cost 30 and MOV 40 (sum 70)
@pytest.mark.parametrize(
    ("mode", "fixed", "mov", "passes", "recorded"),
    [
        (ThresholdMode.NONE, "0", "0", True, "none"),
        (ThresholdMode.FIXED_COST, "69.99", "0", True, "fixed_cost 69.99"),
        (ThresholdMode.FIXED_COST, "70", "0", False, None),
        (ThresholdMode.MOV, "0", "69.99", True, "mov 69.99"),
        (ThresholdMode.MOV, "0", "70", False, None),
        (ThresholdMode.BOTH, "30", "39.99", True, "both 69.99"),
        (ThresholdMode.BOTH, "30", "40", False, None),
    ],
)
def test_each_threshold_mode_just_below_and_just_above_its_bound(mode, fixed, mov, passes, recorded):
    terms = replace(TERMS, threshold_mode=mode, fixed_order_cost=Decimal(fixed), minimum_order_value=Decimal(mov))
    proposal = backorder_proposal(terms, [position(backordered=3)])
    assert (proposal is not None) is passes
    assert (proposal.threshold if proposal else None) == recorded


def test_all_short_products_of_a_supplier_form_one_po_most_urgent_first():
    proposal = backorder_proposal(TERMS, [position("A", backordered=1), position("B", backordered=9)])
    assert proposal is not None and proposal.kind is PoKind.BACKORDER
    assert ordered(proposal) == [("B", 13), ("A", 5)]
    assert proposal.value == Decimal("180")


@pytest.mark.parametrize(
    ("pos", "expected"),
    [
        (position(on_hand=4, max_stock=20), 16),  # at minimum: up to maximum
        (position(on_hand=5, max_stock=20), 0),  # above minimum: nothing
        (position(on_hand=2, incoming=10, max_stock=20), 0),  # projected 12: above minimum
        (position(on_hand=1, max_stock=None), 3),  # no maximum: up to the minimum
        (position(on_hand=4, max_stock=20, order_multiple=6), 18),
    ],
)
def test_regular_review_orders_up_to_maximum(pos, expected):
    assert ordered(regular_proposal(TERMS, [pos])) == ([("BOOK", expected)] if expected else [])


def test_the_review_date_moves_on_by_whole_periods():
    terms = replace(TERMS, next_review_date=date(2026, 11, 20), review_period_days=7)
    assert terms.review_due(date(2026, 12, 2))
    assert terms.review_after(date(2026, 12, 2)) == date(2026, 12, 4)
    assert not replace(terms, next_review_date=date(2026, 12, 4)).review_due(date(2026, 12, 2))


def test_rounding_to_the_order_multiple():
    assert [rounded_up(q, 5) for q in (0, 1, 5, 6)] == [0, 5, 5, 10]
    assert rounded_up(7, None) == 7


def test_planning_looks_at_short_or_low_skus_only():
    assert needs_attention(position(backordered=1).product, position(backordered=1).balance)
    assert needs_attention(position(on_hand=4).product, position(on_hand=4).balance)
    assert not needs_attention(position(on_hand=5).product, position(on_hand=5).balance)
    no_supplier = position(backordered=1, supplier_id=None)
    assert not needs_attention(no_supplier.product, no_supplier.balance)


# ------------------------------------------------------------------ the life cycle


def recommendation():  # type: ignore[no-untyped-def]
    proposal = backorder_proposal(TERMS, [position(backordered=3)])
    assert proposal is not None
    return recommend("PO-1", proposal, AT)


def test_a_revision_with_the_same_lines_is_no_change_and_another_updates_in_place():
    po = recommendation()
    same = backorder_proposal(TERMS, [position(backordered=3)])
    more = backorder_proposal(TERMS, [position(backordered=5)])
    assert same is not None and more is not None
    assert revise(po, same, AT) is None
    revised = revise(po, more, AT)
    assert revised is not None and revised.po_id == po.po_id and revised.lines[0].quantity == 9


def test_placing_makes_the_units_incoming_and_defaults_the_arrival_to_the_lead_time():
    po = recommendation()
    placed = place(po, at=AT, today=date(2026, 12, 2), lead_time_days=5)
    assert (placed.status, placed.expected_at) == (PoStatus.PLACED, "2026-12-07")
    assert incoming_change(po, placed) == {"BOOK": 7}
    with pytest.raises(Conflict):
        place(placed, at=AT, today=date(2026, 12, 2), lead_time_days=5)


def test_placing_with_edits_changes_quantities_and_refuses_unknown_skus():
    po = recommendation()
    assert place(po, at=AT, today=date(2026, 12, 2), lead_time_days=5, quantities={"BOOK": 10}).lines[0].quantity == 10
    with pytest.raises(InvalidInput):
        place(po, at=AT, today=date(2026, 12, 2), lead_time_days=5, quantities={"PEN": 1})


def test_receipts_take_units_off_incoming_and_an_over_receipt_is_recorded():
    placed = place(recommendation(), at=AT, today=date(2026, 12, 2), lead_time_days=5)
    partly = receive(placed, "r-1", {"BOOK": 4}, AT)
    assert (partly.status, incoming_change(placed, partly)) == (PoStatus.PARTLY_RECEIVED, {"BOOK": -4})
    over = receive(partly, "r-2", {"BOOK": 5}, AT)
    assert (over.status, over.lines[0].received, incoming_change(partly, over)) == (PoStatus.RECEIVED, 9, {"BOOK": -3})
    with pytest.raises(InvalidInput):
        receive(placed, "r-3", {"PEN": 1}, AT)


def test_cancelling_a_placed_po_takes_what_is_outstanding_off_incoming():
    placed = place(recommendation(), at=AT, today=date(2026, 12, 2), lead_time_days=5)
    partly = receive(placed, "r-1", {"BOOK": 4}, AT)
    assert incoming_change(partly, cancel(partly, AT)) == {"BOOK": -3}


def test_cancelling_a_cancelled_po_again_changes_nothing():
    cancelled = cancel(recommendation(), AT)
    assert cancel(cancelled, AT) is cancelled


def test_purchased_counts_what_pos_bought_and_a_receipt_does_not_bring_it_back_down():
    # incoming returns to its old value once a PO placed meanwhile is received; purchased
    # does not, so a recommendation planned before that PO cannot be placed (decision 64)
    recommended = recommendation()
    placed = place(recommended, at=AT, today=date(2026, 12, 2), lead_time_days=5)
    received = receive(placed, "r-1", {"BOOK": 7}, AT)
    assert purchased_change(recommended, placed) == incoming_change(recommended, placed) == {"BOOK": 7}
    assert (purchased_change(placed, received), incoming_change(placed, received)) == ({}, {"BOOK": -7})
    partly = receive(placed, "r-1", {"BOOK": 4}, AT)
    assert purchased_change(partly, cancel(partly, AT)) == {"BOOK": -3}  # it keeps the 4 it brought
    assert purchased_change(recommended, cancel(recommended, AT)) == {}


# ------------------------------------------------------------------ expected dates


def waiting(order_id: str, units: int, **dated: str) -> OrderLine:
    return replace(line(order_id, units), **dated)  # type: ignore[arg-type]


def test_the_earliest_po_covers_the_first_lines_in_allotment_order():
    arrivals = [Arrival("2026-12-10", 4, "PO-A"), Arrival("2026-12-20", 10, "PO-B")]
    lines = [waiting("812", 3), waiting("813", 3), waiting("814", 3)]
    dates = [(ln.order_id, on, source) for ln, on, source in expected_dates(lines, arrivals, fallback=None)]
    assert dates == [
        ("812", "2026-12-10", "po:PO-A"),
        ("813", "2026-12-20", "po:PO-B"),  # one unit from PO-A, the rest completes with PO-B
        ("814", "2026-12-20", "po:PO-B"),
    ]


def test_a_line_no_po_covers_gets_today_plus_the_lead_time_and_keeps_it():
    lines = [waiting("812", 3), waiting("813", 2, expected_on="2026-11-30", expected_source="lead_time")]
    dates = list(expected_dates(lines, [Arrival("2026-12-10", 1, "PO-A")], fallback=date(2026, 12, 9)))
    assert [(ln.order_id, on, source) for ln, on, source in dates] == [("812", "2026-12-09", "lead_time")]


def test_without_a_supplier_a_line_has_no_date_and_says_so():
    ((_, on, source),) = expected_dates([waiting("812", 3)], [], fallback=None)
    assert (on, source) == (None, "no_supplier")


def test_a_line_whose_date_holds_is_not_written_again():
    lines = [waiting("812", 3, expected_on="2026-12-10", expected_source="po:PO-A")]
    assert list(expected_dates(lines, [Arrival("2026-12-10", 3, "PO-A")], fallback=None)) == []


def test_the_dating_key_follows_the_version_and_the_arrivals():
    arrivals = [Arrival("2026-12-10", 3, "PO-A")]
    assert dating_key(7, arrivals) == dating_key(7, list(arrivals))
    assert dating_key(7, arrivals) != dating_key(8, arrivals)
    assert dating_key(7, arrivals) != dating_key(7, [Arrival("2026-12-11", 3, "PO-A")])


def test_moving_a_placed_po_records_its_new_arrival():
    placed = place(recommendation(), at=AT, today=date(2026, 12, 2), lead_time_days=5)
    moved = move(placed, date(2026, 12, 20), AT)
    assert (moved.expected_at, moved.history[-1]["was"]) == ("2026-12-20", "2026-12-07")
    with pytest.raises(Conflict):
        move(recommendation(), date(2026, 12, 20), AT)


# ------------------------------------------------------------------ emergency and preponed orders

TODAY = date(2026, 12, 2)
WATCHED = replace(TERMS, lead_time_days=5, next_review_date=date(2027, 1, 1), service_level=0.95)  # review in 30 days


def test_safety_stock_is_z_sigma_root_lead_time_with_poisson_demand():
    assert safety_stock(WATCHED, 1.0) == 4  # 1.645 * sqrt(1 * 5) = 3.68, rounded up
    assert safety_stock(WATCHED, 0.0) == 0


@pytest.mark.parametrize(
    ("on_hand", "rate", "risky"),
    [
        (22, 1.0, True),  # (22 - 4) / 1 = 18 days, before the regular order arrives in 30 + 5
        (40, 1.0, False),  # (40 - 4) / 1 = 36 days: the regular order comes first
        (22, 0.0, False),  # no demand, no risk
    ],
)
def test_a_stockout_before_the_next_review_plus_lead_time_is_a_risk(on_hand, rate, risky):
    assert at_risk(position(on_hand=on_hand, min_stock=0), WATCHED, rate, TODAY) is risky


def test_emergency_orders_what_lasts_until_the_regular_order_arrives():
    terms = replace(WATCHED, stockout_action=StockoutAction.EMERGENCY)
    proposal = emergency_proposal(terms, [position(on_hand=22, min_stock=0)], {"BOOK": 1.0}, TODAY)
    assert proposal is not None and proposal.kind is PoKind.EMERGENCY
    assert ordered(proposal) == [("BOOK", 35 + 4 - 22)]  # 35 days of demand and the safety stock
    assert preponed_review(terms, [position(on_hand=22, min_stock=0)], {"BOOK": 1.0}, TODAY) is None


def test_prepone_moves_the_review_to_the_last_day_an_order_still_arrives_in_time():
    terms = replace(WATCHED, stockout_action=StockoutAction.PREPONE)
    positions, rates = [position(on_hand=22, min_stock=0)], {"BOOK": 1.0}
    assert preponed_review(terms, positions, rates, TODAY) == date(2026, 12, 15)  # 18 days less 5 of lead time
    assert emergency_proposal(terms, positions, rates, TODAY) is None


def test_emergency_and_prepone_are_subject_to_the_threshold():
    costly = replace(WATCHED, threshold_mode=ThresholdMode.FIXED_COST, fixed_order_cost=Decimal("170"))
    positions, rates = [position(on_hand=22, min_stock=0)], {"BOOK": 1.0}  # 17 units at 10.00 = 170
    assert (
        emergency_proposal(replace(costly, stockout_action=StockoutAction.EMERGENCY), positions, rates, TODAY) is None
    )
    assert preponed_review(replace(costly, stockout_action=StockoutAction.PREPONE), positions, rates, TODAY) is None


def test_off_does_neither():
    positions, rates = [position(on_hand=22, min_stock=0)], {"BOOK": 1.0}
    assert emergency_proposal(WATCHED, positions, rates, TODAY) is None
    assert preponed_review(WATCHED, positions, rates, TODAY) is None


def test_a_sku_that_demand_uses_up_within_the_horizon_is_watched():
    watched = position(on_hand=50, min_stock=0)
    assert needs_attention(watched.product, watched.balance, 1.0)  # 50 days of cover < 90
    assert not needs_attention(watched.product, watched.balance, 0.5)  # 100 days
