"""Purchasing through the API (Optiply's backorder POs): the planner recommends one PO
per supplier and kind from the planning index, never twice; placing makes its units
incoming; receipts raise stock, which the allotter hands to the oldest backorders."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest

from tests.support.events import movement_body, order_body, order_line

SUPPLIER = {
    "name": "Acme Books",
    "backorders_enabled": True,
    "fixed_order_cost": "25",
    "threshold_mode": "fixed_cost",
    "lead_time_days": 5,
}


def catalogue(api: Any, **product: Any) -> None:
    assert api("PUT", "/v1/suppliers/acme", SUPPLIER).status == 200
    settings = {"supplier_id": "acme", "purchase_price": "10.00", "min_stock": 4, **product}
    assert api("PUT", "/v1/products/TEXTBOOK", settings).status == 200


def backorder(api: Any, order_id: str, units: int) -> None:
    assert api("POST", "/v1/orders", order_body(order_id, order_line("TEXTBOOK", units))).status == 201
    api.deliver_stream()


def plan(api: Any) -> dict[str, Any]:
    reply = api("POST", "/v1/planning/run")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def open_pos(api: Any) -> list[dict[str, Any]]:
    return list(api("GET", "/v1/purchase-orders", query={"status": "recommended"}).body["purchase_orders"])


def test_a_negative_stock_position_gets_one_backorder_po_up_to_minimum(api):
    catalogue(api)
    backorder(api, "812", 3)  # stock position -3, minimum 4: order 7
    report = plan(api)
    assert len(report["recommended"]) == 1 and report["skus_read"] == 1
    (po,) = open_pos(api)
    assert (po["kind"], po["supplier_id"], po["threshold_passed"]) == ("backorder", "acme", "fixed_cost 25")
    assert [(ln["sku"], ln["quantity"]) for ln in po["lines"]] == [("TEXTBOOK", 7)]
    assert po["value"] == "70.00"


def test_a_second_run_changes_nothing_and_more_backorders_update_the_po_in_place(api):
    catalogue(api)
    backorder(api, "812", 3)
    first = plan(api)["recommended"][0]
    stored = api.items()
    assert plan(api) | {"suppliers": 0, "skus_read": 0} == {
        "recommended": [], "updated": [], "withdrawn": [], "reviewed": [], "preponed": [], "deferred": [],
        "lines_dated": 0,
        "suppliers": 0, "skus_read": 0,
    }  # fmt: skip
    assert api.items() == stored
    backorder(api, "813", 2)
    assert plan(api)["updated"] == [first]
    (po,) = open_pos(api)
    assert (po["id"], po["lines"][0]["quantity"]) == (first, 9)


def test_phased_out_orders_exactly_to_zero_and_the_multiple_rounds_up(api):
    catalogue(api, phased_out=True, order_multiple=5)
    backorder(api, "812", 3)
    plan(api)
    (po,) = open_pos(api)
    assert po["lines"][0]["quantity"] == 5  # 3 to reach zero, rounded up to the multiple of 5


@pytest.mark.parametrize(("price", "recommended"), [("3.57", False), ("3.58", True)])
def test_the_po_must_exceed_the_fixed_order_cost(api, price, recommended):
    catalogue(api, purchase_price=price)
    backorder(api, "812", 3)  # 7 units: 24.99 stays below 25, 25.06 exceeds it
    assert bool(plan(api)["recommended"]) is recommended


def test_a_placed_po_is_incoming_and_prevents_a_second_order(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    placed = api("POST", f"/v1/purchase-orders/{po_id}/place", {"expected_arrival": "2030-01-15"})
    assert (placed.status, placed.body["status"], placed.body["expected_arrival"]) == (200, "placed", "2030-01-15")
    assert api.svc.store.balance("TEXTBOOK").incoming == 7
    api.deliver_stream()
    report = plan(api)
    assert report["recommended"] == [] and open_pos(api) == []
    assert api("POST", f"/v1/purchase-orders/{po_id}/place", {}).status == 409  # placed once


def test_backorders_that_disappear_withdraw_the_recommendation(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    assert api("POST", "/v1/orders/812/cancel", {}).status == 200
    api.deliver_stream()
    assert plan(api)["withdrawn"] == [po_id]
    assert api("GET", f"/v1/purchase-orders/{po_id}").body["status"] == "withdrawn"


def test_a_partial_receipt_allots_to_the_oldest_backorder_and_is_idempotent(api):
    catalogue(api)
    backorder(api, "812", 3)
    backorder(api, "813", 3)
    po_id = plan(api)["recommended"][0]
    api("POST", f"/v1/purchase-orders/{po_id}/place", {})
    receipt = {"id": "r-1", "lines": [{"sku": "TEXTBOOK", "quantity": 4}]}
    first = api("POST", f"/v1/purchase-orders/{po_id}/receipts", receipt)
    assert (first.status, first.body["status"], first.body["replayed"]) == (200, "partly_received", False)
    assert api("POST", f"/v1/purchase-orders/{po_id}/receipts", receipt).body["replayed"] is True
    api.deliver_stream()
    assert [ln["allotted"] for ln in api("GET", "/v1/orders/812").body["lines"]] == [3]
    assert [ln["allotted"] for ln in api("GET", "/v1/orders/813").body["lines"]] == [1]
    balance = api.svc.store.balance("TEXTBOOK")
    assert (balance.on_hand, balance.incoming) == (4, 10 - 4)


def test_a_receipt_for_a_sku_the_po_does_not_order_is_refused_and_writes_nothing(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    api("POST", f"/v1/purchase-orders/{po_id}/place", {})
    stored = api.items()
    reply = api(
        "POST", f"/v1/purchase-orders/{po_id}/receipts", {"id": "r-1", "lines": [{"sku": "PEN", "quantity": 1}]}
    )
    assert (reply.status, reply.error) == (422, ("invalid_input", "lines"))
    assert api.items() == stored


def test_cancelling_a_placed_po_takes_its_units_off_incoming(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    api("POST", f"/v1/purchase-orders/{po_id}/place", {})
    assert api("POST", f"/v1/purchase-orders/{po_id}/cancel").body["status"] == "cancelled"
    assert api.svc.store.balance("TEXTBOOK").incoming == 0


def test_cancelling_a_cancelled_po_again_answers_it_unchanged(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    assert api("POST", f"/v1/purchase-orders/{po_id}/cancel").status == 200
    stored = api.items()
    again = api("POST", f"/v1/purchase-orders/{po_id}/cancel")
    assert (again.status, again.body["status"]) == (200, "cancelled")
    assert api.items() == stored


def test_purchase_orders_are_listed_as_csv_one_row_per_line(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    reply = api("GET", "/v1/purchase-orders", query={"supplier": "acme"}, headers={"Accept": "text/csv"})
    assert reply.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(reply.body))
    assert (row["id"], row["kind"], row["status"], row["sku"], row["quantity"], row["value"]) == (
        po_id, "backorder", "recommended", "TEXTBOOK", "7", "70.00",
    )  # fmt: skip
    assert (row["po_value"], row["threshold_passed"], row["outstanding"]) == ("70.00", "fixed_cost 25", "7")


def test_a_recommendation_planned_before_another_po_was_placed_cannot_be_placed(api):
    catalogue(api)
    backorder(api, "812", 3)
    stale = plan(api)["recommended"][0]
    api("POST", f"/v1/purchase-orders/{stale}/cancel")
    second = plan(api)["recommended"][0]  # cancelled recommendations leave the slot free
    api("POST", f"/v1/purchase-orders/{second}/place", {})
    assert api("POST", f"/v1/purchase-orders/{stale}/place", {}).status == 409


def backorder_dates(api: Any, **query: str) -> list[tuple[str, str | None, str | None]]:
    rows = api("GET", "/v1/backorders", query=query).body["backorders"]
    return [(row["order_id"], row["expected_on"], row["expected_source"]) for row in rows]


def test_expected_dates_follow_placed_pos_in_allotment_order_and_move_with_them(api):
    catalogue(api, min_stock=0)
    backorder(api, "812", 3)
    backorder(api, "813", 3)
    po_id = plan(api)["recommended"][0]  # 6 units
    api("POST", f"/v1/purchase-orders/{po_id}/place", {"lines": [{"sku": "TEXTBOOK", "quantity": 4}],
                                                        "expected_arrival": "2030-01-15"})  # fmt: skip
    api.deliver_stream()
    plan(api)
    lead_time = api("GET", "/v1/backorders").body["backorders"][1]["expected_on"]
    assert backorder_dates(api) == [("812", "2030-01-15", f"po:{po_id}"), ("813", lead_time, "lead_time")]
    assert api("GET", "/v1/orders/812").body["lines"][0]["expected_on"] == "2030-01-15"

    moved = api("PATCH", f"/v1/purchase-orders/{po_id}", {"expected_arrival": "2030-02-01"})
    assert (moved.status, moved.body["expected_arrival"]) == (200, "2030-02-01")
    assert backorder_dates(api)[0] == ("812", "2030-02-01", f"po:{po_id}")


def test_the_backorder_report_filters_by_supplier_and_defaulting(api):
    catalogue(api, min_stock=0)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    api("POST", f"/v1/purchase-orders/{po_id}/place", {"expected_arrival": "2020-01-15"})  # already past
    api.deliver_stream()
    plan(api)
    assert backorder_dates(api, supplier="acme", defaulting="true") == [("812", "2020-01-15", f"po:{po_id}")]
    assert backorder_dates(api, defaulting="false") == []
    assert backorder_dates(api, supplier="other") == []


def test_a_backorder_of_a_sku_without_supplier_says_so(api):
    assert api("PUT", "/v1/products/PEN", {"purchase_price": "1.00"}).status == 200
    assert api("POST", "/v1/orders", order_body("900", order_line("PEN", 1))).status == 201
    api.deliver_stream()
    plan(api)
    assert backorder_dates(api) == [("900", None, "no_supplier")]


@pytest.mark.parametrize("action", ["emergency", "prepone"])
def test_demand_that_threatens_a_stockout_before_the_review_orders_now_or_moves_the_review(api, action):
    today = date.fromisoformat(api.svc.clock()[:10])
    supplier = {**SUPPLIER, "threshold_mode": "none", "review_period_days": 30, "stockout_action": action,
                "next_review_date": (today + timedelta(days=30)).isoformat()}  # fmt: skip
    assert api("PUT", "/v1/suppliers/acme", supplier).status == 200
    assert api("PUT", "/v1/products/TEXTBOOK", {"supplier_id": "acme", "purchase_price": "10.00"}).status == 200
    assert api("POST", "/v1/stock/movements", movement_body("r-1", "TEXTBOOK", 50)).status == 201
    backorder(api, "812", 28)  # 28 units today: a demand of 1 a day over the 28-day window, 22 left
    report = plan(api)
    if action == "emergency":  # lasts (22 - 4 safety) / 1 = 18 days; the regular order comes in 30 + 5
        (po,) = open_pos(api)
        assert (po["kind"], po["lines"][0]["quantity"]) == ("emergency", 35 + 4 - 22)
    else:  # order by day 18 - 5 of lead time: the review moves forward, no emergency PO
        assert (report["preponed"], open_pos(api)) == (["acme"], [])
        moved = api("GET", "/v1/suppliers/acme").body["next_review_date"]
        assert moved == (today + timedelta(days=13)).isoformat()


def test_a_product_shows_its_settings_and_what_is_on_order(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    api("POST", f"/v1/purchase-orders/{po_id}/place", {})
    product = api("GET", "/v1/products/TEXTBOOK").body
    assert (product["supplier_id"], product["min_stock"], product["purchase_price"]) == ("acme", 4, "10.00")
    assert (product["stock_position"], product["incoming"], product["projected_position"]) == (-3, 7, 4)
    assert api("GET", "/v1/products/NOPE").status == 404
