"""The native API through its real handler: orders and movements are taken once
(replays are answered, not repeated), balances and reports read back what the
allotter decided, settings change what happens next, and a shop sees only its own
orders."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import OTHER_SHOP, SHOP
from tests.support.events import movement_body, order_body, order_line


def test_a_new_order_is_created_and_its_replay_is_a_duplicate_that_writes_nothing(api):
    first = api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2), order_line("PEN", 1)))
    assert (first.status, first.body) == (201, {"status": "created", "order_id": "812", "lines": 2})
    stored = api.items()
    replay = api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2), order_line("PEN", 1)))
    assert (replay.status, replay.body) == (200, {"status": "duplicate", "order_id": "812", "lines": 2})
    assert api.items() == stored


def test_every_unit_of_a_new_order_waits_on_backorder_until_the_allotter_runs(api):
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 3)))
    order = api("GET", "/v1/orders/812").body
    assert [(ln["line"], ln["quantity"], ln["allotted"], ln["backordered"]) for ln in order["lines"]] == [(1, 3, 0, 3)]
    assert order["customer"] == {"id": "cust-42"}


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param(order_body("812", order_line("TEXTBOOK", 3)), id="another quantity"),
        pytest.param(order_body("812", order_line("PEN", 2)), id="another sku"),
        pytest.param(order_body("812", order_line("TEXTBOOK", 2), priority=5), id="another priority"),
    ],
)
def test_the_same_order_id_with_different_content_is_a_conflict_and_changes_nothing(api, changed):
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2)))
    stored = api.items()
    reply = api("POST", "/v1/orders", changed)
    assert reply.status == 409
    assert reply.error == ("conflict", "id")
    assert api.items() == stored


def test_a_movement_is_recorded_once_and_its_replay_is_a_duplicate(api):
    first = api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 5))
    assert first.status == 201
    assert (first.body["status"], first.body["delta"], first.body["balance"]["on_hand"]) == ("recorded", 5, 5)
    stored = api.items()
    replay = api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 5))
    assert replay.status == 200
    assert (replay.body["status"], replay.body["balance"]["on_hand"]) == ("duplicate", 5)
    assert api.items() == stored


def test_the_same_movement_id_with_another_quantity_is_a_conflict_and_changes_nothing(api):
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 5))
    stored = api.items()
    reply = api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 6))
    assert reply.status == 409
    assert reply.error == ("conflict", "id")
    assert api.items() == stored


def test_an_adjustment_below_zero_on_hand_is_a_conflict_naming_the_quantity(api):
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 2))
    stored = api.items()
    reply = api("POST", "/v1/stock/movements", movement_body("adj-1", "TEXTBOOK", -3, kind="adjustment"))
    assert reply.status == 409
    assert reply.error == ("conflict", "quantity")
    assert api.items() == stored


def test_a_sku_balance_shows_on_hand_allotted_backordered_and_stock_position(api):
    api("PUT", "/v1/products/TEXTBOOK", {"name": "Algebra textbook", "min_stock": 10})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 20))
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 25)))
    api.settle("TEXTBOOK")
    reply = api("GET", "/v1/skus/TEXTBOOK")
    assert reply.status == 200
    balance = reply.body
    assert {k: balance[k] for k in ("on_hand", "allotted", "available", "backordered", "stock_position")} == {
        "on_hand": 20,
        "allotted": 20,
        "available": 0,
        "backordered": 5,
        "stock_position": -5,
    }
    assert balance["product"]["name"] == "Algebra textbook"
    assert [(d["order_id"], d["allotted"], d["backordered"]) for d in balance["demand"]] == [("812", 20, 5)]


def test_a_sku_nobody_has_mentioned_is_404(api):
    reply = api("GET", "/v1/skus/NOTHING")
    assert reply.status == 404
    assert reply.error == ("not_found", "sku")


def test_the_record_logs_say_what_changed_and_why(api):
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 3)))
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 3))
    api.settle("TEXTBOOK", event="receipt po-1")
    order_log = [(e["event"], e["message"]) for e in api("GET", "/v1/orders/812").body["history"]]
    assert ("receipt po-1", "3 units of TEXTBOOK went to order 812 line 1 (priority 0)") in order_log
    sku_log = api("GET", "/v1/skus/TEXTBOOK", query={"history": "true"}).body["history"]
    assert ("receipt po-1", "1 line(s) changed, +3 allotted") in [(e["event"], e["message"]) for e in sku_log]


def _backordered_setup(api):
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 20))
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 25, unit_price="39.95"), minute=0))
    api("POST", "/v1/orders", order_body("813", order_line("TEXTBOOK", 2), minute=5, customer={"id": "cust-7"}))
    api.settle("TEXTBOOK")


def test_the_backorder_report_lists_waiting_lines_oldest_first_as_json(api):
    _backordered_setup(api)
    reply = api("GET", "/v1/backorders")
    assert reply.status == 200
    rows = reply.body["backorders"]
    assert reply.body["count"] == 2
    assert [(r["order_id"], r["backordered"], r["value"]) for r in rows] == [("812", 5, "199.75"), ("813", 2, "25.00")]


def test_the_backorder_report_filters_by_customer(api):
    _backordered_setup(api)
    rows = api("GET", "/v1/backorders", query={"customer": "cust-7"}).body["backorders"]
    assert [r["order_id"] for r in rows] == ["813"]


def test_the_backorder_report_comes_as_csv_with_a_header_row_when_asked(api):
    _backordered_setup(api)
    reply = api("GET", "/v1/backorders", headers={"Accept": "text/csv"})
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(reply.body)))
    assert rows[0][:3] == ["order_id", "line", "sku"]
    report = list(csv.DictReader(io.StringIO(reply.body)))
    assert [(r["order_id"], r["sku"], r["backordered"]) for r in report] == [
        ("812", "TEXTBOOK", "5"),
        ("813", "TEXTBOOK", "2"),
    ]
    assert {r["awaiting_fill"] for r in report} == {"false"}, "booleans as in the JSON answer, not Python's False"


def test_a_product_saved_through_the_api_makes_its_sku_known(api):
    reply = api("PUT", "/v1/products/PEN-BLUE", {"name": "Blue pen", "purchase_price": "0.40", "min_stock": 100})
    assert (reply.status, reply.body) == (200, {"status": "saved", "sku": "PEN-BLUE"})
    balance = api("GET", "/v1/skus/PEN-BLUE").body
    assert balance["known"] is True
    assert balance["product"]["purchase_price"] == "0.40"
    assert balance["product"]["min_stock"] == 100


def test_an_unknown_sku_is_accepted_and_held_on_backorder(api):
    api("POST", "/v1/stock/movements", movement_body("po-1", "MYSTERY", 5))
    api("POST", "/v1/orders", order_body("812", order_line("MYSTERY", 2)))
    api.settle("MYSTERY")
    line = api("GET", "/v1/orders/812").body["lines"][0]
    assert (line["allotted"], line["backordered"]) == (0, 2)
    assert api("GET", "/v1/skus/MYSTERY").body["known"] is False


def test_the_shop_line_policy_whole_backorders_a_line_that_cannot_be_filled_completely(api):
    reply = api("PUT", "/v1/shop", {"line_policy": "whole"})
    assert reply.status == 200
    assert reply.body["line_policy"] == "whole"
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 20))
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 25)))
    api.settle("TEXTBOOK")
    line = api("GET", "/v1/orders/812").body["lines"][0]
    assert (line["policy"], line["allotted"], line["backordered"]) == ("whole", 0, 25)


def test_a_shop_on_manual_fill_gets_stock_only_when_it_asks_for_a_fill(api):
    assert api("PUT", "/v1/shop", {"fill_mode": "manual"}).status == 200
    api("PUT", "/v1/products/MUG", {})
    api("POST", "/v1/orders", order_body("BIG", order_line("MUG", 3)))
    api.settle("MUG")
    api("POST", "/v1/stock/movements", movement_body("po-1", "MUG", 2))
    api.settle("MUG")
    assert api("GET", "/v1/orders/BIG").body["lines"][0]["allotted"] == 0
    reply = api("POST", "/v1/fill", {"skus": ["MUG"]})
    assert reply.status == 200
    assert reply.body["filled"] == [
        {"order_id": "BIG", "complete": False, "lines": [{"line": 1, "sku": "MUG", "filled": 2}]}
    ]
    assert api("GET", "/v1/orders/BIG").body["lines"][0]["allotted"] == 2


def test_a_fill_with_nothing_waiting_fills_nothing(api):
    reply = api("POST", "/v1/fill", {})
    nothing = {"orders_considered": 0, "lines_filled": 0, "units_filled": 0, "filled": []}
    assert (reply.status, reply.body) == (200, nothing)


def test_orders_of_one_shop_are_invisible_to_another_shops_key(api):
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2)), shop=SHOP)
    api.settle("TEXTBOOK")
    reply = api("GET", "/v1/orders/812", shop=OTHER_SHOP)
    assert reply.status == 404
    assert reply.error == ("not_found", "order_id")
    assert api("GET", "/v1/backorders", shop=OTHER_SHOP).body == {"backorders": [], "count": 0}
    assert api("POST", "/v1/orders/812/cancel", {}, shop=OTHER_SHOP).status == 404
    assert api("GET", "/v1/orders/812", shop=SHOP).body["lines"][0]["backordered"] == 2


def test_two_shops_may_use_the_same_order_id(api):
    assert api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2)), shop=SHOP).status == 201
    assert api("POST", "/v1/orders", order_body("812", order_line("PEN", 1)), shop=OTHER_SHOP).status == 201
    assert api("GET", "/v1/orders/812", shop=OTHER_SHOP).body["lines"][0]["sku"] == "PEN"


def test_a_cancelled_order_frees_its_units_for_the_next_order(api):
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 3))
    api("POST", "/v1/orders", order_body("FIRST", order_line("TEXTBOOK", 3), minute=0))
    api("POST", "/v1/orders", order_body("SECOND", order_line("TEXTBOOK", 2), minute=1))
    api.settle("TEXTBOOK")
    reply = api("POST", "/v1/orders/FIRST/cancel", {})
    assert (reply.status, reply.body["status"]) == (200, "cancelled")
    api.settle("TEXTBOOK")
    first, second = (api("GET", f"/v1/orders/{o}").body["lines"][0] for o in ("FIRST", "SECOND"))
    assert (first["cancelled"], first["allotted"]) == (3, 0)
    assert (second["allotted"], second["backordered"]) == (2, 0)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("POST", "/v1/orders", order_body(), id="order intake"),
        pytest.param("POST", "/v1/stock/movements", movement_body(), id="movement"),
        pytest.param("GET", "/v1/backorders", None, id="backorder report"),
    ],
)
def test_every_json_answer_is_a_json_string_with_its_content_type(api, method, path, body):
    reply = api(method, path, body)
    assert reply.status < 300
    assert isinstance(reply.raw["body"], str)
    assert reply.headers.get("content-type") == "application/json"
