"""Refusals through the real API handler: a movement may not take on hand below the
units in released shipments (409), and storage throttling is answered 429, never 500;
neither writes anything. Throttling is DynamoDB's own ``ThrottlingException``, raised
at the botocore boundary before the call reaches moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import SHOP
from tests.support.events import movement_body, order_body, order_line
from tests.support.throttling import dynamodb, throttled


def stocked_and_released(api: Any, on_hand: int, released: int) -> None:
    """``on_hand`` textbooks, ``released`` of them in order 812's released shipment."""
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", on_hand))
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", released)))
    api.settle("TEXTBOOK")
    api.svc.shipments.sync_pending(SHOP, "812")
    assert api("POST", "/v1/orders/812/shipments/1/release").status == 200
    balance = api("GET", "/v1/skus/TEXTBOOK").body
    assert (balance["on_hand"], balance["locked"]) == (on_hand, released)


# ------------------------------------------------------------------ released units


def movements_leaving(on_hand: int) -> list[Any]:
    """An adjustment and a count that each leave ``on_hand`` of the 6 textbooks."""
    return [
        pytest.param(movement_body("adj-1", "TEXTBOOK", on_hand - 6, kind="adjustment"), id="an adjustment"),
        pytest.param(movement_body("count-1", "TEXTBOOK", on_hand, kind="count"), id="a count"),
    ]


@pytest.mark.parametrize("movement", movements_leaving(3))
def test_on_hand_cannot_drop_below_the_units_in_released_shipments(api, movement):
    # Given 6 textbooks, 4 of them in a released shipment
    stocked_and_released(api, on_hand=6, released=4)
    stored = api.items()
    # When a movement would leave 3 on hand
    reply = api("POST", "/v1/stock/movements", movement)
    # Then it is refused and nothing is written
    assert (reply.status, reply.error) == (409, ("conflict", "quantity"))
    assert api.items() == stored


@pytest.mark.parametrize("movement", movements_leaving(4))
def test_on_hand_may_drop_to_exactly_the_units_in_released_shipments(api, movement):
    stocked_and_released(api, on_hand=6, released=4)
    reply = api("POST", "/v1/stock/movements", movement)
    assert reply.status == 201
    balance = reply.body["balance"]
    assert (balance["on_hand"], balance["allotted"], balance["locked"], balance["available"]) == (4, 4, 4, 0)


# ------------------------------------------------------------------ throttling


def with_an_order(api: Any) -> None:
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 3))
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 5)))
    api.settle("TEXTBOOK")


NEW_ORDER = ("POST", "/v1/orders", order_body("813"))
NEW_MOVEMENT = ("POST", "/v1/stock/movements", movement_body("po-2"))
THROTTLED = [
    pytest.param(dynamodb("GetItem", sk="ORDER"), *NEW_ORDER, id="order: is it new"),
    pytest.param(dynamodb("GetItem", sk="SHOP"), *NEW_ORDER, id="order: shop policy"),
    pytest.param(dynamodb("GetItem", sk="CUSTOMER#"), *NEW_ORDER, id="order: customer policy"),
    pytest.param(dynamodb("TransactWriteItems"), *NEW_ORDER, id="order: its write"),
    pytest.param(dynamodb("Query"), "GET", "/v1/orders/812", None, id="order detail"),
    pytest.param(dynamodb("GetItem", sk="SKU"), "GET", "/v1/skus/TEXTBOOK", None, id="sku balance"),
    pytest.param(dynamodb("Query", index="demand"), "GET", "/v1/skus/TEXTBOOK", None, id="sku demand list"),
    pytest.param(dynamodb("Query", index="backorders"), "GET", "/v1/backorders", None, id="backorder report"),
]


# A movement reads, decides and writes in one retried attempt (``services.commit.retrying``,
# like the order edits): a throttled read in it is retried, and the movement lands once.
RETRIED = [
    pytest.param(dynamodb("GetItem", sk="LEDGER#"), id="movement: is it new"),
    pytest.param(dynamodb("GetItem", sk="SKU"), id="movement: balance"),
    pytest.param(dynamodb("TransactWriteItems"), id="movement: its write"),
]


@pytest.mark.parametrize("when", RETRIED)
def test_a_throttled_call_of_a_movement_is_retried_and_the_movement_recorded_once(api, when):
    with_an_order(api)
    with throttled(when) as throttle:
        reply = api(*NEW_MOVEMENT)
    assert throttle.fired
    assert (reply.status, reply.body["status"], reply.body["delta"]) == (201, "recorded", 5)
    assert api("POST", "/v1/stock/movements", movement_body("po-2")).body["status"] == "duplicate"


@pytest.mark.parametrize(("when", "method", "path", "body"), THROTTLED)
def test_a_throttled_request_is_answered_429_and_writes_nothing(api, when, method, path, body):
    with_an_order(api)
    stored = api.items()
    with throttled(when) as throttle:
        reply = api(method, path, body)
    assert throttle.fired
    assert (reply.status, reply.error) == (429, ("throttled", None)), reply.body
    assert api.items() == stored


def test_a_throttled_edit_is_retried_within_the_request_and_counted_once(api):
    with_an_order(api)
    with throttled(dynamodb("TransactWriteItems")) as throttle:
        reply = api("POST", "/v1/orders/812/cancel", {"line": 1, "units": 2}, headers={"Idempotency-Key": "c-1"})
    assert throttle.fired
    assert (reply.status, reply.body["status"]) == (200, "cancelled")
    line = api("GET", "/v1/orders/812").body["lines"][0]
    assert (line["cancelled"], line["allotted"], line["backordered"]) == (2, 3, 0)
