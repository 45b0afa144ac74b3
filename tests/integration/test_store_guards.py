"""The database's own guards, each alone. Two units of work are planned from the same
snapshot; the first commits, and the second must be refused with ``Conflict`` by the
one condition that can still tell it is stale:

* ``available >= n`` on the SKU balance, for writes that lower ``available`` without
  pinning the SKU version (intake, edits and stock decreases do not pin it);
* ``version == <read>`` on an order line, for two edits of one line that both only
  give units back (so ``available`` rises) and carry different idempotency keys;
* ``version == <read>`` on the SKU balance, for two recomputes whose lines differ
  and whose stock suffices for both.

Usually several guards protect the same write, so the others never fire; these tests
are the ones that fail when a single guard is dropped from the unit of work.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backorders.domain import orders as rules
from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict
from backorders.domain.model import Movement, MovementKind
from tests.support.world import SHOP, World

NOW = "2026-11-22T12:00:00.000000Z"


@pytest.fixture
def shop(svc):  # type: ignore[no-untyped-def]
    world = World(svc)
    world.product("TEXTBOOK")
    return world


def unit_of_work(shop: World, event: str):  # type: ignore[no-untyped-def]
    return shop.svc.store.unit_of_work(writer="test", event=event, at=NOW)


def refused_after_the_first_commits(first, second) -> Conflict:  # type: ignore[no-untyped-def]
    """Commit ``first``, then ``second``, which must be refused: its ``Conflict``."""
    first.commit()
    with pytest.raises(Conflict) as refused:
        second.commit()
    return refused.value


def counters(shop: World) -> tuple[int, int, int]:
    balance = shop.balance("TEXTBOOK")
    return balance.on_hand, balance.allotted, balance.available


# ------------------------------------------------------------------ available >= n


def test_a_second_allotment_from_the_same_snapshot_cannot_overdraw(shop):
    # Given two orders waiting for 3 textbooks each and 3 that just arrived
    shop.order("812", ("TEXTBOOK", 3))
    shop.order("813", ("TEXTBOOK", 3))
    shop.svc.stock.record(Movement("po-1", "TEXTBOOK", MovementKind.RECEIPT, 3))
    first, second = shop.line("812"), shop.line("813")  # the snapshot: 3 available, nothing allotted
    # When each of two writers allots all 3 from that snapshot, without pinning the SKU version
    taking_first = unit_of_work(shop, "allot 812")
    taking_first.change_line(LineChange(first, first.with_movable(3)))
    taking_second = unit_of_work(shop, "allot 813")
    taking_second.change_line(LineChange(second, second.with_movable(3)))
    # Then the second is refused by the stock guard alone, and writes nothing
    assert refused_after_the_first_commits(taking_first, taking_second).failed == ("sku:TEXTBOOK",)
    assert counters(shop) == (3, 3, 0)
    assert (shop.allotted("813"), shop.line("813").version) == (0, second.version)


def test_two_stock_decreases_planned_from_the_same_balance_cannot_take_available_below_zero(shop):
    # Given 5 textbooks on hand, none allotted
    shop.svc.stock.record(Movement("po-1", "TEXTBOOK", MovementKind.RECEIPT, 5))
    on_hand = shop.balance("TEXTBOOK").on_hand
    # When two adjustments of -4 are each planned from on hand 5 (each fits alone),
    # written as a stock decrease is: a ledger entry and on_hand -4, no SKU version
    decreases = []
    for movement_id in ("adj-1", "adj-2"):
        movement = Movement(movement_id, "TEXTBOOK", MovementKind.ADJUSTMENT, -4)
        uow = unit_of_work(shop, f"adjustment {movement_id}")
        uow.add_ledger(movement, -4, on_hand - 4)
        uow.touch_sku("TEXTBOOK", on_hand=-4)
        decreases.append(uow)
    # Then the second is refused: 1 is available, not 4
    assert refused_after_the_first_commits(*decreases).failed == ("sku:TEXTBOOK",)
    assert counters(shop) == (1, 0, 1)
    assert shop.svc.store.ledger("TEXTBOOK", "adj-2") is None


# ------------------------------------------------------------------ line version


def test_a_second_edit_of_a_line_from_the_same_read_is_refused(shop):
    # Given order 812 holding all 3 of its textbooks, 5 on hand
    shop.receive("TEXTBOOK", 5)
    shop.order("812", ("TEXTBOOK", 3))
    read = shop.line("812")
    assert (read.allotted, read.backordered) == (3, 0)
    # When two cancels of 2 units, each with its own idempotency key, are planned from
    # that one read (each fits alone: 3 units are open; both release units, so
    # available only rises and the stock guard has nothing to refuse)
    cancels = []
    for key in ("cancel/first", "cancel/second"):
        uow = unit_of_work(shop, f"{key}: 2 units cancelled")
        uow.change_line(LineChange(read, rules.cancel(read, 2)))
        uow.add_command(SHOP, "812", key, f"fingerprint of {key}", expires=datetime(2026, 12, 8, tzinfo=UTC))
        cancels.append(uow)
    # Then the second is refused by the line's version alone, and writes nothing
    assert refused_after_the_first_commits(*cancels).failed == ("line:1",)
    line = shop.line("812")
    assert (line.cancelled, line.allotted, line.backordered, line.version) == (2, 1, 0, read.version + 1)
    assert counters(shop) == (5, 1, 4)
    view = shop.svc.store.order_view(SHOP, "812", with_log=False)
    assert view is not None and set(view.commands) == {"cancel/first"}


# ------------------------------------------------------------------ SKU version


def test_a_recompute_planned_from_an_outdated_balance_is_refused(shop):
    # Given two orders waiting for 3 textbooks each and 6 that just arrived
    shop.order("812", ("TEXTBOOK", 3))
    shop.order("813", ("TEXTBOOK", 3))
    shop.svc.stock.record(Movement("po-1", "TEXTBOOK", MovementKind.RECEIPT, 6))
    version = shop.balance("TEXTBOOK").version
    first, second = shop.line("812"), shop.line("813")
    # When two recomputes planned at that version allot to different lines (stock suffices for both)
    plans = []
    for line in (first, second):
        uow = unit_of_work(shop, f"recompute for {line.order_id}")
        uow.change_line(LineChange(line, line.with_movable(3)))
        uow.touch_sku("TEXTBOOK", expect_version=version)
        plans.append(uow)
    # Then the second is refused: the balance moved on since it was read
    assert refused_after_the_first_commits(*plans).failed == ("sku:TEXTBOOK",)
    assert counters(shop) == (6, 3, 3)
    assert shop.allotted("813") == 0
