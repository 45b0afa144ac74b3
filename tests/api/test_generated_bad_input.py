"""No request is a 5xx, and a refused request writes nothing (PRODUCT.md, "Tenancy,
identifiers and input": "A 5xx means a bug in the service, never in the request").

Every route of the app (``tests.support.routes``: as ``api_handler.app`` declares them,
the API's public description too) gets requests generated from one valid example of it:
path parameters from wild text, JSON bodies with fields dropped, added, retyped, nested deep,
repeated or written twice, CSV files (of the imports) with cells, columns and rows
changed, bodies that are not JSON, not CSV or not UTF-8, odd Content-Types and base64
flags, oversized bodies, unknown and ill-typed query parameters, other methods,
and odd ``Idempotency-Key``, ``Accept`` and ``Authorization`` headers
(``tests/support/bad_input``). They go to the real handler, against a table seeded with
a supplier, a product, stock and two orders (one with a pending shipment, one with a
released one), so bad input also reaches the routes on existing resources. For every
request:

- the status is below 500 (an exception out of the handler is API Gateway's 500);
- a 4xx answer is JSON with ``error``, ``message`` and ``field``;
- a 4xx answer wrote nothing: the table is item for item what it was;
- after an accepted request that wrote, the shop's reads (the backorder report as JSON
  and CSV, the SKU with its log, the orders, the supplier, the product and supplier
  lists as JSON and CSV) still answer below 500.

A route added to the app without an example in ``EXAMPLES`` fails here until it has one.
``BAD_INPUT_EXAMPLES`` sets the requests per route (default 75: about 35 s for the file
on one core); a soak: ``BAD_INPUT_EXAMPLES=3000 .venv/bin/pytest -n 2 tests/api/test_generated_bad_input.py``.
``--hypothesis-show-statistics`` tells where the requests ended (status and error code).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

import api_handler
import catalogue_csv
from backorders.domain.model import ImportJob, Product
from backorders.domain.purchasing import PoKind, PoLine, Proposal, recommend
from localcloud.moto_patches import patched_moto
from tests.api.conftest import OTHER_SHOP, REGION, SHOP
from tests.support import bad_input
from tests.support.bad_input import BadRequest, to_json
from tests.support.events import http_event, movement_body, order_body, order_line
from tests.support.routes import RouteShape, app_routes

REQUESTS_PER_ROUTE = int(os.environ.get("BAD_INPUT_EXAMPLES", "75"))

ROUTES = app_routes()

# ------------------------------------------------------------------ the seeded table and one valid request per route


def seed(api: Any) -> None:
    """A supplier, a product, stock for it and two orders: 812 with a pending shipment
    (and a line on backorder), 813 with a released shipment."""
    for method, path, body in [
        ("PUT", "/v1/suppliers/acme", {"name": "Acme Books"}),
        ("PUT", "/v1/products/TEXTBOOK", {"name": "Algebra", "supplier_id": "acme"}),
        ("PUT", "/v1/customers/cust-42", {"line_policy": "split"}),
        ("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 10)),
        ("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2), order_line("PEN", 1))),
        ("POST", "/v1/orders", order_body("813", order_line("TEXTBOOK", 1), minute=1)),
    ]:
        reply = api(method, path, body)
        assert reply.status in (200, 201), (path, reply.body)
    api.settle("TEXTBOOK", "PEN")
    for order_id in ("812", "813"):  # what the allotter does after the stock moved
        api.svc.shipments.sync_pending(SHOP, order_id)
    reply = api("POST", "/v1/orders/813/shipments/1/release")
    assert reply.status == 200, reply.body
    # PO-1 placed, PO-2 the open recommendation (planned against PO-1's incoming units)
    for po_id, incoming in (("PO-1", 0), ("PO-2", 5)):  # 5 incoming, 5 purchased
        at = api.svc.clock()
        line = PoLine("TEXTBOOK", 5, Decimal("10"), incoming_seen=incoming, purchased_seen=incoming)
        uow = api.svc.store.unit_of_work(writer="test", event="seed", at=at)
        uow.put_purchase_order(recommend(po_id, Proposal("acme", PoKind.BACKORDER, (line,), "none"), at))
        uow.set_open_recommendation("acme", PoKind.BACKORDER, po_id, was=None)
        uow.commit()
        if po_id == "PO-1":
            assert api("POST", "/v1/purchase-orders/PO-1/place", {}).status == 200
    job = ImportJob("IMP-1", "products", api.svc.clock(), ((Product("TEXTBOOK", name="Algebra"),),))
    api.svc.store.put_import_job(job, expires=datetime.now(UTC) + timedelta(days=7))


@dataclass(frozen=True, slots=True)
class Example:
    """A request the route accepts on the seeded table: path parameters as plain text,
    the body (every field its model has, so that every field gets mutated) or the CSV
    file (every column), query parameters and headers."""

    path: tuple[tuple[str, str], ...] = ()
    body: Any = None
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    csv: str | None = None


ORDER_812 = (("order_id", "812"),)
EXAMPLES: dict[str, Example] = {
    "POST /v1/orders": Example(
        body=order_body(
            "900",
            order_line("TEXTBOOK", 1, line=1),
            customer={"id": "cust-43", "email": "ada@example.com", "name": "Ada"},
            priority=5,
            ship_type="complete",
            line_policy="whole",
        )
    ),
    "GET /v1/orders/<order_id>": Example(ORDER_812),
    "PATCH /v1/orders/<order_id>": Example(ORDER_812, {"priority": 5}),
    "POST /v1/orders/<order_id>/cancel": Example(
        ORDER_812, {"line": 1, "units": 1}, headers=(("Idempotency-Key", "cancel-812-1"),)
    ),
    "PATCH /v1/orders/<order_id>/lines/<line_no>": Example((*ORDER_812, ("line_no", "1")), {"quantity": 3}),
    "POST /v1/orders/<order_id>/lines/<line_no>/force-backorder": Example((*ORDER_812, ("line_no", "1")), {"units": 1}),
    "POST /v1/orders/<order_id>/shipments/<shipment_no>/release": Example((*ORDER_812, ("shipment_no", "1"))),
    "POST /v1/orders/<order_id>/shipments/<shipment_no>/ship": Example((("order_id", "813"), ("shipment_no", "1"))),
    "POST /v1/stock/movements": Example(body=movement_body("po-2", "TEXTBOOK", 3, note="a second box")),
    "GET /v1/skus/<sku>": Example((("sku", "TEXTBOOK"),), query=(("history", "true"),)),
    "GET /v1/backorders": Example(
        query=(
            ("sku", "PEN"),
            ("customer", "cust-42"),
            ("min_age_days", "0"),
            ("supplier", "acme"),
            ("defaulting", "false"),
            ("limit", "10"),
        ),
        headers=(("Accept", "text/csv"),),
    ),
    "PUT /v1/products/<sku>": Example(
        (("sku", "TEXTBOOK"),),
        {
            "name": "Algebra, 2nd edition",
            "supplier_id": "acme",
            "purchase_price": "12.5000",
            "min_stock": 2,
            "max_stock": 20,
            "phased_out": False,
            "order_multiple": 5,
            "tracked": True,
        },
    ),
    "PUT /v1/suppliers/<supplier_id>": Example(
        (("supplier_id", "acme"),),
        {
            "name": "Acme Books",
            "backorders_enabled": True,
            "fixed_order_cost": "25.00",
            "minimum_order_value": 100,
            "threshold_mode": "both",
            "lead_time_days": 7,
            "review_period_days": 7,
            "next_review_date": "2030-01-06",
            "stockout_action": "emergency",
            "service_level": 0.98,
            "buyer_emails": ["buyer@example.com"],
        },
    ),
    "GET /v1/suppliers/<supplier_id>": Example((("supplier_id", "acme"),)),
    "GET /v1/products/<sku>": Example((("sku", "TEXTBOOK"),)),
    "GET /v1/products": Example(query=(("after", "PEN"), ("limit", "10")), headers=(("Accept", "text/csv"),)),
    "GET /v1/suppliers": Example(query=(("after", "a"), ("limit", "10"))),
    # TEXTBOOK and acme exist, PEN (a SKU already) and bolt do not: one row updates, one creates
    "POST /v1/imports/products": Example(
        csv="sku,name,supplier_id,purchase_price,min_stock,max_stock,phased_out,order_multiple,tracked\n"
        'TEXTBOOK,"Algebra, 3rd edition",acme,12.5000,2,20,false,5,true\n'
        "PEN,Blue pen,,0.40,,,TRUE,,\n"
    ),
    "POST /v1/imports/suppliers": Example(
        csv="id,name,backorders_enabled,fixed_order_cost,minimum_order_value,threshold_mode,lead_time_days,"
        "review_period_days,next_review_date,stockout_action,service_level,buyer_emails\n"
        "acme,Acme Books,true,25.00,100,both,7,7,2030-01-06,emergency,0.98,buyer@example.com\n"
        "bolt,Bolt,,,,,,,,,,ada@example.com;bob@example.com\n"
    ),
    "PUT /v1/shop": Example(
        body={
            "line_policy": "whole",
            "fill_mode": "manual",
            "notify_customers": False,
            "customer_messages": ["backordered", "cancelled"],
            "combine_minutes": 5,
            "time_zone": "Europe/Amsterdam",
            "locale": "nl_NL",
            "name": "Aacme Books",
            "contact_email": "orders@aacme.example",
        }
    ),
    "PUT /v1/customers/<customer_id>": Example((("customer_id", "cust-42"),), {"line_policy": "whole"}),
    "POST /v1/fill": Example(body={"skus": ["TEXTBOOK", "PEN"], "only_complete_orders": False}),
    "POST /v1/planning/run": Example(),
    "GET /v1/imports/<job_id>": Example((("job_id", "IMP-1"),)),
    "GET /v1/reports/reorder": Example(query=(("supplier", "acme"),), headers=(("Accept", "text/csv"),)),
    "GET /v1/reports/awaiting-placement": Example(query=(("supplier", "acme"),)),
    "GET /v1/reports/filled-backorders": Example(
        query=(("since", "2026-11-01T00:00:00Z"), ("until", "2026-11-30T00:00:00+01:00"))
    ),
    "GET /v1/purchase-orders": Example(query=(("status", "placed"), ("supplier", "acme"), ("kind", "backorder"))),
    "GET /v1/purchase-orders/<po_id>": Example((("po_id", "PO-1"),)),
    "PATCH /v1/purchase-orders/<po_id>": Example((("po_id", "PO-1"),), {"expected_arrival": "2030-02-01"}),
    "POST /v1/purchase-orders/<po_id>/place": Example(
        (("po_id", "PO-2"),), {"lines": [{"sku": "TEXTBOOK", "quantity": 4}], "expected_arrival": "2030-01-15"}
    ),
    "POST /v1/purchase-orders/<po_id>/receipts": Example(
        (("po_id", "PO-1"),), {"id": "r-1", "lines": [{"sku": "TEXTBOOK", "quantity": 2}]}
    ),
    "POST /v1/purchase-orders/<po_id>/cancel": Example((("po_id", "PO-2"),)),
    "PUT /v1/shop/integrations/shopify": Example(
        body={
            "shop_domain": "acme-books.myshopify.com",
            "webhook_secret": "shpss_0123456789abcdef",
            "admin_api_token": "shpat_0123456789abcdef",
        }
    ),
    "PUT /v1/shop/integrations/woocommerce": Example(
        body={
            "site_url": "https://shop.example.org",
            "webhook_secret": "wc-secret-0123456789",
            "consumer_key": "ck_0123456789abcdef",
            "consumer_secret": "cs_0123456789abcdef",
        }
    ),
    "GET /v1/shop/integrations": Example(),
    "GET /v1/webhooks/rejected": Example(),
    # the API's description (public: no key needed, api_docs)
    "GET /openapi.json": Example(),
    "GET /docs": Example(),
    "GET /docs/swagger-ui-bundle.min.js": Example(),
    "GET /docs/swagger-ui.min.css": Example(),
}


def example_of(route: RouteShape) -> Example:
    if route.key not in EXAMPLES:
        pytest.fail(f"the app has a route {route.key} with no example in EXAMPLES: add a request it accepts")
    return EXAMPLES[route.key]


def wire_path(route: RouteShape, segments: dict[str, str]) -> str:
    """The route's path with each ``<parameter>`` replaced by its wire-form segment."""
    return re.sub(r"<(\w+)>", lambda match: segments[match.group(1)], route.path)


def field_names() -> list[str]:
    """Every field name of every body model of the app (to add a known but wrong field)."""
    names = set()
    for route in ROUTES:
        if route.body_model is not None:
            names.update(route.body_model.model_fields)
    return sorted(names)


FIELD_NAMES = field_names()
COLUMN_NAMES = sorted({*catalogue_csv.PRODUCTS.columns, *catalogue_csv.SUPPLIERS.columns})

# ------------------------------------------------------------------ bad requests, from the example

# how a request is made bad (one way, at times two or three; a way listed more than once is drawn more often)
BODY_WAYS = ("fields", "fields", "fields", "text", "bytes", "size", "content_type", "encoding")
COMMON_WAYS = ("query", "headers", "auth", "method")
METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE", "CONNECT", "PROPFIND", "get", ""]
ODD_HEADERS = {
    "Idempotency-Key": bad_input.header_text,
    "Accept": st.sampled_from(["text/csv", "TEXT/CSV", "text/*", "*/*", "text/csv;q=0"]) | bad_input.header_text,
    "X-Forwarded-For": bad_input.header_text,
}
OUR_KEY = f"Bearer <key:{SHOP}>"  # `send` puts the shop's API key in
AUTHORIZATIONS = [
    f"Bearer <key:{OTHER_SHOP}>",  # a shop that has none of these resources
    f"bearer <key:{SHOP}>",
    f"Bearer  <key:{SHOP}>  ",
    f"Bearer <key:{SHOP}>x",
    f"Basic <key:{SHOP}>",
    f"<key:{SHOP}>",
    "Bearer ",
    "Bearer",
    "",
]


@st.composite
def bad_requests(draw: st.DrawFn, route: RouteShape, example: Example) -> BadRequest:
    ways = list(COMMON_WAYS)
    if route.path_params:
        ways += ["path", "path", "path"]
    ways += list(BODY_WAYS) if route.body_model is not None or route.takes_csv else ["stray_body"]
    spoiled = {draw(st.sampled_from(ways))}
    while len(spoiled) < 3 and draw(st.integers(0, 3)) == 3:  # mostly one way, so most requests reach their check
        spoiled.add(draw(st.sampled_from(ways)))

    segments = {name: bad_input.wire_segment(value) for name, value in example.path}
    if "path" in spoiled:
        numbers = dict(route.path_params)
        for name in draw(st.sets(st.sampled_from(sorted(numbers)), min_size=1)):
            segments[name] = draw(bad_input.number_segments if numbers[name] else bad_input.identifier_segments)

    query = list(example.query)
    if "query" in spoiled:
        names = st.sampled_from([*route.query_params, "History", "min_age", "limit ", "page", "sku[]"])
        values = bad_input.wild_text | bad_input.number_text | st.sampled_from(["True", "yes", "on", "1,2", "a,b"])
        extra = draw(st.lists(st.tuples(names | bad_input.wild_text, values), min_size=1, max_size=4))
        query = extra if draw(st.booleans()) else query + extra

    headers = dict(example.headers)
    if "headers" in spoiled:
        for name in sorted(headers):  # the example's own headers may go
            if draw(st.booleans()):
                del headers[name]
        for name in sorted(draw(st.sets(st.sampled_from(sorted(ODD_HEADERS)), min_size=1))):
            headers[name] = draw(ODD_HEADERS[name])

    authorization: str | None = OUR_KEY
    if "auth" in spoiled:
        authorization = draw(st.sampled_from([*AUTHORIZATIONS, None]) | bad_input.header_text)

    content_type: str | None = "application/json"
    body: str | None = None
    base64: bool | None = False
    data = b""
    if route.takes_csv:
        content_type = "text/csv"
        text = example.csv or ""
        if "fields" in spoiled:
            text = draw(bad_input.mutated_csv(text, COLUMN_NAMES))
        if "size" in spoiled:
            text = draw(bad_input.oversized_csv(text))
        if "text" in spoiled:
            text = draw(bad_input.raw_texts(text))
        data = text.encode("utf-8")
        if "bytes" in spoiled:
            data = draw(bad_input.raw_bytes(text))
    elif route.body_model is not None:
        text = to_json(example.body)
        if "fields" in spoiled:
            text = to_json(draw(bad_input.mutated_json(example.body, FIELD_NAMES)), ascii_only=draw(st.booleans()))
        if "size" in spoiled:
            text = draw(bad_input.oversized_texts(example.body))
        if "text" in spoiled:
            text = draw(bad_input.raw_texts(text))
        data = text.encode("utf-8")
        if "bytes" in spoiled:
            data = draw(bad_input.raw_bytes(text))
    elif "stray_body" in spoiled:
        data = draw(
            bad_input.json_values.map(lambda value: to_json(value).encode())
            | bad_input.raw_bytes("{}")
            | bad_input.raw_texts("{}").map(str.encode)
        )
    if "content_type" in spoiled or "stray_body" in spoiled:
        content_type = draw(bad_input.content_types)
    if "encoding" in spoiled:
        body, base64 = draw(bad_input.lying_encodings(data))
    elif data:
        body, base64 = bad_input.as_aws_sends(data, content_type)

    return BadRequest(
        method=draw(st.sampled_from(METHODS)) if "method" in spoiled else route.method,
        path=wire_path(route, segments),
        query=tuple(query),
        headers=tuple(headers.items()),
        authorization=authorization,
        content_type=content_type,
        body=body,
        base64=base64,
        spoiled=tuple(sorted(spoiled)),
    )


# ------------------------------------------------------------------ sending and checking


def send(api: Any, request: BadRequest) -> dict[str, Any]:
    """The handler's raw answer to ``request``; an exception out of it is what API
    Gateway answers 500 for, so it fails the test naming the request."""
    aws_event = http_event(
        request.method, request.path, None, headers=dict(request.headers), query=list(request.query) or None
    )
    aws_event["requestContext"]["http"]["method"] = request.method  # as sent, even in lower case
    headers = aws_event["headers"]
    for name in ("content-type", "content-length", "authorization"):
        headers.pop(name, None)
    if request.content_type is not None:
        headers["content-type"] = request.content_type
    if request.authorization is not None:
        authorization = request.authorization
        for shop, key in api.account.keys.items():
            authorization = authorization.replace(f"<key:{shop}>", key)
        headers["authorization"] = authorization
    aws_event.pop("body", None)
    if request.body is not None:
        aws_event["body"] = request.body
    aws_event.pop("isBase64Encoded", None)
    if request.base64 is not None:
        aws_event["isBase64Encoded"] = request.base64
    try:
        return api_handler.lambda_handler(aws_event, api.context)
    except Exception as exc:
        pytest.fail(f"the handler raised {exc!r}: API Gateway answers 500 for {request!r}")


def assert_a_json_error(answer: dict[str, Any]) -> None:
    headers = {str(name).lower(): str(value) for name, value in (answer.get("headers") or {}).items()}
    assert headers.get("content-type", "").startswith("application/json"), f"a 4xx that is not JSON: {answer}"
    try:
        payload = json.loads(answer.get("body") or "")
    except ValueError:
        pytest.fail(f"a 4xx whose body is not JSON: {answer}")
    assert isinstance(payload, dict) and {"error", "message", "field"} <= payload.keys(), payload
    assert isinstance(payload["error"], str) and payload["error"], payload
    assert isinstance(payload["message"], str) and payload["message"], payload
    assert payload["field"] is None or isinstance(payload["field"], str), payload


def table_now(api: Any) -> list[dict[str, Any]]:
    """What ``api.items()`` returns (every item, every attribute, sorted by key), read
    from moto's store: a scan through boto3 costs some 30-60 ms, nearly all of it moto
    writing its answer, and this test reads the table after every request.
    ``test_the_quick_read_of_the_table_is_a_full_scan`` keeps the two equal."""
    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(api.table)
    items = (item.to_json()["Attributes"] for item in table.all_items())
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def _error_code(answer: dict[str, Any]) -> str:
    try:
        return str(json.loads(answer.get("body") or "").get("error", ""))
    except (ValueError, AttributeError):
        return ""


def restore(api: Any, items: list[dict[str, Any]], found: list[dict[str, Any]] | None = None) -> None:
    """Put the table back as ``items`` (after a request the route accepted and wrote);
    ``found`` is what it holds now, if just read."""

    def key(item: dict[str, Any]) -> tuple[str, str]:
        return item["pk"]["S"], item["sk"]["S"]

    wanted = {key(item): item for item in items}
    present = {key(item): item for item in (table_now(api) if found is None else found)}
    for pk, sk in present.keys() - wanted.keys():
        api.account.dynamodb.delete_item(TableName=api.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    for item_key, item in wanted.items():
        if present.get(item_key) != item:
            api.account.dynamodb.put_item(TableName=api.table, Item=item)


@dataclass(frozen=True, slots=True)
class Seeded:
    api: Any
    items: list[dict[str, Any]]  # the table as seeded: each request starts from it


READS_AFTER_A_WRITE = [
    BadRequest("GET", "/v1/backorders", authorization=OUR_KEY),
    BadRequest("GET", "/v1/backorders", headers=(("Accept", "text/csv"),), authorization=OUR_KEY),
    BadRequest("GET", "/v1/backorders", authorization=f"Bearer <key:{OTHER_SHOP}>"),
    BadRequest("GET", "/v1/skus/TEXTBOOK", query=(("history", "true"),), authorization=OUR_KEY),
    BadRequest("GET", "/v1/orders/812", authorization=OUR_KEY),
    BadRequest("GET", "/v1/orders/900", authorization=OUR_KEY),  # the order of the POST /v1/orders example
    BadRequest("GET", "/v1/suppliers/acme", authorization=OUR_KEY),
    BadRequest("GET", "/v1/products", authorization=OUR_KEY),
    BadRequest("GET", "/v1/products", headers=(("Accept", "text/csv"),), authorization=OUR_KEY),
    BadRequest("GET", "/v1/suppliers", authorization=OUR_KEY),
    BadRequest("GET", "/v1/suppliers", headers=(("Accept", "text/csv"),), authorization=OUR_KEY),
]


@pytest.fixture
def seeded(api: Any) -> Iterator[Seeded]:
    """The seeded table, with the local cloud's moto patches: moto itself backs up the
    whole table and its stream before every transaction item, so each accepted write
    costs more memory and time than the one before (a soak ran out of memory)."""
    with patched_moto():
        seed(api)
        yield Seeded(api, table_now(api))


# ------------------------------------------------------------------ the rules


def test_every_route_of_the_app_is_found_and_every_example_names_one():
    keys = {route.key for route in ROUTES}
    assert len(keys) >= 17, sorted(keys)  # the routes of the README, at least
    assert keys == set(EXAMPLES), {"without example": keys - set(EXAMPLES), "no such route": set(EXAMPLES) - keys}


def test_the_quick_read_of_the_table_is_a_full_scan(seeded):
    assert seeded.items == seeded.api.items()
    assert len(seeded.items) > 10  # the seed: supplier, product, balances, orders, lines, shipments


def test_each_example_is_a_request_its_route_accepts_and_names_every_field(seeded):
    refused = {}
    for route in ROUTES:
        example = example_of(route)
        assert {name for name, _ in example.path} == {name for name, _ in route.path_params}, route.key
        if route.body_model is not None:
            assert set(example.body) == set(route.body_model.model_fields), f"{route.key}: give every field"
        body = to_json(example.body) if route.body_model is not None else None
        if route.takes_csv:
            assert example.csv is not None, f"{route.key}: give a CSV file"
            sheet = catalogue_csv.PRODUCTS if route.path.endswith("products") else catalogue_csv.SUPPLIERS
            assert example.csv.split("\n", 1)[0].split(",") == list(sheet.columns), f"{route.key}: give every column"
            body = example.csv
        request = BadRequest(
            route.method,
            wire_path(route, {name: bad_input.wire_segment(value) for name, value in example.path}),
            query=example.query,
            headers=example.headers,
            authorization=OUR_KEY,
            content_type="text/csv" if route.takes_csv else "application/json",
            body=body,
        )
        answer = send(seeded.api, request)
        if answer["statusCode"] not in (200, 201):
            refused[route.key] = answer
        restore(seeded.api, seeded.items)
    assert not refused, refused


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: route.key)
@settings(
    max_examples=REQUESTS_PER_ROUTE,
    deadline=None,  # moto's speed varies; the budget is the file's runtime
    # one seeded table per route: each request starts from the seed, as `restore` puts
    # back whatever an accepted request wrote
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_no_bad_request_is_a_5xx_and_a_refused_one_writes_nothing(seeded, route, data):
    answer = assert_the_input_rules_hold(seeded, data.draw(bad_requests(route, example_of(route)), label="request"))
    event(f"{answer['statusCode']} {_error_code(answer)}")  # --hypothesis-show-statistics: where requests end


def assert_the_input_rules_hold(seeded: Seeded, request: BadRequest) -> dict[str, Any]:
    """The answer is below 500; a 4xx is a JSON error and wrote nothing. The table is
    then put back as seeded, for the next request."""
    after = None
    try:
        answer = send(seeded.api, request)
        status = answer["statusCode"]
        assert 200 <= status < 500, f"{status} for {request!r}: {answer.get('body')}"
        after = table_now(seeded.api)
        if status >= 400:
            assert_a_json_error(answer)
            assert after == seeded.items, f"a {status} answer wrote to the table: {request!r}"
        elif after != seeded.items:
            for read in READS_AFTER_A_WRITE:  # one accepted request must not poison a read for good
                reread = send(seeded.api, read)["statusCode"]
                assert reread < 500, f"{read.method} {read.path} {read.headers} answers {reread} after {request!r}"
        return answer
    finally:
        if after != seeded.items:
            restore(seeded.api, seeded.items, after)


# ------------------------------------------------------------------ what the generator found, as plain cases


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(
            BadRequest(
                "PATCH",
                "/v1/orders/812",
                authorization=OUR_KEY,
                content_type="APPLICATION/JSON",
                body='{"priority": 5}',
            ),
            id="JSON as APPLICATION/JSON",
        ),
        pytest.param(
            BadRequest(
                "PUT",
                "/v1/customers/cust-42",
                authorization=OUR_KEY,
                content_type="Application/Json; Charset=UTF-8",
                body='{"line_policy": "whole"}',
            ),
            id="JSON as Application/Json; Charset=UTF-8",
        ),
        pytest.param(
            BadRequest("PUT", "/v1/shop", authorization=OUR_KEY, content_type="text/plain", body=None),
            id="no body, Content-Type text/plain",
        ),
        pytest.param(
            BadRequest("POST", "/v1/fill", authorization=OUR_KEY, content_type="application/pdf", body="", base64=True),
            id="an empty base64 body, Content-Type application/pdf",
        ),
        pytest.param(
            BadRequest("POST", "/v1/stock/movements", authorization=OUR_KEY, body="1" * 4301),
            id="a body that is a 4301-digit number",
        ),
        pytest.param(
            BadRequest("PUT", "/v1/shop", authorization=OUR_KEY, body='{"line_policy": ' + "9" * 5000 + "}"),
            id="a field that is a 5000-digit number",
        ),
    ],
)
def test_bad_requests_the_generator_found_are_not_a_5xx(seeded, request_):
    assert_the_input_rules_hold(seeded, request_)
