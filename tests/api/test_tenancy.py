"""Shops share the warehouse's SKUs but not their orders (PRODUCT.md, "Tenancy,
identifiers and input"): a shop sees the shared counters, and of other shops' demand
only counts; never their order ids, customers, prices or record-log lines. Everything
here goes through the real API and the real allotter on the table's own stream."""

from __future__ import annotations

import json

from backorders.adapters.dynamodb.models import LineItem
from tests.api.conftest import OTHER_SHOP, SHOP
from tests.support.events import movement_body, order_body, order_line

SECRET_ORDER = "B-SECRET-4711"
SECRET_CUSTOMER = "b-customer-99"
SECRET_MOVEMENT = "b-rma-for-B-SECRET-4711"


def _two_shops_share_textbooks(api, *, b_priority: int = 0) -> None:
    """Shop A orders 3 textbooks, then shop B orders 4 (entered later); 5 arrive."""
    api("PUT", "/v1/products/TEXTBOOK", {"name": "Algebra"})
    assert api("POST", "/v1/orders", order_body("A-1", order_line("TEXTBOOK", 3), minute=0)).status == 201
    b_order = order_body(
        SECRET_ORDER,
        order_line("TEXTBOOK", 4, unit_price="77.70"),
        minute=5,
        customer={"id": SECRET_CUSTOMER, "name": "Bea B", "email": "bea@example.org"},
        priority=b_priority,
    )
    assert api("POST", "/v1/orders", b_order, shop=OTHER_SHOP).status == 201
    assert (
        api("POST", "/v1/stock/movements", movement_body(SECRET_MOVEMENT, "TEXTBOOK", 5), shop=OTHER_SHOP).status == 201
    )
    api.deliver_stream()


def _text(reply) -> str:
    return json.dumps(reply.body)


def test_a_sku_shows_another_shops_demand_as_counts_only(api):
    _two_shops_share_textbooks(api)
    view = api("GET", "/v1/skus/TEXTBOOK", shop=SHOP).body
    assert (view["on_hand"], view["allotted"], view["backordered"]) == (5, 5, 2), "the counters are shared"
    assert [(d["order_id"], d["allotted"], d["place"]) for d in view["demand"]] == [("A-1", 3, 1)]
    assert view["other_shops"] == {"lines": 1, "quantity": 4, "allotted": 2, "backordered": 2}
    assert SECRET_ORDER not in _text(api("GET", "/v1/skus/TEXTBOOK", shop=SHOP))


def test_a_skus_history_never_names_another_shops_orders_or_movements(api):
    _two_shops_share_textbooks(api)
    mine = api("GET", "/v1/skus/TEXTBOOK", shop=SHOP, query={"history": "true"})
    text = _text(mine)
    for secret in (SECRET_ORDER, SECRET_CUSTOMER, SECRET_MOVEMENT, "77.70", "Bea", OTHER_SHOP):
        assert secret not in text, f"shop A's view of the SKU shows {secret!r}: {text}"
    assert any(" by other shops" in entry["event"] for entry in mine.body["history"]), "their causes, unnamed"
    theirs = api("GET", "/v1/skus/TEXTBOOK", shop=OTHER_SHOP, query={"history": "true"}).body["history"]
    assert any(SECRET_MOVEMENT in entry["event"] for entry in theirs), "a shop reads its own causes in full"


def test_an_order_log_never_names_the_other_shops_order_that_took_its_units(api):
    _two_shops_share_textbooks(api)
    # B raises its order's priority: its later order takes A's units
    assert api("PATCH", f"/v1/orders/{SECRET_ORDER}", {"priority": 5}, shop=OTHER_SHOP).status == 200
    api.deliver_stream()
    order = api("GET", "/v1/orders/A-1", shop=SHOP)
    assert [ln["allotted"] for ln in order.body["lines"]] == [1], "B's priority-5 order took 2 of A's 3"
    text = _text(order)
    assert SECRET_ORDER not in text and OTHER_SHOP not in text, text
    messages = [entry["message"] for entry in order.body["history"]]
    assert "2 units of TEXTBOOK taken back from order A-1 line 1 for an order of another shop (priority 5)" in messages


def test_a_shop_cannot_read_or_change_another_shops_order(api):
    _two_shops_share_textbooks(api)
    assert api("GET", f"/v1/orders/{SECRET_ORDER}", shop=SHOP).status == 404
    assert api("POST", f"/v1/orders/{SECRET_ORDER}/cancel", {}, shop=SHOP).status == 404
    assert api("GET", f"/v1/orders/{SECRET_ORDER}", shop=OTHER_SHOP).status == 200


def test_the_backorder_report_and_fill_read_only_the_shops_own_partition(api):
    _two_shops_share_textbooks(api)
    assert api("POST", "/v1/orders", order_body("A-2", order_line("PEN", 2), minute=9)).status == 201
    for n in range(30):  # B's long backlog
        api("POST", "/v1/orders", order_body(f"B-{n}", order_line("TEXTBOOK", 1), minute=10 + n), shop=OTHER_SHOP)
    api.deliver_stream()
    keys = {item.backorder_pk for item in LineItem.scan(LineItem.backorder_pk.exists())}
    assert keys == {f"BO#{SHOP}", f"BO#{OTHER_SHOP}"}, "one index partition per shop"
    assert [ln.order_id for ln in api.svc.store.backordered_lines(SHOP)] == ["A-2"]
    assert len(list(api.svc.store.backordered_lines(OTHER_SHOP))) == 31
    report = api("GET", "/v1/backorders", shop=SHOP).body
    assert [row["order_id"] for row in report["backorders"]] == ["A-2"]
    assert api("POST", "/v1/fill", {}, shop=SHOP).body["orders_considered"] == 0
