"""Allotted units are stable (PRODUCT.md, decided 2026-12-01): they move only to a line
of strictly higher priority. An earlier waiting line of the same priority gets free
units only, and a manual fill takes free units only. Through the real API and the real
allotter on the table's stream, as the defects were found."""

from __future__ import annotations

from tests.support.events import movement_body, order_body, order_line


def _pending(api, order_id: str) -> list[dict]:
    return [s for s in api("GET", f"/v1/orders/{order_id}").body["shipments"] if s["status"] == "pending"]


def _line(api, order_id: str) -> dict:
    return api("GET", f"/v1/orders/{order_id}").body["lines"][0]


def test_a_receipt_does_not_take_a_later_orders_pending_shipment_for_an_earlier_whole_line(api):
    # Given a whole line that waits and a later, smaller order that took the free stock
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 3))
    api("POST", "/v1/orders", order_body("WHOLE", order_line("TEXTBOOK", 8), minute=0, line_policy="whole"))
    api("POST", "/v1/orders", order_body("SMALL", order_line("TEXTBOOK", 3), minute=5))
    api.deliver_stream()
    assert _pending(api, "SMALL")[0]["lines"] == [{"line": 1, "sku": "TEXTBOOK", "units": 3}]
    # When a receipt arrives that with SMALL's units would complete the whole line
    api("POST", "/v1/stock/movements", movement_body("po-2", "TEXTBOOK", 5))
    api.deliver_stream()
    # Then SMALL keeps its units and its pending shipment, and WHOLE waits for free units
    assert _pending(api, "SMALL")[0]["lines"] == [{"line": 1, "sku": "TEXTBOOK", "units": 3}]
    assert (_line(api, "WHOLE")["allotted"], _line(api, "WHOLE")["backordered"]) == (0, 8)
    balance = api("GET", "/v1/skus/TEXTBOOK").body
    assert (balance["on_hand"], balance["allotted"], balance["available"]) == (8, 3, 5)
    # and it gets them once enough are free
    api("POST", "/v1/stock/movements", movement_body("po-3", "TEXTBOOK", 3))
    api.deliver_stream()
    assert _line(api, "WHOLE")["allotted"] == 8


def test_a_higher_priority_order_still_takes_units_that_are_not_released(api):
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 3))
    api("POST", "/v1/orders", order_body("REGULAR", order_line("TEXTBOOK", 3), minute=0))
    api.deliver_stream()
    api("POST", "/v1/orders", order_body("VIP", order_line("TEXTBOOK", 2), minute=5, priority=1))
    api.deliver_stream()
    assert (_line(api, "VIP")["allotted"], _line(api, "REGULAR")["allotted"]) == (2, 1)
    assert _pending(api, "REGULAR")[0]["lines"][0]["units"] == 1


def _manual_shop_with_a_waiting_line(api) -> None:
    """A shop that fills by hand: EARLY waits for 5 (it got 2 at intake), LATE holds 3."""
    api("PUT", "/v1/shop", {"fill_mode": "manual"})
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 2))
    api("POST", "/v1/orders", order_body("EARLY", order_line("TEXTBOOK", 5), minute=0))
    api.deliver_stream()
    api("POST", "/v1/stock/movements", movement_body("po-2", "TEXTBOOK", 3))
    api("POST", "/v1/orders", order_body("LATE", order_line("TEXTBOOK", 3), minute=5))
    api.deliver_stream()
    assert (_line(api, "EARLY")["allotted"], _line(api, "EARLY")["awaiting_fill"]) == (2, True)
    assert _line(api, "LATE")["allotted"] == 3


def test_a_manual_fill_takes_only_free_units_and_says_exactly_what_it_filled(api):
    _manual_shop_with_a_waiting_line(api)
    api("POST", "/v1/stock/movements", movement_body("po-3", "TEXTBOOK", 1))  # one unit free
    api.deliver_stream()
    reply = api("POST", "/v1/fill", {})
    assert reply.status == 200
    assert reply.body["filled"] == [
        {"order_id": "EARLY", "complete": False, "lines": [{"line": 1, "sku": "TEXTBOOK", "filled": 1}]}
    ]
    assert (reply.body["lines_filled"], reply.body["units_filled"]) == (1, 1)
    api.deliver_stream()
    early, late = _line(api, "EARLY"), _line(api, "LATE")
    assert (early["allotted"], early["awaiting_fill"]) == (3, True), "still short: it waits for the next fill"
    assert late["allotted"] == 3, "a fill never takes a later line's units"
    assert api("GET", "/v1/skus/TEXTBOOK").body["available"] == 0


def test_a_manual_fill_of_only_completable_orders_fills_none_it_cannot_complete(api):
    _manual_shop_with_a_waiting_line(api)
    api("POST", "/v1/stock/movements", movement_body("po-3", "TEXTBOOK", 2))
    api.deliver_stream()
    assert api("POST", "/v1/fill", {"only_complete_orders": True}).body["filled"] == []
    api("POST", "/v1/stock/movements", movement_body("po-4", "TEXTBOOK", 1))
    api.deliver_stream()
    reply = api("POST", "/v1/fill", {"only_complete_orders": True}).body
    assert reply["filled"] == [
        {"order_id": "EARLY", "complete": True, "lines": [{"line": 1, "sku": "TEXTBOOK", "filled": 3}]}
    ]
    api.deliver_stream()
    assert (_line(api, "EARLY")["backordered"], _line(api, "LATE")["allotted"]) == (0, 3)
