"""Bad input gets a 4xx JSON error that names the field or the problem, and nothing is
written: malformed JSON, missing or wrongly typed fields, zero or negative
quantities, unknown routes, wrong methods, oversized bodies, missing API keys."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.events import movement_body, order_body, order_line

ONE_KB = 1024


def _padded(body: dict[str, Any], size: int) -> str:
    """Valid JSON of ``body`` padded with whitespace to ``size`` bytes."""
    text = json.dumps(body)
    return text + " " * (size - len(text))


def _without(body: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != name}


ORDER_CASES = [
    pytest.param('{"id": "812", "lines": [', 400, "malformed_json", "body", id="malformed JSON"),
    pytest.param("", 422, "invalid_request", "body", id="no body"),
    pytest.param(order_body("812", {"quantity": 1}), 422, "invalid_request", "lines[0].sku", id="line without sku"),
    pytest.param(_without(order_body(), "customer"), 422, "invalid_request", "customer", id="no customer"),
    pytest.param(order_body(lines=[]), 422, "invalid_request", "lines", id="no lines"),
    pytest.param(
        order_body("812", order_line(quantity="5")), 422, "invalid_request", "lines[0].quantity", id="quantity as text"
    ),
    pytest.param(
        order_body("812", order_line(quantity=2.5)), 422, "invalid_request", "lines[0].quantity", id="half a unit"
    ),
    pytest.param(
        order_body("812", order_line(quantity=0)), 422, "invalid_request", "lines[0].quantity", id="zero quantity"
    ),
    pytest.param(
        order_body("812", order_line(quantity=-3)), 422, "invalid_request", "lines[0].quantity", id="negative quantity"
    ),
    pytest.param(
        order_body("812", order_line(), order_line(sku="PEN", quantity=-1)),
        422,
        "invalid_request",
        "lines[1].quantity",
        id="second line negative",
    ),
    pytest.param(order_body(entered_at="2026-11-22T10:00:00"), 422, "invalid_request", "entered_at", id="no time zone"),
    pytest.param(order_body(priority="high"), 422, "invalid_request", "priority", id="priority as text"),
    pytest.param(order_body(colour="red"), 422, "invalid_request", "colour", id="unknown field"),
    pytest.param(_padded(order_body(), 256 * ONE_KB + 1), 413, "too_large", "body", id="body over 256 KB"),
]

MOVEMENT_CASES = [
    pytest.param('{"id": "po-1", "sku": ', 400, "malformed_json", "body", id="malformed JSON"),
    pytest.param(_without(movement_body(), "sku"), 422, "invalid_request", "sku", id="no sku"),
    pytest.param(movement_body(quantity="5"), 422, "invalid_request", "quantity", id="quantity as text"),
    pytest.param(movement_body(quantity=2.5), 422, "invalid_request", "quantity", id="half a unit"),
    pytest.param(movement_body(kind="gift"), 422, "invalid_request", "kind", id="unknown kind"),
    pytest.param(movement_body(quantity=-3), 422, "invalid_input", "quantity", id="negative receipt"),
    pytest.param(movement_body(quantity=0), 422, "invalid_input", "quantity", id="empty receipt"),
    pytest.param(movement_body(kind="return", quantity=-1), 422, "invalid_input", "quantity", id="negative return"),
    pytest.param(movement_body(kind="count", quantity=-1), 422, "invalid_input", "quantity", id="negative count"),
    pytest.param(movement_body(kind="adjustment", quantity=0), 422, "invalid_input", "quantity", id="zero adjustment"),
    pytest.param(_padded(movement_body(), 256 * ONE_KB + 1), 413, "too_large", "body", id="body over 256 KB"),
]


def assert_json_error(reply: Any, status: int, code: str, field: str | None) -> None:
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/json"
    assert {"error", "message", "field"} <= set(reply.body)
    assert reply.error == (code, field)
    assert reply.body["message"]


@pytest.mark.parametrize(("body", "status", "code", "field"), ORDER_CASES)
def test_a_bad_order_is_refused_with_the_field_named_and_nothing_written(api, body, status, code, field):
    reply = api("POST", "/v1/orders", body)
    assert_json_error(reply, status, code, field)
    if field not in (None, "body"):
        assert field in reply.body["message"]
    assert api.items() == []


@pytest.mark.parametrize(("body", "status", "code", "field"), MOVEMENT_CASES)
def test_a_bad_movement_is_refused_with_the_field_named_and_nothing_written(api, body, status, code, field):
    reply = api("POST", "/v1/stock/movements", body)
    assert_json_error(reply, status, code, field)
    assert api.items() == []


def test_a_body_of_exactly_256_kb_is_not_too_large(api):
    reply = api("POST", "/v1/stock/movements", _padded(movement_body(), 256 * ONE_KB))
    assert reply.status == 201


def test_a_bad_request_changes_nothing_that_was_there(api):
    api("POST", "/v1/stock/movements", movement_body("po-1", quantity=5))
    api("POST", "/v1/orders", order_body("812"))
    before = api.items()
    assert before
    for body in (order_body("813", order_line(quantity=0)), order_body("812", order_line(quantity=-1))):
        assert api("POST", "/v1/orders", body).status == 422
    assert api("POST", "/v1/stock/movements", movement_body("po-2", quantity=-5)).status == 422
    assert api.items() == before


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("DELETE", "/v1/orders", "POST", id="DELETE orders"),
        pytest.param("GET", "/v1/orders", "POST", id="GET orders"),
        pytest.param("GET", "/v1/stock/movements", "POST", id="GET movements"),
        pytest.param("PUT", "/v1/orders/812", "GET, PATCH", id="PUT an order"),
        pytest.param("POST", "/v1/skus/TEXTBOOK", "GET", id="POST a SKU"),
    ],
)
def test_a_wrong_method_is_405_with_the_allowed_methods(api, method, path, allowed):
    reply = api(method, path, order_body())
    assert_json_error(reply, 405, "method_not_allowed", None)
    assert reply.headers["allow"] == allowed
    assert method in reply.body["message"] and path in reply.body["message"]
    assert api.items() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/v1/nothing", id="unknown resource"),
        pytest.param("POST", "/v2/orders", id="unknown version"),
        pytest.param("GET", "/v1/orders/812/lines", id="unknown sub-resource"),
        pytest.param("GET", "/", id="root"),
    ],
)
def test_an_unknown_route_is_404_json(api, method, path):
    reply = api(method, path, order_body() if method == "POST" else None)
    assert_json_error(reply, 404, "not_found", None)
    assert path in reply.body["message"]
    assert api.items() == []


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no key"),
        pytest.param("Bearer bo_not-a-key", id="unknown key"),
        pytest.param("Bearer ", id="empty key"),
        pytest.param("Basic YWRtaW46YWRtaW4=", id="not a bearer key"),
    ],
)
def test_a_request_without_a_known_api_key_is_401_and_writes_nothing(api, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    reply = api("POST", "/v1/orders", order_body(), api_key=None, headers=headers)
    assert_json_error(reply, 401, "unauthorized", "authorization")
    assert api.items() == []


def test_a_query_parameter_out_of_range_names_the_parameter(api):
    reply = api("GET", "/v1/backorders", query={"limit": "0"})
    assert_json_error(reply, 422, "invalid_request", "limit")
