"""The seed documents' examples, end to end through the real services and DynamoDB (moto)."""

from __future__ import annotations

import pytest

from backorders.domain.errors import Conflict
from tests.support.world import World


def test_25_ordered_with_20_in_stock_split_allots_20_and_backorders_5(shop):
    shop.receive("TEXTBOOK", 20)
    shop.order("812", ("TEXTBOOK", 25), policy="split")
    assert (shop.allotted("812"), shop.backordered("812")) == (20, 5)
    assert shop.balance("TEXTBOOK").available == 0


def test_25_ordered_with_20_in_stock_whole_backorders_the_whole_line(shop):
    shop.receive("TEXTBOOK", 20)
    shop.order("812", ("TEXTBOOK", 25), policy="whole")
    assert (shop.allotted("812"), shop.backordered("812")) == (0, 25)
    shop.receive("TEXTBOOK", 5)
    assert (shop.allotted("812"), shop.backordered("812")) == (25, 0)


def test_a_later_order_with_higher_priority_takes_the_units(shop):
    shop.receive("TEXTBOOK", 10)
    shop.order("REGULAR", ("TEXTBOOK", 10))
    shop.order("VIP", ("TEXTBOOK", 6), priority=1)
    assert shop.allotted("VIP") == 6
    assert (shop.allotted("REGULAR"), shop.backordered("REGULAR")) == (4, 6)
    history = shop.svc.queries.order(shop.shop, "REGULAR")["history"]
    assert any("taken back" in h["message"] and "VIP" in h["message"] for h in history)


def test_returned_stock_goes_to_the_oldest_waiting_line(shop):
    shop.order("OLDEST", ("TEXTBOOK", 1))
    shop.order("NEWER", ("TEXTBOOK", 1))
    shop.customer_returns("TEXTBOOK", 1)
    assert (shop.allotted("OLDEST"), shop.allotted("NEWER")) == (1, 0)


def test_a_cancellation_frees_units_for_the_next_order(shop):
    shop.receive("TEXTBOOK", 3)
    shop.order("FIRST", ("TEXTBOOK", 3))
    shop.order("SECOND", ("TEXTBOOK", 2))
    assert shop.allotted("SECOND") == 0
    shop.svc.orders.cancel(shop.shop, "FIRST")
    shop.settle()
    assert shop.allotted("SECOND") == 2
    assert shop.line("FIRST").cancelled == 3


def test_a_ship_complete_order_waits_for_its_last_line(shop):
    shop.receive("TEXTBOOK", 5)
    shop.order("KIT", ("TEXTBOOK", 2), ("PEN", 1), ship_type="complete")
    assert shop.pending_shipment("KIT") is None
    shop.receive("PEN", 1)
    assert shop.pending_shipment("KIT") == {1: 2, 2: 1}


def test_a_partial_order_gets_a_pending_shipment_that_grows_as_stock_arrives(shop):
    shop.receive("TEXTBOOK", 2)
    shop.order("P1", ("TEXTBOOK", 5))
    assert shop.pending_shipment("P1") == {1: 2}
    shop.receive("TEXTBOOK", 3)
    assert shop.pending_shipment("P1") == {1: 5}


def test_released_units_are_locked_and_shipping_lowers_on_hand_and_allotted(shop):
    shop.receive("TEXTBOOK", 4)
    shop.order("LOW", ("TEXTBOOK", 4))
    shop.svc.shipments.release(shop.shop, "LOW", 1)
    shop.order("VIP", ("TEXTBOOK", 4), priority=5)
    assert (shop.allotted("LOW"), shop.allotted("VIP")) == (4, 0)
    shop.svc.shipments.ship(shop.shop, "LOW", 1)
    balance = shop.balance("TEXTBOOK")
    assert (balance.on_hand, balance.allotted, balance.locked) == (0, 0, 0)
    assert shop.line("LOW").shipped == 4
    assert shop.svc.shipments.ship(shop.shop, "LOW", 1).status == "unchanged"


def test_a_replayed_receipt_counts_once(shop):
    shop.receive("TEXTBOOK", 5, movement_id="PO-1")
    shop.receive("TEXTBOOK", 5, movement_id="PO-1")
    assert shop.balance("TEXTBOOK").on_hand == 5
    assert len(shop.svc.store.ledger_entries("TEXTBOOK")) == 1


def test_the_same_movement_id_with_other_content_is_refused(shop):
    shop.receive("TEXTBOOK", 5, movement_id="PO-1")
    with pytest.raises(Conflict):
        shop.receive("TEXTBOOK", 6, movement_id="PO-1")


def test_a_count_below_allotted_takes_units_back_from_the_last_line(shop):
    shop.receive("TEXTBOOK", 6)
    shop.order("FIRST", ("TEXTBOOK", 3))
    shop.order("LAST", ("TEXTBOOK", 3))
    shop.count("TEXTBOOK", 4)
    assert (shop.allotted("FIRST"), shop.allotted("LAST")) == (3, 1)
    assert shop.balance("TEXTBOOK").available == 0


def test_unknown_skus_are_held_on_backorder_until_the_product_exists(shop):
    shop.receive("MYSTERY", 5)
    shop.order("U1", ("MYSTERY", 2))
    assert shop.backordered("U1") == 2
    shop.product("MYSTERY")
    shop.settle()
    assert shop.allotted("U1") == 2


def test_forcing_a_line_onto_backorder_returns_its_units(shop):
    shop.receive("TEXTBOOK", 5)
    shop.order("F1", ("TEXTBOOK", 5))
    shop.svc.orders.force_backorder(shop.shop, "F1", 1, 2)
    shop.settle()
    line = shop.line("F1")
    assert (line.allotted, line.backordered, line.forced) == (3, 2, 2)


def test_fill_only_orders_that_can_be_completed(svc):
    from backorders.domain.model import FillMode, ShopSettings

    stone = World(svc, shop="stone")
    svc.store.put_shop_settings(ShopSettings("stone", fill_mode=FillMode.MANUAL))
    stone.product("MUG")
    stone.product("TEA")
    stone.order("BIG", ("MUG", 3), ("TEA", 1))
    stone.order("SMALL", ("MUG", 1))
    stone.receive("MUG", 2)
    stone.receive("TEA", 1)
    assert stone.allotted("BIG") == 0 and stone.allotted("SMALL") == 0  # manual: nothing moves by itself
    report = svc.fill.fill("stone", skus=None, only_complete=True)
    assert [f["order_id"] for f in report.filled] == ["SMALL"]
    assert stone.allotted("SMALL") == 1 and stone.allotted("BIG", 1) == 0


def test_fill_any_lines_fills_what_it_can_in_allotment_order(svc):
    from backorders.domain.model import FillMode, ShopSettings

    stone = World(svc, shop="stone")
    svc.store.put_shop_settings(ShopSettings("stone", fill_mode=FillMode.MANUAL))
    stone.product("MUG")
    stone.order("BIG", ("MUG", 3))
    stone.order("SMALL", ("MUG", 1))
    stone.receive("MUG", 2)
    report = svc.fill.fill("stone", skus={"MUG"}, only_complete=False)
    assert {f["order_id"] for f in report.filled} == {"BIG"}
    assert stone.allotted("BIG") == 2 and stone.allotted("SMALL") == 0


def test_switching_back_to_automatic_filling_fills_the_waiting_lines(svc):
    from backorders.domain.model import FillMode, ShopSettings

    stone = World(svc, shop="stone")
    svc.shops.save(ShopSettings("stone", fill_mode=FillMode.MANUAL))
    stone.product("MUG")
    stone.order("WAITING", ("MUG", 2))
    stone.receive("MUG", 2)
    assert stone.allotted("WAITING") == 0
    assert svc.shops.save(ShopSettings("stone", fill_mode=FillMode.AUTO)) == 1
    stone.settle()
    assert stone.allotted("WAITING") == 2


def test_an_untracked_gift_card_is_allotted_without_stock(shop):
    shop.product("GIFTCARD", tracked=False)
    shop.order("G1", ("GIFTCARD", 2))
    assert (shop.allotted("G1"), shop.backordered("G1")) == (2, 0)
