"""One rule for identifiers, times and numbers, and for what a request must be
(PRODUCT.md, "Tenancy, identifiers and input"): each defect a hostile client found is
refused with a 4xx JSON error naming the problem, and nothing is written."""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import quote

import pytest

import api_handler
from tests.api.conftest import _reply
from tests.support.events import http_event, movement_body, order_body, order_line

BODY_ROUTES = [
    ("POST", "/v1/orders", order_body()),
    ("PATCH", "/v1/orders/812", {"priority": 1}),
    ("POST", "/v1/orders/812/cancel", {}),
    ("PATCH", "/v1/orders/812/lines/1", {"quantity": 2}),
    ("POST", "/v1/orders/812/lines/1/force-backorder", {}),
    ("POST", "/v1/stock/movements", movement_body()),
    ("PUT", "/v1/products/TEXTBOOK", {"name": "Algebra"}),
    ("PUT", "/v1/suppliers/acme", {"name": "Acme"}),
    ("PUT", "/v1/shop", {}),
    ("PUT", "/v1/customers/cust-42", {}),
    ("POST", "/v1/fill", {}),
]


def path_of(*segments: str) -> str:
    """A URL path as a client sends it: every segment percent-encoded."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def send_raw(api: Any, method: str, path: str, body: bytes, content_type: str | None) -> Any:
    """A request with these body bytes and Content-Type (None: no such header), as API
    Gateway hands it over: text types as text, others and non-UTF-8 bytes base64-encoded."""
    headers = {"Content-Type": content_type}
    event = http_event(method, path, body, headers=headers, api_key=api.account.keys["aacme"])
    return _reply(api_handler.lambda_handler(event, api.context))


def assert_refused(reply: Any, status: int, field: str | None = None) -> None:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"] == "application/json"
    assert reply.body["message"], reply.body
    if field is not None:
        assert reply.body["field"] == field, reply.body


# ------------------------------------------------------------------ the body


@pytest.mark.parametrize(("method", "path", "body"), BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None])
def test_a_body_that_is_not_json_is_415_on_every_body_route(api, method, path, body, content_type):
    reply = send_raw(api, method, path, json.dumps(body).encode(), content_type)
    assert_refused(reply, 415, "content-type")
    assert api.items() == []


def test_json_in_another_charset_is_415(api):
    reply = api("POST", "/v1/orders", order_body(), headers={"Content-Type": "application/json; charset=latin-1"})
    assert_refused(reply, 415, "content-type")


@pytest.mark.parametrize("opening", ["[", '{"a":'], ids=["arrays", "objects"])
def test_json_nested_ten_thousand_levels_deep_is_400(api, opening):
    closing = "]" if opening == "[" else "}"
    reply = api("POST", "/v1/orders", opening * 10_000 + "1" + closing * 10_000)
    assert_refused(reply, 400, "body")
    assert "32 levels" in reply.body["message"]
    assert api.items() == []


def test_json_nested_33_levels_is_refused_and_32_is_read(api):
    assert_refused(api("POST", "/v1/fill", {"skus": [["x"] * 1]} | {"deep": _nested(32)}), 400, "body")
    # 32 levels is JSON the gate reads: the model then names the unknown field
    reply = api("POST", "/v1/fill", {"deep": _nested(30)})
    assert (reply.status, reply.body["field"]) == (422, "deep")


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_a_body_that_is_not_utf8_is_400(api):
    reply = send_raw(api, "POST", "/v1/orders", b'{"id": "\xff\xfe"}', "application/json")
    assert_refused(reply, 400, "body")
    assert "UTF-8" in reply.body["message"]
    assert api.items() == []


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_and_infinity_are_not_numbers(api, text):
    reply = api("POST", "/v1/stock/movements", json.dumps(movement_body())[:-1] + f', "extra": {text}}}')
    assert_refused(reply, 400, "body")


def test_a_key_twice_in_one_object_is_400(api):
    reply = api(
        "POST", "/v1/stock/movements", '{"id": "po-1", "sku": "A", "kind": "receipt", "quantity": 5, "quantity": 500}'
    )
    assert_refused(reply, 400, "body")
    assert "twice" in reply.body["message"]
    assert api.items() == []


def test_the_size_limit_counts_the_decoded_body_not_its_base64_text(api):
    body = b"x" * (200 * 1024)  # 200 KB: about 267 KB as base64 text
    reply = send_raw(api, "POST", "/v1/orders", body, "application/json")
    assert reply.status != 413, "a 200 KB body is under the 256 KB limit however API Gateway encodes it"
    assert_refused(send_raw(api, "POST", "/v1/orders", b" " * (256 * 1024 + 1), "application/json"), 413, "body")


# ------------------------------------------------------------------ times


@pytest.mark.parametrize(
    "entered_at",
    [
        pytest.param("0001-01-01T00:00:00+01:00", id="year 1 with an offset"),
        pytest.param("9999-12-31T23:59:59-01:00", id="year 9999 with an offset"),
        pytest.param("0001-01-01T00:00:00Z", id="year 1"),
        pytest.param("1999-12-31T23:59:59Z", id="before 2000"),
        pytest.param("2999-01-01T00:00:00Z", id="far future"),
        pytest.param(1700000000, id="a bare number"),
        pytest.param("1700000000", id="a number as text"),
        pytest.param(1700000000.5, id="a bare fraction"),
        pytest.param("2026-11-22", id="a date without a time"),
        pytest.param("2026-11-22T10:00:00", id="no time zone"),
    ],
)
def test_entered_at_is_a_zoned_time_between_2000_and_tomorrow(api, entered_at):
    reply = api("POST", "/v1/orders", order_body(entered_at=entered_at))
    assert_refused(reply, 422, "entered_at")
    assert api.items() == []
    assert api("GET", "/v1/backorders").status == 200


def test_an_offset_time_is_stored_in_utc(api):
    assert api("POST", "/v1/orders", order_body(entered_at="2026-11-22T11:30:00+01:00")).status == 201
    report = api("GET", "/v1/backorders").body["backorders"]
    assert report[0]["entered_at"] == "2026-11-22T10:30:00.000000Z"
    assert api("GET", "/v1/backorders", headers={"Accept": "text/csv"}).status == 200


# ------------------------------------------------------------------ identifiers


@pytest.mark.parametrize("route", ["products", "suppliers", "customers"])
def test_a_10_kb_id_in_a_path_is_422_not_a_database_error(api, route):
    reply = api("PUT", path_of("v1", route, "X" * 10_240), {})
    assert reply.status == 422, reply.body
    assert "64" in reply.body["message"]
    assert api.items() == []


@pytest.mark.parametrize(
    "order_id",
    [
        pytest.param("A/B", id="slash"),
        pytest.param("A?B", id="question mark"),
        pytest.param("A#B", id="hash"),
        pytest.param("A\x7fB", id="DEL"),
        pytest.param("A\u202eB", id="right-to-left override"),
        pytest.param("A\u200bB", id="zero-width space"),
        pytest.param("A\nB", id="newline"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="only spaces"),
        pytest.param("X" * 65, id="65 characters"),
    ],
)
def test_an_order_id_breaking_the_identifier_rule_is_refused(api, order_id):
    reply = api("POST", "/v1/orders", order_body(order_id))
    assert_refused(reply, 422, "id")
    assert api.items() == []


@pytest.mark.parametrize(
    "order_id",
    ["PEN BLUE", 'PEN "BLUE"', "50%OFF", "ÆØÅ-1", "订单-812", "😀", "a+b&c=d", "<script>", "X" * 64, "  padded  "],
)
def test_every_order_id_that_can_be_written_can_be_read_and_cancelled_by_its_url(api, order_id):
    assert api("POST", "/v1/orders", order_body(order_id)).status == 201
    reply = api("GET", path_of("v1", "orders", order_id))
    assert (reply.status, reply.body.get("order_id")) == (200, order_id)
    assert api("POST", path_of("v1", "orders", order_id, "cancel"), {}).status == 200
    report = api("GET", "/v1/backorders", query={"customer": "cust-42"}).body
    assert report["count"] == 0


def test_a_sku_typed_in_a_path_and_in_a_body_is_one_sku(api):
    assert api("PUT", "/v1/products/%F0%9F%98%80", {"name": "smiley"}).status == 200
    assert api("POST", "/v1/stock/movements", movement_body(sku="😀", quantity=3)).status == 201
    balance = api("GET", path_of("v1", "skus", "😀")).body
    assert (balance["known"], balance["on_hand"], balance["product"]["name"]) == (True, 3, "smiley")


def test_an_id_is_one_id_whether_its_accents_come_composed_or_decomposed(api):
    composed, decomposed = "CAF\u00c9", "CAFE\u0301"
    assert unicodedata.normalize("NFC", decomposed) == composed != decomposed
    assert api("PUT", path_of("v1", "products", decomposed), {"name": "coffee"}).status == 200
    assert api("POST", "/v1/stock/movements", movement_body(sku=composed, quantity=2)).status == 201
    assert api("GET", path_of("v1", "skus", composed)).body["on_hand"] == 2
    assert api("GET", path_of("v1", "skus", decomposed)).body["product"]["name"] == "coffee"


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        pytest.param("PUT", "/v1/products/P", {"min_stock": 10**200}, "min_stock", id="min_stock 10**200"),
        pytest.param("PUT", "/v1/products/P", {"max_stock": 10**9}, "max_stock", id="max_stock 10**9"),
        pytest.param("PUT", "/v1/products/P", {"purchase_price": "1e200"}, "purchase_price", id="price 1e200"),
        pytest.param("PUT", "/v1/products/P", {"purchase_price": "0.12345"}, "purchase_price", id="price, 5 decimals"),
        pytest.param("PUT", "/v1/suppliers/S", {"fixed_order_cost": "1e200"}, "fixed_order_cost", id="cost 1e200"),
        pytest.param("PUT", "/v1/suppliers/S", {"minimum_order_value": 1e300}, "minimum_order_value", id="mov 1e300"),
        pytest.param("PUT", "/v1/suppliers/S", {"fixed_order_cost": "NaN"}, "fixed_order_cost", id="cost NaN"),
        pytest.param(
            "POST", "/v1/orders", order_body(lines=[order_line(quantity=10**9)]), "lines[0].quantity", id="qty 10**9"
        ),
        pytest.param(
            "POST", "/v1/orders", order_body(lines=[order_line(unit_price=-1)]), "lines[0].unit_price", id="price -1"
        ),
        pytest.param("POST", "/v1/stock/movements", movement_body(quantity=10**12), "quantity", id="receipt 10**12"),
    ],
)
def test_numbers_stay_within_the_limits(api, method, path, body, field):
    reply = api(method, path, body)
    assert_refused(reply, 422, field)
    assert api.items() == []


def test_money_is_stored_exactly_in_plain_notation(api):
    assert api("PUT", "/v1/products/P", {"purchase_price": "1E+2"}).status == 200
    assert api("GET", "/v1/skus/P").body["product"]["purchase_price"] == "100"
    assert api("PUT", "/v1/products/Q", {"purchase_price": 0.1}).status == 200
    assert api("GET", "/v1/skus/Q").body["product"]["purchase_price"] == "0.1"


# ------------------------------------------------------------------ query parameters


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/v1/backorders", {"min_age": "30"}),
        ("/v1/skus/TEXTBOOK", {"histroy": "true"}),
        ("/v1/orders/812", {"verbose": "1"}),
    ],
)
def test_an_unknown_query_parameter_is_400_naming_it(api, path, query):
    reply = api("GET", path, query=query)
    assert_refused(reply, 400, next(iter(query)))
    assert "unknown query parameter" in reply.body["message"]


def test_a_query_filter_follows_the_identifier_rule(api):
    assert_refused(api("GET", "/v1/backorders", query={"sku": "X" * 65}), 422, "sku")


def test_an_empty_body_with_a_non_json_type_is_415_not_500(api):
    event = http_event("POST", "/v1/orders", api_key=api.account.keys["aacme"], headers={"Content-Type": "text/plain"})
    reply = _reply(api_handler.lambda_handler(event, api.context))
    assert_refused(reply, 415, "content-type")


def test_a_number_of_thousands_of_digits_is_400_not_500(api):
    reply = api("POST", "/v1/fill", '{"skus": [], "n": ' + "1" * 4400 + "}")
    assert_refused(reply, 400, "body")
    assert "digits" in reply.body["message"]


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8", "application/json"])
def test_json_is_json_whatever_the_case_of_its_media_type(api, content_type):
    reply = api("POST", "/v1/stock/movements", movement_body(), headers={"Content-Type": content_type})
    assert reply.status == 201, reply.body


@pytest.mark.parametrize("field", ["id", "note"])
def test_a_lone_surrogate_escape_is_400_not_500(api, field):
    body = json.dumps(movement_body()).replace('"po-1"', '"po-1"' if field == "note" else '"\\ud800"')
    if field == "note":
        body = body[:-1] + ', "note": "box \\udfff"}'
    reply = api("POST", "/v1/stock/movements", body)
    assert_refused(reply, 400, "body")
    assert "surrogate" in reply.body["message"]
    assert api.items() == []
