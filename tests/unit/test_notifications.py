"""What a change tells whom, and what a combined customer message says
(``domain/notifications.py``, ``domain/choice_tokens.py``; PRODUCT.md "Notifications",
docs/decisions.md 72-73), without AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from backorders.domain.allotment import LineChange
from backorders.domain.choice_tokens import Action, BadToken, ChoiceToken, sign, verify
from backorders.domain.model import OrderLine, Product
from backorders.domain.notifications import (
    CustomerNews,
    Intent,
    Kind,
    change_intents,
    customer_audience,
    customer_news,
    date_moved,
    is_low,
    newest_per_po,
    order_entered,
    po_intent,
)
from backorders.domain.purchasing import PoKind, PoLine, PoStatus, PurchaseOrder
from tests.support.builders import entered, line, stock

WINDOW = timedelta(minutes=10)
EVERYTHING = ("backordered", "date_moved", "filled", "cancelled")
LATER = entered(30)  # well past the minute in which a new order's first allotment fills nothing


def waiting(quantity: int = 5, **state: object) -> OrderLine:
    return line("A-1", quantity, at=0, customer_id="alice", version=3, **state)  # type: ignore[arg-type]


def fill(before: OrderLine, units: int) -> LineChange:
    return LineChange(before, before.with_movable(before.movable + units))


def news_of(intents: list[Intent], *lines: OrderLine, enabled: tuple[str, ...] = EVERYTHING) -> CustomerNews:
    return customer_news(intents, {(ln.order_id, ln.line_no): ln for ln in lines}, enabled)


# ------------------------------------------------------------------ which change leaves which intent


def test_a_fill_of_a_waiting_line_tells_its_customer_with_the_units() -> None:
    (intent,) = change_intents([fill(waiting(), 3)], LATER, WINDOW)
    assert intent.kind is Kind.FILLED and intent.data == {"units": 3}
    assert intent.audience == customer_audience("aacme", "alice", "A-1") == "c#aacme#alice"
    assert intent.intent_id == "filled:A-1:1:4"  # the line version the change writes: stable
    assert intent.due_at == entered(40)  # the shop's window after the change


def test_the_first_allotment_of_a_new_order_is_no_fill() -> None:
    assert change_intents([fill(waiting(), 5)], entered(0), WINDOW) == []


def test_units_taken_back_put_the_line_back_on_backorder() -> None:
    held = waiting(allotted=5)
    (intent,) = change_intents([LineChange(held, held.with_movable(2))], LATER, WINDOW)
    assert intent.kind is Kind.BACKORDERED and intent.data == {"units": 3}


def test_cancelled_backordered_units_are_told_but_cancelled_stock_is_not() -> None:
    mixed = waiting(allotted=2)  # 3 on backorder
    after = replace(mixed.with_movable(1), cancelled=4)  # 3 from the backorder, 1 from stock
    (intent,) = change_intents([LineChange(mixed, after)], LATER, WINDOW)
    assert intent.kind is Kind.CANCELLED and intent.data == {"units": 3}
    in_stock = waiting(allotted=5)
    assert change_intents([LineChange(in_stock, replace(in_stock.with_movable(3), cancelled=2))], LATER, WINDOW) == []


def test_a_date_moved_by_less_than_a_day_is_no_move() -> None:
    dated = waiting(expected_on="2026-12-10", expected_source="lead_time")
    assert date_moved(dated, "2026-12-10", LATER, WINDOW) is None
    assert date_moved(replace(dated, expected_on=None), "2026-12-10", LATER, WINDOW) is None  # a first date
    moved = date_moved(dated, "2026-12-14", LATER, WINDOW)
    assert moved is not None and moved.data == {"was": "2026-12-10", "now": "2026-12-14"}


def test_a_new_order_is_looked_at_once_the_allotter_had_its_minute() -> None:
    assert (
        order_entered("aacme", "A-1", "alice", entered(0), timedelta(0)).due_at == entered(0)[:11] + "10:01:00.000000Z"
    )
    assert order_entered("aacme", "A-1", "", entered(0), WINDOW).audience == "c#aacme#order:A-1"  # a guest


# ------------------------------------------------------------------ what a combined message says


def intent(kind: Kind, **data: object) -> Intent:
    return Intent("c#aacme#alice", f"{kind}:{len(data)}", kind, LATER, LATER, shop="aacme", order_id="A-1",
                  line_no=None if kind is Kind.ORDER_ENTERED else 1, data=data)  # fmt: skip


def test_a_line_that_waits_is_on_backorder_with_its_date_and_source() -> None:
    now = waiting(allotted=2, expected_on="2026-12-10", expected_source="po:PO-7")
    news = news_of([intent(Kind.ORDER_ENTERED)], now)
    (said,) = news.backordered
    assert (said.backordered, said.expected_on, said.expected_source) == (3, "2026-12-10", "po:PO-7")
    assert news.waiting_orders == ("A-1",) and not news.only_optional


def test_a_backorder_filled_within_the_window_is_no_news() -> None:
    assert news_of([intent(Kind.ORDER_ENTERED), intent(Kind.FILLED, units=5)], waiting(allotted=5)).empty


def test_a_fill_says_partly_or_completely_in_stone_edges_words() -> None:
    partly = news_of([intent(Kind.FILLED, units=2)], waiting(allotted=2))
    assert partly.filled[0].filled == 2 and partly.filled[0].backordered == 3
    completely = news_of([intent(Kind.FILLED, units=2), intent(Kind.FILLED, units=3, n=1)], waiting(allotted=5))
    assert completely.filled[0].filled == 5 and completely.filled[0].backordered == 0
    assert completely.only_optional and not completely.waiting_orders


def test_a_date_that_moved_back_to_where_it_was_is_no_news() -> None:
    moved = intent(Kind.DATE_MOVED, was="2026-12-10", now="2026-12-14")
    assert news_of([moved], waiting(expected_on="2026-12-14")).moved[0].was_expected_on == "2026-12-10"
    assert news_of([moved], waiting(expected_on="2026-12-10")).empty


def test_kinds_the_shop_switched_off_are_not_said() -> None:
    both = [intent(Kind.FILLED, units=2), intent(Kind.CANCELLED, units=3)]
    now = replace(waiting(allotted=2), cancelled=3)
    assert news_of(both, now).kinds == {"filled", "cancelled"}
    assert news_of(both, now, enabled=("cancelled",)).kinds == {"cancelled"}
    assert news_of(both, now, enabled=()).empty


# ------------------------------------------------------------------ buyers


def po(version: int) -> PurchaseOrder:
    lines = (PoLine("TEXTBOOK", 4, Decimal("7.50")),)
    return PurchaseOrder("PO-1", "acme", PoKind.BACKORDER, PoStatus.RECOMMENDED, entered(0), lines, version=version)


def test_of_one_pos_updates_only_the_newest_is_sent() -> None:
    first, second = po_intent(po(0), "recommended", entered(1)), po_intent(po(1), "updated", entered(2))
    assert (first.intent_id, second.intent_id) == ("po:PO-1:1", "po:PO-1:2")
    send, superseded = newest_per_po([second, first])
    assert send == [second] and superseded == [first]


def test_low_stock_is_a_projected_position_under_the_minimum_of_a_product_still_sold() -> None:
    product = Product("TEXTBOOK", supplier_id="acme", min_stock=5)
    assert is_low(product, stock(4, known=True))
    assert not is_low(product, stock(5, known=True))
    assert not is_low(replace(product, phased_out=True), stock(0, known=True))
    assert not is_low(product, stock(4, known=True, incoming=3))


# ------------------------------------------------------------------ choice tokens

KEY = b"k" * 40


def token(action: Action = Action.CANCEL, expires: int = 2_000) -> ChoiceToken:
    return ChoiceToken("aacme", "A-1", "c1", action, expires)


def test_a_signed_token_says_what_it_was_signed_with() -> None:
    assert verify(sign(token(), KEY), (b"old" * 20, KEY), now=1_000) == token()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (sign(token(), b"x" * 40), "forged"),
        (sign(token(Action.WAIT), KEY).split(".")[0] + "." + sign(token(), KEY).split(".")[1], "forged"),
        (sign(token(expires=999), KEY), "expired"),
        ("not-a-token", "malformed"),
        ("a." * 600, "malformed"),
    ],
    ids=["other key", "payload swapped", "expired", "no signature", "too long"],
)
def test_a_token_that_is_not_ours_as_signed_is_refused(text: str, reason: str) -> None:
    with pytest.raises(BadToken) as refused:
        verify(text, (KEY,), now=1_000)
    assert refused.value.reason == reason
