"""``tests.support.events.http_event``: a request as a client sends it, delivered as an
API Gateway HTTP API delivers it (the local cloud's builder; see also
tests/integration/test_localcloud_http.py, which checks it against the local gateway)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

from tests.support.events import http_event


def test_an_encoded_path_arrives_decoded() -> None:
    event = http_event("GET", f"/v1/skus/{quote('PEN BLUE', safe='')}")
    assert event["rawPath"] == event["requestContext"]["http"]["path"] == "/v1/skus/PEN BLUE"


def test_an_encoded_slash_arrives_as_a_slash_and_a_decoded_question_mark_cuts_the_path() -> None:
    assert http_event("GET", f"/v1/orders/{quote('A/B', safe='')}")["rawPath"] == "/v1/orders/A/B"
    event = http_event("GET", f"/v1/orders/{quote('A?B', safe='')}", query={"history": "true"})
    assert (event["rawPath"], event["rawQueryString"]) == ("/v1/orders/A", "history=true")


def test_the_query_stays_encoded_in_the_raw_string_and_is_decoded_in_the_parameters() -> None:
    event = http_event("GET", "/v1/backorders?sku=PEN%20BLUE&sku=INK", query={"customer": "c 7"})
    assert event["rawQueryString"] == "sku=PEN%20BLUE&sku=INK&customer=c+7"
    assert event["queryStringParameters"] == {"sku": "PEN BLUE,INK", "customer": "c 7"}


def test_a_json_body_arrives_as_text() -> None:
    event = http_event("POST", "/v1/orders", {"id": "812"}, api_key="bo_1")
    assert (event["body"], event["isBase64Encoded"]) == ('{"id": "812"}', False)
    assert event["headers"]["authorization"] == "Bearer bo_1"
    assert event["headers"]["content-length"] == str(len(event["body"]))


def test_a_form_body_and_a_body_without_content_type_arrive_base64_encoded() -> None:
    form = http_event("POST", "/v1/orders", "id=812", headers={"Content-Type": "application/x-www-form-urlencoded"})
    bare = http_event("POST", "/v1/orders", b'{"id": "812"}', headers={"Content-Type": None})
    assert "content-type" not in bare["headers"]
    assert (form["isBase64Encoded"], base64.b64decode(form["body"])) == (True, b"id=812")
    assert (bare["isBase64Encoded"], base64.b64decode(bare["body"])) == (True, b'{"id": "812"}')


def test_bytes_that_are_not_utf_8_arrive_as_they_were_sent() -> None:
    event = http_event("POST", "/v1/orders", b'{"id": "\xff"}')
    assert (event["isBase64Encoded"], base64.b64decode(event["body"])) == (True, b'{"id": "\xff"}')


def test_header_names_arrive_lower_case_and_cookies_apart() -> None:
    event = http_event("GET", "/v1/shop", headers={"X-Shop-Hint": "a", "Cookie": "a=1; b=2"})
    assert event["headers"]["x-shop-hint"] == "a"
    assert "cookie" not in event["headers"] and event["cookies"] == ["a=1", "b=2"]
    assert all(name == name.lower() for name in event["headers"])
    json.dumps(event)  # an event is JSON, as Lambda hands it over
