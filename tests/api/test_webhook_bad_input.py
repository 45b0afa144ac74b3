"""No webhook delivery is a 5xx, a refused one writes nothing, and a genuine one is
either applied or listed as rejected (docs/decisions.md 69; PRODUCT.md: "A 5xx means a
bug in the service, never in the request").

Both webhook routes (``POST /webhooks/shopify/{shop}``, ``POST /webhooks/woocommerce/{shop}``)
get deliveries generated from the platforms' documented payloads (``tests/fixtures/webshops``),
sent to the real webhook function and then, over the table stream, to the real allotter:

- *not genuine*: no signature, an empty, blank, huge, non-base64 or forged one (another
  secret, another body, hex, the URL-safe alphabet, the other platform's header), a
  body changed after signing, a Shopify domain or WooCommerce source that is not the
  shop's, a shop with no integration or a path segment that is no shop at all (any text,
  percent-encoded), another platform or method, a base64 flag on a body that is not
  base64; each with odd bodies too (not UTF-8, empty, over the size limit);
- *genuine* (signed with the shop's secret, as the platform signs): every topic of both
  platforms (Shopify ``orders/create``, ``orders/updated``, ``orders/cancelled``,
  ``refunds/create``, ``fulfillments/create``; WooCommerce ``order.created``,
  ``order.updated``, ``order.deleted``) and unknown topics, with the payload mutated:
  fields dropped or null, ids as floats, text, booleans or huge, quantities negative,
  huge, fractional, ``NaN`` or in exponent form, times malformed or without a zone,
  unknown statuses and restock types, line lists that are no lists, lines repeated,
  names and SKUs huge; or the body replaced: JSON that is no object, nested deep, with
  a key twice, ``NaN``, huge numbers, not JSON, not UTF-8, empty, compressible or not up
  to and over the 1 MB limit; sent base64-encoded or not, with optional headers left
  out and a Shopify webhook id of any length; and the WooCommerce ping and bodies
  that nearly are one.

The table is seeded with both shops' orders (the fixtures', already applied, with
stock allotted to them) and an order entered through the native API, so that a
mutated refund, fulfillment or update reaches an order. For every delivery:

- the answer is below 500 (an exception out of the handler is API Gateway's 500), JSON;
- a 401, 404 or 413 is our JSON error and wrote nothing at all; so did a 200
  ``duplicate`` or ``ping``; a 200 is ``{"status": "stored" | "duplicate" | "ping"}``;
- the stream is then delivered to the allotter (``api.deliver_stream`` asserts that it
  reports no batch item failures), after which every stored delivery is ``applied`` or
  ``rejected``, and each rejected one is listed at ``GET /v1/webhooks/rejected`` with a
  reason; the shop's reads of its orders still answer below 500;
- a genuine delivery of 1 MB or less is 200 (stored, or a duplicate), one over 413;
  a forged one is 401 (404 on a path that is no webhook route).

The table is put back as seeded after each delivery. ``BAD_INPUT_EXAMPLES`` sets the
deliveries per test (default 40: about 30 s for the file on one core while it passes;
a failure costs minutes of shrinking), as for ``test_generated_bad_input.py``;
``--hypothesis-show-statistics`` tells where deliveries ended (status, applied, the
reasons of rejections). The deliveries the generator found bugs with are kept as
plain cases at the end.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import os
import random
import re
import string
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import webhooks_handler
from backorders.domain.inputs import identifier
from localcloud.apigateway import HttpRoute, Router, event_path
from localcloud.moto_patches import patched_moto
from tests.api.conftest import OTHER_SHOP, REGION, SHOP, lambda_context
from tests.api.test_generated_bad_input import restore, table_now
from tests.api.test_webhooks import SHOPIFY_ORDER, Hooks, hooks, receive  # noqa: F401 - hooks is a fixture
from tests.support import bad_input
from tests.support.bad_input import Nested, Pairs, Raw, to_json
from tests.support.events import http_event, order_body, order_line
from tests.support.webshops import (
    SHOPIFY_DOMAIN,
    SHOPIFY_SECRET,
    WOO_SECRET,
    WOO_SITE,
    payload,
    shopify_body,
    shopify_headers,
    signed,
    woo_body,
    woo_headers,
)

DELIVERIES_PER_TEST = int(os.environ.get("BAD_INPUT_EXAMPLES", "40"))
MAX_BODY_BYTES = 1024 * 1024  # decision 69: "bodies up to 1 MB are taken"
MAX_STORED_BYTES = 350 * 1024  # ... and stored compressed, in one item
WOO_ORDER = "727"
NATIVE_ORDER = "812"  # entered through the native API: a webshop delivery naming it is rejected

SETTINGS = settings(
    max_examples=DELIVERIES_PER_TEST,
    deadline=None,  # moto's speed varies; the budget is the file's runtime
    # one seeded table per test: each delivery starts from the seed, as `restore` puts back what one wrote
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ------------------------------------------------------------------ the request


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook request as API Gateway hands it to the function. ``shop`` is the shop
    path segment as text (sent percent-encoded), ``extra`` anything after it; ``body``
    and ``base64`` are the event's ``body`` and ``isBase64Encoded`` (None: left out);
    ``data`` the bytes the platform meant to send (for the size rule)."""

    platform: str
    shop: str
    headers: tuple[tuple[str, str | None], ...]
    body: str | None
    base64: bool | None
    data: bytes = b""
    method: str = "POST"
    extra: str = ""
    spoiled: tuple[str, ...] = field(default=())  # what was made odd, for the report

    def __repr__(self) -> str:
        def short(value: Any) -> str:
            text = repr(value)
            return text if len(text) <= 400 else f"{text[:250]}...{text[-100:]} ({len(value)} long)"

        headers = tuple((name, short(value)) for name, value in self.headers)
        return (
            f"Delivery({self.method!r} /webhooks/{short(self.platform)}/{short(self.shop)}{short(self.extra)}, "
            f"headers={headers}, body={short(self.body)}, base64={self.base64!r}, data={short(self.data)}, "
            f"spoiled={self.spoiled!r})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis prints with this
        printer.text(repr(self))


ROUTER = Router(HttpRoute("WebhookFunction", "POST", f"/webhooks/{p}/{{shop}}") for p in ("shopify", "woocommerce"))


def routed(platform: str, shop: str, extra: str = "", method: str = "POST") -> tuple[str, str, dict[str, str]]:
    """The wire path, and the route key and path parameters as the gateway gives them
    (``$default`` and the segment as sent, for a path it routes to no webhook)."""
    path = f"/webhooks/{quote(platform, safe='')}/{quote(shop, safe='')}{extra}"
    selected = ROUTER.select(method.upper(), event_path(path))
    if selected is None:
        return path, "$default", {"shop": shop}
    return path, selected[0].route_key, selected[1]


def send(delivery: Delivery) -> dict[str, Any]:
    """The webhook function's raw answer; an exception out of it is what API Gateway
    answers 500 for, so it fails the test naming the delivery. A path the gateway routes
    elsewhere still reaches the function (its own check must hold), with the segment
    as its ``shop``."""
    path, route_key, parameters = routed(delivery.platform, delivery.shop, delivery.extra, delivery.method)
    aws_event = http_event(
        "POST", path, None, headers=dict(delivery.headers), route_key=route_key, path_parameters=parameters
    )
    aws_event["requestContext"]["http"]["method"] = delivery.method
    aws_event.pop("body", None)
    if delivery.body is not None:
        aws_event["body"] = delivery.body
        aws_event["headers"]["content-length"] = str(len(delivery.data))
    aws_event.pop("isBase64Encoded", None)
    if delivery.base64 is not None:
        aws_event["isBase64Encoded"] = delivery.base64
    try:
        return webhooks_handler.lambda_handler(aws_event, lambda_context("WebhookFunction"))
    except Exception as exc:
        pytest.fail(f"the webhook function raised {exc!r}: API Gateway answers 500 for {delivery!r}")


# ------------------------------------------------------------------ what the platforms send


@dataclass(frozen=True, slots=True)
class Kind:
    """A kind of delivery: the platform, its topic header, which payload it carries
    (``READ``) and a name for the report."""

    platform: str
    topic: str
    fixture: str
    name: str


NEW_SHOPIFY_ORDER = int(SHOPIFY_ORDER) + 1
NEW_WOO_ORDER = 729


def _shopify_order(name: str) -> dict[str, Any]:
    data = payload("shopify-orders-create.json")
    if name == "new":
        data["id"] = NEW_SHOPIFY_ORDER
    if name == "edited":  # one black unit fewer, an hour on
        data["updated_at"] = "2026-11-30T13:53:11-05:00"
        data["line_items"][1]["current_quantity"] = 2
    if name == "cancelled":
        data["updated_at"] = data["cancelled_at"] = "2026-11-30T14:00:00-05:00"
    return data


def _woo_order(name: str) -> dict[str, Any]:
    data = payload("woocommerce-order-created.json")
    if name == "new":
        data |= {"id": NEW_WOO_ORDER, "number": str(NEW_WOO_ORDER)}
    if name == "completed":  # what is allotted ships
        data |= {"status": "completed", "date_modified_gmt": "2026-12-01T09:00:00"}
    if name == "edited":  # one unit fewer of the first line, a line more
        data["date_modified_gmt"] = "2026-11-30T19:00:00"
        data["line_items"][0]["quantity"] = 1
        data["line_items"].append(data["line_items"][1] | {"id": 317, "sku": "IPOD2008GREEN", "quantity": 2})
    if name == "deleted":
        return {"id": data["id"]}
    return data


KINDS = {  # what the seeded table makes of each: a new order, a change to a stored one, a refund of it ...
    Kind("shopify", "orders/create", "order", "new"): lambda: _shopify_order("new"),
    Kind("shopify", "orders/create", "order", "again"): lambda: _shopify_order("again"),
    Kind("shopify", "orders/updated", "order", "edited"): lambda: _shopify_order("edited"),
    Kind("shopify", "orders/cancelled", "order", "cancelled"): lambda: _shopify_order("cancelled"),
    Kind("shopify", "refunds/create", "refund", "refund"): lambda: payload("shopify-refunds-create.json"),
    Kind("shopify", "fulfillments/create", "fulfillment", "sent"): lambda: payload("shopify-fulfillments-create.json"),
    Kind("shopify", "orders/paid", "order", "unknown topic"): lambda: _shopify_order("new"),
    Kind("woocommerce", "order.created", "woo order", "new"): lambda: _woo_order("new"),
    Kind("woocommerce", "order.updated", "woo order", "edited"): lambda: _woo_order("edited"),
    Kind("woocommerce", "order.updated", "woo order", "completed"): lambda: _woo_order("completed"),
    Kind("woocommerce", "order.deleted", "id", "deleted"): lambda: _woo_order("deleted"),
    Kind("woocommerce", "order.restored", "woo order", "unknown topic"): lambda: _woo_order("new"),
}
KIND_LIST = sorted(KINDS, key=lambda kind: (kind.platform, kind.topic, kind.name))
UNKNOWN_TOPICS = ["", " ", "ORDERS/CREATE", "orders/create ", "order.created", "orders/delete", "refunds/update",
                  "app/uninstalled", "action.woocommerce_order_status_changed", "order.*", "\u00e9"]  # fmt: skip


def platform_body(platform: str, data: Any) -> bytes:
    """The bytes a platform writes for ``data`` (which may hold ``bad_input``'s raw JSON)."""
    if _plain(data):
        return shopify_body(data) if platform == "shopify" else woo_body(data)
    text = to_json(data, ascii_only=True)
    return (text if platform == "shopify" else text.replace("/", "\\/")).encode()


def _plain(value: Any) -> bool:
    if isinstance(value, Raw | Pairs | Nested):
        return False
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return not isinstance(value, float)  # nan and inf: let to_json write them as the platforms might


def genuine_headers(platform: str, body: bytes, topic: str | None, webhook_id: str | None) -> dict[str, str]:
    """Every header the platform sends, signed with the shop's secret."""
    if platform == "shopify":
        headers = shopify_headers(body, topic or "", webhook_id=webhook_id)
        if webhook_id is not None:
            headers["X-Shopify-Webhook-Id"] = webhook_id
    else:
        headers = woo_headers(body, topic or "")
    if topic is None:
        headers.pop("X-Shopify-Topic" if platform == "shopify" else "X-WC-Webhook-Topic")
    return headers


def signed_delivery(platform: str, topic: str, body: bytes, *, webhook_id: str | None = None) -> Delivery:
    """A genuine delivery of ``body`` as the platform sends it."""
    headers = genuine_headers(platform, body, topic, webhook_id)
    event_body, flag = bad_input.as_aws_sends(body, headers["Content-Type"])
    return Delivery(platform, SHOP, tuple(headers.items()), event_body, flag, body)


SIGNATURE_HEADER = {"shopify": "X-Shopify-Hmac-Sha256", "woocommerce": "X-WC-Webhook-Signature"}
SECRET = {"shopify": SHOPIFY_SECRET, "woocommerce": WOO_SECRET}

# ------------------------------------------------------------------ mutated payloads

# the places of each payload the service reads ("*": every element of a list)
READ: dict[str, list[tuple[str, ...]]] = {  # a place listed twice is drawn twice as often
    "order": [
        ("id",), ("created_at",), ("updated_at",), ("cancelled_at",), ("name",), ("order_number",),
        ("fulfillment_status",), ("email",), ("contact_email",), ("customer",), ("customer", "id"),
        ("customer", "first_name"), ("customer", "last_name"), ("customer", "email"), ("billing_address",),
        ("billing_address", "first_name"), ("line_items",), ("line_items", "*"), ("line_items", "*", "id"),
        ("line_items", "*", "sku"), ("line_items", "*", "price"), ("line_items", "*", "quantity"),
        ("line_items", "*", "current_quantity"), ("line_items", "*", "current_quantity"),
        ("line_items", "*", "gift_card"), ("line_items", "*", "requires_shipping"),
    ],
    "refund": [
        ("id",), ("order_id",), ("created_at",), ("refund_line_items",), ("refund_line_items", "*"),
        ("refund_line_items", "*", "line_item_id"), ("refund_line_items", "*", "quantity"),
        ("refund_line_items", "*", "restock_type"), ("refund_line_items", "*", "restock_type"),
    ],
    "fulfillment": [
        ("id",), ("order_id",), ("status",), ("status",), ("line_items",), ("line_items", "*"),
        ("line_items", "*", "id"), ("line_items", "*", "quantity"), ("line_items", "*", "quantity"),
    ],
    "woo order": [
        ("id",), ("status",), ("status",), ("date_created_gmt",), ("date_modified_gmt",), ("number",),
        ("customer_id",), ("billing",), ("billing", "first_name"), ("billing", "email"), ("line_items",),
        ("line_items", "*"), ("line_items", "*", "id"), ("line_items", "*", "sku"), ("line_items", "*", "quantity"),
        ("line_items", "*", "quantity"), ("line_items", "*", "price"),
    ],
    "id": [("id",)],
}  # fmt: skip
ID_FIELDS = {"id", "order_id", "line_item_id", "customer_id"}
QUANTITY_FIELDS = {"quantity", "current_quantity"}
TIME_FIELDS = {"created_at", "updated_at", "cancelled_at", "date_created_gmt", "date_modified_gmt"}
LIST_FIELDS = {"line_items", "refund_line_items"}
OBJECT_FIELDS = {"customer", "billing", "billing_address"}
FLAG_FIELDS = {"gift_card", "requires_shipping"}
FIELD_NAMES = sorted({str(step) for paths in READ.values() for path in paths for step in path if step != "*"})

HUGE_TEXT = st.builds(lambda unit, times: unit * times, st.sampled_from(["x", "\u00e9", "\U0001f600"]),
                      st.sampled_from([65, 1000, 100_000, 300_000, 450_000]))  # fmt: skip
ids = st.one_of(
    st.sampled_from([SHOPIFY_ORDER, int(SHOPIFY_ORDER), float(SHOPIFY_ORDER), int(SHOPIFY_ORDER) + 1, WOO_ORDER,
                     int(WOO_ORDER), 728, NATIVE_ORDER, int(NATIVE_ORDER), 866550311766439020, 141249953214522974,
                     "866550311766439020", 315, "316", 0, -1, 2**63, 2**64, 10**30, 1.5, 727.0, True, False, "", " ",
                     "x" * 64, "x" * 65, "a/b", "a#b", "\u200b", "727\u200b", "e\u0301", [], {}, [727], {"id": 727}]),
    st.sampled_from(["1e400", "727.0", "7.27e2", "NaN", "-0", "1" + "0" * 4400]).map(Raw),
    bad_input.odd_identifiers,
    bad_input.wild_text,
    st.integers(),
)  # fmt: skip
quantities = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 3, 4, 40, 9998, 10**9 - 1, 10**9, -(10**9), 2**63, 10**200, 1.5, 2.5, True, None,
                     "1", "3", " 2 ", "-1", "", "x", "1.0", "1e3", "sNaN", "NaN", "Infinity", "-Infinity",
                     "1e999999999", "1e-999999999", "1E+999999999999999999", "\u0663", "1_0", [], {}, [1]]),
    st.sampled_from(["1e400", "1e1000000", "1E+999999999999999999", "2.0", "1e2", "-0", "NaN", "Infinity"]).map(Raw),
    st.integers(-20_000, 20_000),
)  # fmt: skip
times = st.one_of(
    bad_input.times,
    st.sampled_from(["", " ", "yesterday", "2026-11-30T12:53:11", "2026-11-30T13:53:11", "2026-11-30",
                     "2026-12-01T09:00:00+00:00", "2026-11-30T18:22:10Z", "2026-11-30T18:22:10-05:00", "9999-12-31",
                     "2026-11-30T25:00:00", "2026-11-30T12:53:11+99:00", 1764525191, 1.5, True, [], {}]),
    HUGE_TEXT,
)  # fmt: skip
statuses = st.sampled_from(["processing", "on-hold", "completed", "refunded", "pending", "failed", "checkout-draft",
                            "draft", "cancelled", "trash", "success", "failure", "error", "open", "fulfilled",
                            "partial", "voided", "Processing", "wc-processing", " processing", "refunded ",
                            "", None, 5, True, [], {}])  # fmt: skip
restock_types = st.sampled_from(["return", "cancel", "no_restock", "legacy_restock", "restock", "RETURN", "return ",
                                 "", None, 0, True, ["return"], {"type": "return"}])  # fmt: skip
skus = st.one_of(
    st.sampled_from(["IPOD2008PINK", "IPOD2008BLACK", "IPOD2008GREEN", "WOO-SINGLE-1", "NEW-SKU-1", "ipod2008pink",
                     "IPOD2008PINK ", "", " ", None, 5, True, [], {}, "A/B", "A#B", "\u200b", "x" * 65]),
    bad_input.odd_identifiers,
    bad_input.wild_text,
    HUGE_TEXT,
)  # fmt: skip
texts = st.one_of(st.sampled_from(["", None, 5, True, [], {}, "#1001"]), bad_input.json_text, HUGE_TEXT)
objects = st.one_of(
    st.sampled_from([None, {}, [], "x", 5, {"id": None}, {"id": 727}, {"id": 1.5}, {"id": "x" * 65}, {"id": True}]),
    st.dictionaries(st.sampled_from(["id", "email", "first_name", "last_name", "name"]), bad_input.json_values),
)  # fmt: skip
flags = st.sampled_from([True, False, None, "false", 0, 1, "", [], {}])


@st.composite
def line_lists(draw: st.DrawFn, lines: Any) -> Any:
    """A line list that is no list, holds no objects, or repeats, multiplies or drops lines."""
    real = lines if isinstance(lines, list) else []
    some = st.sampled_from(real) if real else st.just({})
    return draw(
        st.one_of(
            st.sampled_from([None, {}, "x", 5, True, [1, 2], [[]], [None], [{}], ["line"], []]),
            st.builds(lambda line, n: [copy.deepcopy(line) for _ in range(n)], some, st.sampled_from([2, 40, 41, 200])),
            st.just(real + real),  # every line twice (the same line ids)
            st.just(real[::-1]),
            st.just(real[1:]),
            st.lists(bad_input.json_values, max_size=3),
        )
    )


def values_for(name: str | int, here: Any) -> st.SearchStrategy[Any]:
    """Bad values for a field of this name (an int: a list's element)."""
    if isinstance(name, int):  # a line
        return st.one_of(objects, bad_input.json_values, st.just({"id": 990000000000000001, "sku": "NEW-SKU-1"}))
    if name in ID_FIELDS:
        return ids
    if name in QUANTITY_FIELDS:
        return quantities
    if name in TIME_FIELDS:
        return times
    if name in LIST_FIELDS:
        return line_lists(here)
    if name in OBJECT_FIELDS:
        return objects
    if name in FLAG_FIELDS:
        return flags
    if name == "sku":
        return skus
    if name in ("status", "fulfillment_status", "financial_status"):
        return statuses
    if name == "restock_type":
        return restock_types
    if name == "price":
        return st.one_of(quantities, st.sampled_from(["-1.00", "199.00", "1e9", "0.00001", "12,50", "$1"]))
    return texts


def _read_paths(tree: Any, read: list[tuple[str, ...]]) -> list[bad_input.Path]:
    def pattern(at: bad_input.Path) -> tuple[str, ...]:
        return tuple("*" if isinstance(step, int) else str(step) for step in at)

    return [at for at in bad_input.places(tree) if at for _ in range(read.count(pattern(at)))]


@st.composite
def mutated_payloads(draw: st.DrawFn, data: Any, fixture: str) -> Any:
    """The payload with one to three mutations: a place the service reads dropped, set
    to null or given a bad value of its kind; or (``bad_input.mutated_json``) any
    place dropped, replaced, retyped, nested deep, repeated or written twice."""
    tree = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = _read_paths(tree, READ.get(fixture, []))
        if not paths or draw(st.integers(0, 3)) == 0:
            tree = draw(bad_input.mutated_json(tree, FIELD_NAMES))
            if not isinstance(tree, dict | list):
                break
            continue
        at = draw(st.sampled_from(paths))
        how = draw(st.sampled_from(["drop", "null", "value", "value", "value", "value"]), label="how")
        if how == "drop":
            tree = bad_input._drop(tree, at)
        else:
            value = None if how == "null" else draw(values_for(at[-1], bad_input._get(tree, at)))
            tree = bad_input._put(tree, at, value)
    return tree


# ------------------------------------------------------------------ raw bodies

RAW_JSON = [
    "[1, 2]", "[]", "null", "true", "0", '"text"', "{}", '{"id": NaN}', '{"id": Infinity}', '{"id": 1e400}',
    '{"id": ' + "9" * 5000 + "}", '{"id": 727, "id": 728}', '{"line_items": [' + "[" * 100 + "]" * 100 + "]}",
    "{", '{"id": 727', "\ufeff{}", "{'id': 727}", '{"id": 727} x', '{"": {"": {"": null}}}',
]  # fmt: skip


@st.composite
def raw_bodies(draw: st.DrawFn, data: Any) -> bytes:
    """A body that is not the platform's JSON object: JSON of another shape, nested deep,
    not JSON, not UTF-8, empty, or of a size around the limits."""
    valid = json.dumps(data)
    way = draw(st.sampled_from(["json", "json", "nested", "text", "bytes", "size"]), label="raw")
    if way == "json":
        return draw(st.sampled_from(RAW_JSON) | bad_input.json_values.map(to_json)).encode()
    if way == "nested":  # JSON the parser gives up on (Python's recursion limit) or nearly does
        depth = draw(st.sampled_from([100, 900, 1000, 5000, 100_000]))
        in_objects = draw(st.booleans())
        return (
            to_json(data if depth < 1000 else 1, ascii_only=True)
            .join([('{"a": ' if in_objects else "[") * depth, ("}" if in_objects else "]") * depth])
            .encode()
        )
    if way == "text":
        return draw(bad_input.raw_texts(valid)).encode("utf-8", errors="surrogatepass")
    if way == "bytes":
        return draw(bad_input.raw_bytes(valid))
    return draw(sized_bodies(data))


@st.composite
def sized_bodies(draw: st.DrawFn, data: Any) -> bytes:
    """The payload grown to about the 1 MB limit (one byte under, at, one over), or to
    where it no longer fits in one table item once compressed (350 KB): by white
    space (compressible) or a field of random text (not)."""
    size = draw(st.sampled_from([360 * 1024, 600 * 1024, MAX_BODY_BYTES - 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1]))
    valid = json.dumps(data).encode()
    if draw(st.booleans()):
        return valid + b" " * max(size - len(valid), 0)
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))  # incompressible, and cheap to draw
    filler = "".join(rng.choices(string.ascii_letters + string.digits, k=max(size - len(valid) - 12, 0)))
    grown = dict(data) if isinstance(data, dict) else {"data": data}
    grown["note"] = filler
    body = json.dumps(grown).encode()
    return body + b" " * max(size - len(body), 0)


PINGS = [b"webhook_id=31", b"webhook_id=0", b" webhook_id=31\n", b"webhook_id=" + b"9" * 5000, b"webhook_id=",
         b"webhook_id=-1", b"webhook_id=31&x=1", b"WEBHOOK_ID=31", b"webhook_id=\xd9\xa3", b"webhook_id=31\x00",
         b"webhook_id[]=31", b"webhook%5Fid=31", b"webhook_id=3 1"]  # fmt: skip


def is_ping(body: bytes) -> bool:
    """WooCommerce's ping as it sends it: ``webhook_id=<digits>``, white space around."""
    return re.fullmatch(rb"\s*webhook_id=[0-9]+\s*", body) is not None


# ------------------------------------------------------------------ genuine deliveries

HEADER_TEXT = st.one_of(
    st.sampled_from(["", " ", "x" * 900, "x" * 990, "x" * 1000, "x" * 1010, "x" * 2000, "x" * 10_000, "\U0001f600"]),
    bad_input.header_text,
)
ODD_CONTENT_TYPES = ["application/json", "application/x-www-form-urlencoded", "text/plain", "application/octet-stream"]


def _encoded(draw: st.DrawFn, data: bytes, content_type: str | None, spoiled: set[str]) -> tuple[str, bool]:
    """The event's body as API Gateway hands it on: base64 for a body that is not text
    (or, at times, for one that is: a gateway may), text otherwise."""
    body, flag = bad_input.as_aws_sends(data, content_type)
    if not flag and draw(st.integers(0, 5)) == 0:
        spoiled.add("base64")
        return base64.b64encode(data).decode("ascii"), True
    return body, flag


@dataclass(frozen=True, slots=True)
class Genuine:
    delivery: Delivery
    ping: bool = False  # the body is WooCommerce's ping (answered before any signature)
    too_large: bool = False  # over 1 MB, or over what one item holds compressed: 413


def too_large(body: bytes) -> bool:
    """Whether a genuine body is refused 413: over 1 MB, or too big to store even compressed."""
    return len(body) > MAX_BODY_BYTES or len(zlib.compress(body, 6)) > MAX_STORED_BYTES


@st.composite
def genuine_deliveries(draw: st.DrawFn) -> Genuine:
    """A delivery signed with the shop's secret, its headers as the platform sends them
    (some optional ones left out, some odd but still the shop's), its content mutated."""
    kind = draw(st.sampled_from(KIND_LIST), label="kind")
    data = KINDS[kind]()
    spoiled: set[str] = set()
    topic: str | None = kind.topic
    if draw(st.integers(0, 7)) == 0:
        spoiled.add("topic")
        topic = draw(st.sampled_from([*UNKNOWN_TOPICS, None]) | bad_input.header_text)
    way = draw(st.sampled_from(["payload"] * 5 + ["raw", "ping", "as is"]), label="way")
    spoiled.add(way)
    if way == "payload":
        data = draw(mutated_payloads(data, kind.fixture))
    body = platform_body(kind.platform, data)
    if way == "raw":
        body = draw(raw_bodies(data))
    if way == "ping":
        kind = Kind("woocommerce", topic or "", "ping", "ping")
        body = draw(st.sampled_from(PINGS))
    webhook_id = None
    if kind.platform == "shopify" and draw(st.booleans()):
        spoiled.add("webhook id")
        webhook_id = draw(HEADER_TEXT)
    headers: dict[str, str | None] = dict(genuine_headers(kind.platform, body, topic, webhook_id))
    if way == "ping" and is_ping(body) and draw(st.booleans()):
        headers = {"User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"}  # the ping comes unsigned
    headers["Content-Type"] = "application/x-www-form-urlencoded" if way == "ping" else "application/json"
    if draw(st.integers(0, 3)) == 0:
        spoiled.add("headers")
        still = {  # odd, and still the shop's
            "X-Shopify-Shop-Domain": [SHOPIFY_DOMAIN.upper(), f" {SHOPIFY_DOMAIN} "],
            "X-WC-Webhook-Source": [WOO_SITE, WOO_SITE.upper() + "//", f" {WOO_SITE}/ "],
            SIGNATURE_HEADER[kind.platform]: [f" {signed(body, SECRET[kind.platform])} "],
            "Content-Type": [*ODD_CONTENT_TYPES, None],
        }
        for name in sorted(draw(st.sets(st.sampled_from(sorted(headers)), max_size=3))):
            if name not in ("X-Shopify-Hmac-Sha256", "X-WC-Webhook-Signature", "X-Shopify-Shop-Domain"):
                headers[name] = None  # an optional header left out
        for name in sorted(draw(st.sets(st.sampled_from(sorted(still)), max_size=2))):
            if name in headers or name == "Content-Type":
                headers[name] = draw(st.sampled_from(still[name]))
        for name in ("X-Shopify-Event-Id", "X-Shopify-Triggered-At", "X-WC-Webhook-Delivery-ID"):
            if name in headers and draw(st.integers(0, 3)) == 0:
                headers[name] = draw(HEADER_TEXT)
    content_type = headers.get("Content-Type")
    event_body, flag = _encoded(draw, body, content_type, spoiled)
    delivery = Delivery(kind.platform, SHOP, tuple(headers.items()), event_body, flag, body,
                        method=draw(st.sampled_from(["POST", "POST", "POST", "post"])),
                        spoiled=(f"{kind.platform} {kind.topic} ({kind.name})", *sorted(spoiled)))  # fmt: skip
    return Genuine(delivery, ping=kind.platform == "woocommerce" and is_ping(body), too_large=too_large(body))


# ------------------------------------------------------------------ deliveries that are not genuine

FORGED_SIGNATURES = st.one_of(
    st.sampled_from([None, "", " ", "=", "====", "not base64!", "bm90IHRoZSBzaWduYXR1cmU=", "A" * 44, "A" * 43 + "=",
                     "x" * 10_000, "sha256=", "\U0001f600", "null", "undefined"]),
    bad_input.header_text,
    st.binary(min_size=32, max_size=32).map(lambda raw: base64.b64encode(raw).decode()),
)  # fmt: skip
WRONG_DOMAINS = st.one_of(
    st.sampled_from([None, "", "someone-else.myshopify.com", "acme-books.myshopify.com.evil.example",
                     "acme-books", "https://acme-books.myshopify.com", "acme-books.myshopify.com/",
                     "xn--acme-books.myshopify.com", "acme-b\u00f6oks.myshopify.com"]),
    bad_input.header_text,
).filter(lambda domain: (domain or "").strip().lower() != SHOPIFY_DOMAIN)  # fmt: skip
WRONG_SOURCES = st.one_of(
    st.sampled_from(["https://evil.example.org/", "http://shop.example.org", "https://shop.example.org/shop",
                     "https://shop.example.org.evil/", "shop.example.org", "https://shop.example.org:8443/", "x"]),
    bad_input.header_text.map(lambda text: text if text.strip() else f"x{text}"),  # blank: as if not sent
)  # fmt: skip
PLATFORMS = ["Shopify", "SHOPIFY", "shopify ", "woo", "woocommerce/x", "magento", "", "..", "%", "\u00e9"]


def _not_our_shop(text: str) -> bool:
    """Whether the shop path segment ``text`` (any text, sent percent-encoded) names
    another shop than ours, as the gateway splits the path."""
    try:
        return identifier(routed("shopify", text)[2]["shop"]) != SHOP
    except ValueError:
        return True


def _forged_signature(draw: st.DrawFn, platform: str, body: bytes) -> str | None:
    """A signature that does not hold for ``body`` under the shop's secret."""
    right = signed(body, SECRET[platform])
    forged = draw(
        st.one_of(
            FORGED_SIGNATURES,
            st.sampled_from(
                [
                    signed(body, SECRET["woocommerce" if platform == "shopify" else "shopify"]),  # the other platform's
                    signed(body, SECRET[platform] + " "),
                    signed(body + b" ", SECRET[platform]),
                    signed(b"", SECRET[platform]),
                    hmac.new(SECRET[platform].encode(), body, hashlib.sha256).hexdigest(),
                    base64.urlsafe_b64encode(hmac.new(SECRET[platform].encode(), body, hashlib.sha256).digest())
                    .decode()
                    .rstrip("="),
                    right.lower() if right.lower() != right else right.upper(),
                    right[:-2],
                    right + "x",
                    right.replace("=", ""),
                    base64.b64encode(hmac.new(SECRET[platform].encode(), body, hashlib.sha1).digest()).decode(),
                ]
            ),
        )
    )
    return None if forged is None or forged.strip() == right else forged


@st.composite
def forged_deliveries(draw: st.DrawFn) -> Delivery:
    """A delivery that is not genuine for the shop: one to three ways, each of which
    alone refuses it."""
    kind = draw(st.sampled_from(KIND_LIST), label="kind")
    data = KINDS[kind]()
    body = platform_body(kind.platform, data)
    ways = ["signature", "signature", "shop", "shop", "changed", "encoding", "route"]
    ways += ["domain", "domain"] if kind.platform == "shopify" else ["source", "source"]
    spoiled = {draw(st.sampled_from(ways), label="way")}
    while len(spoiled) < 3 and draw(st.integers(0, 3)) == 3:
        spoiled.add(draw(st.sampled_from(ways)))
    if draw(st.integers(0, 3)) == 0:  # an odd body too, signed as it is (or not: see the ways)
        spoiled.add("odd body")
        body = draw(
            raw_bodies(data) | mutated_payloads(data, kind.fixture).map(lambda tree: platform_body(kind.platform, tree))
        )
        if is_ping(body):  # the ping is answered unsigned: not a forgery
            body = b"webhook_id=x"
    headers: dict[str, str | None] = dict(genuine_headers(kind.platform, body, kind.topic, None))
    sent = body
    shop, platform, method, extra = SHOP, kind.platform, "POST", ""
    if "signature" in spoiled:
        headers[SIGNATURE_HEADER[kind.platform]] = _forged_signature(draw, kind.platform, body)
        if draw(st.integers(0, 4)) == 0:  # signed, but under the other platform's header name
            other = SIGNATURE_HEADER["woocommerce" if kind.platform == "shopify" else "shopify"]
            headers[other] = signed(body, SECRET[kind.platform])
    if "domain" in spoiled:
        headers["X-Shopify-Shop-Domain"] = draw(WRONG_DOMAINS)
    if "source" in spoiled:
        headers["X-WC-Webhook-Source"] = draw(WRONG_SOURCES)
    if "shop" in spoiled:
        shop = draw(
            st.sampled_from([OTHER_SHOP, "AACME", "aacme ", " aacme", "aacme\u200b", "bbooks", "nobody"])
            | bad_input.wild_text.filter(_not_our_shop)
            | bad_input.odd_identifiers.filter(_not_our_shop)
        )
    if "changed" in spoiled:  # the body changed after it was signed
        sent = draw(
            st.sampled_from([body + b" ", body[:-1], b" " + body, body.replace(b"727", b"728"), b"", b"{}"])
            | raw_bodies(data)
        )
        if sent == body or is_ping(sent):
            sent = body + b"\n"
    if "route" in spoiled:
        route = draw(st.sampled_from(["platform", "method", "extra"]))
        if route == "platform":
            platform = draw(
                st.sampled_from(PLATFORMS) | bad_input.wild_text.map(lambda t: t if t.strip("/") else f"x{t}")
            )
            if platform in ("shopify", "woocommerce"):
                platform = "magento"
        elif route == "method":
            method = draw(st.sampled_from(["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "", "P0ST"]))
        else:
            extra = draw(st.sampled_from(["/x", "/orders", "/x/y", "/..", "/%2E%2E", "/%2Fx"]))
    content_type = headers.get("Content-Type")
    if "encoding" in spoiled:  # a base64 flag on a body that is not base64
        text = sent.decode("utf-8", errors="replace")
        if re.fullmatch(r"[A-Za-z0-9+/=]*", text):  # would decode: make it not base64
            text += "!"
        event_body, flag = draw(
            st.sampled_from([(text, True), ("!!!!", True), ("{}", True), (base64.b64encode(sent).decode() + "!", True),
                             ("%%%%", True)])
        )  # fmt: skip
    else:
        event_body, flag = bad_input.as_aws_sends(sent, content_type)
    return Delivery(platform, shop, tuple(headers.items()), event_body, flag, sent, method=method, extra=extra,
                    spoiled=(f"{kind.platform} {kind.topic} ({kind.name})", *sorted(spoiled)))  # fmt: skip


# ------------------------------------------------------------------ the seeded table


@dataclass(frozen=True, slots=True)
class Seeded:
    api: Any
    items: list[dict[str, Any]]  # the table as seeded: each delivery starts from it


@pytest.fixture
def seeded(hooks: Hooks, api: Any) -> Iterator[Seeded]:  # noqa: F811 - hooks is the fixture imported above
    """Both integrations (the ``hooks`` fixture), the fixtures' Shopify and WooCommerce
    orders applied with stock allotted to them, and an order entered through the native
    API; with the local cloud's moto patches, as the API's bad-input test."""
    with patched_moto():
        assert api("POST", "/v1/orders", order_body(NATIVE_ORDER, order_line("IPOD2008GREEN", 1))).status == 201
        assert hooks.shopify("orders/create", payload("shopify-orders-create.json")).status == 200
        assert hooks.woo("order.created", payload("woocommerce-order-created.json")).status == 200
        for n, (sku, units) in enumerate([("IPOD2008PINK", 2), ("IPOD2008BLACK", 2), ("WOO-SINGLE-1", 2)]):
            receive(api, sku, units, f"po-{n}")
        api.deliver_stream()
        items = table_now(api)
        assert sum(1 for item in items if item["sk"]["S"].startswith("DELIVERY#")) == 2
        yield Seeded(api, items)


def skip_stream(api: Any) -> None:
    """Move past the stream records written so far without handing them on: those that
    putting the table back as seeded wrote."""
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )
    arn = api.account.dynamodb.describe_table(TableName=api.table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    while True:
        position: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
        if api.stream_position is not None:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": api.stream_position}
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, **position)["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
        if not records:
            return
        api.stream_position = records[-1]["dynamodb"]["SequenceNumber"]


# ------------------------------------------------------------------ the rules

ANSWERS = {"stored", "duplicate", "ping"}
READS = [f"/v1/orders/{SHOPIFY_ORDER}", f"/v1/orders/{WOO_ORDER}", f"/v1/orders/{NATIVE_ORDER}", "/v1/backorders"]


def _answer_of(answer: dict[str, Any], delivery: Delivery) -> Any:
    headers = {str(name).lower(): str(value) for name, value in (answer.get("headers") or {}).items()}
    assert headers.get("content-type", "").startswith("application/json"), f"not JSON: {answer} for {delivery!r}"
    try:
        return json.loads(answer.get("body") or "")
    except ValueError:
        pytest.fail(f"an answer whose body is not JSON: {answer} for {delivery!r}")


def note(text: str) -> None:
    """Where deliveries ended, for ``--hypothesis-show-statistics`` (plain tests: nowhere)."""
    if currently_in_test_context():
        event(text)


def _deliveries(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["pk"]["S"], i["sk"]["S"]): i for i in items if i["sk"]["S"].startswith("DELIVERY#")}


def assert_the_webhook_rules_hold(seeded: Seeded, delivery: Delivery) -> tuple[int, Any, list[str]]:
    """The answer is below 500 and JSON; a 401/404/413, a duplicate and a ping wrote
    nothing; after the stream is delivered (no batch item failures), every delivery
    stored is applied or rejected and listed. The table is then put back as seeded.
    Returns the status, the answer and what became of the deliveries stored."""
    api, after = seeded.api, None
    try:
        answer = send(delivery)
        status = answer["statusCode"]
        assert status in (200, 401, 404, 413), f"{status} for {delivery!r}: {answer.get('body')}"
        body = _answer_of(answer, delivery)
        after = table_now(api)
        if status == 200:
            assert isinstance(body, dict) and set(body) == {"status"} and body["status"] in ANSWERS, body
            if body["status"] != "stored":
                assert after == seeded.items, f"a 200 {body['status']} wrote to the table: {delivery!r}"
        else:
            assert isinstance(body, dict) and {"error", "message", "field"} <= body.keys(), body
            assert isinstance(body["error"], str) and body["error"] and isinstance(body["message"], str), body
            assert body["field"] is None or isinstance(body["field"], str), body
            assert after == seeded.items, f"a {status} answer wrote to the table: {delivery!r}"
        if after == seeded.items:
            return status, body, []
        after = None  # the allotter writes next
        api.deliver_stream()  # asserts that the allotter reports no batch item failures
        after = table_now(api)
        states = assert_each_delivery_is_applied_or_rejected(seeded, after, delivery)
        for path in READS:  # a stored delivery must not poison the shop's reads
            reread = api("GET", path).status
            assert reread < 500, f"GET {path} answers {reread} after {delivery!r}"
        return status, body, states
    finally:
        if after != seeded.items:
            restore(api, seeded.items, after)
            skip_stream(api)


def assert_each_delivery_is_applied_or_rejected(
    seeded: Seeded, items: list[dict[str, Any]], delivery: Delivery
) -> list[str]:
    """Every delivery stored since the seed is applied, or rejected with its reason and
    listed; their states."""
    stored = _deliveries(items)
    new = {key: item for key, item in stored.items() if key not in _deliveries(seeded.items)}
    assert new, f"a 200 stored with no delivery in the table: {delivery!r}"
    rejections = {
        (i["pk"]["S"], i["key"]["S"]): i["reason"]["S"] for i in items if i["sk"]["S"].startswith("REJECTED#")
    }
    listed = seeded.api("GET", "/v1/webhooks/rejected")
    assert listed.status == 200, listed.body
    shown = {r["delivery"]: r for r in listed.body["rejected"]}
    states = []
    for (pk, _), item in new.items():
        state, key = item["status"]["S"], item["key"]["S"]
        assert state in ("applied", "rejected"), f"delivery {key[:80]!r} is {state!r} after the stream: {delivery!r}"
        states.append(state)
        if state == "rejected":
            assert item.get("reason", {}).get("S"), f"rejected without a reason: {delivery!r}"
            assert rejections.get((pk, key)), f"rejected but not listed: {delivery!r}"
            if len(listed.body["rejected"]) < 100:  # the route's page
                assert key in shown and shown[key]["reason"], f"not at GET /v1/webhooks/rejected: {delivery!r}"
                note(f"rejected: {re.sub(r'[0-9]+', 'N', shown[key]['reason'])[:60]}")
        else:
            note("applied")
    return states


def test_the_quick_read_of_the_table_is_a_full_scan(seeded):
    assert seeded.items == seeded.api.items()


def test_each_kind_as_the_platform_sends_it_is_applied_on_the_seeded_table(seeded):
    """The generators' starting points: each delivery unchanged is stored and applied
    (a topic the service does not take: rejected), so that mutations start from a
    delivery that reaches the service's work."""
    outcomes = {}
    for kind in KIND_LIST:
        delivery = signed_delivery(kind.platform, kind.topic, platform_body(kind.platform, KINDS[kind]()))
        status, answer, states = assert_the_webhook_rules_hold(seeded, delivery)
        outcomes[f"{kind.platform} {kind.topic} ({kind.name})"] = (status, answer, states)
    expected = {
        f"{kind.platform} {kind.topic} ({kind.name})": (
            200, {"status": "stored"}, ["rejected" if kind.name == "unknown topic" else "applied"]
        )
        for kind in KIND_LIST
    }  # fmt: skip
    assert outcomes == expected


@SETTINGS
@given(data=st.data())
def test_a_delivery_that_is_not_genuine_is_refused_and_writes_nothing(seeded, data):
    delivery = data.draw(forged_deliveries(), label="delivery")
    status, body, _ = assert_the_webhook_rules_hold(seeded, delivery)
    assert status in (401, 404), f"{status} {body} for a delivery that is not genuine: {delivery!r}"
    event(f"{status} {body.get('field')}")


@SETTINGS
@given(data=st.data())
def test_a_genuine_delivery_is_stored_and_then_applied_or_rejected_never_a_crash(seeded, data):
    genuine = data.draw(genuine_deliveries(), label="delivery")
    status, body, _ = assert_the_webhook_rules_hold(seeded, genuine.delivery)
    if genuine.ping:
        assert (status, body) == (200, {"status": "ping"}), f"{status} {body} for the ping {genuine.delivery!r}"
    elif genuine.too_large:
        assert status == 413, f"{status} {body} for a genuine delivery over 1 MB: {genuine.delivery!r}"
    else:
        assert status == 200 and body["status"] in ("stored", "duplicate"), f"{status} {body}: {genuine.delivery!r}"
    event(f"{status} {body.get('status') or body.get('error')}")


@SETTINGS
@given(data=st.data())
def test_a_genuine_delivery_sent_twice_is_stored_once(seeded, data):
    """The platforms deliver at least once: the same delivery again is a ``duplicate``
    that writes nothing (it is told apart by the platform's key), before and after the
    first was applied."""
    genuine = data.draw(genuine_deliveries(), label="delivery")
    first = send(genuine.delivery)
    try:
        if first["statusCode"] != 200 or json.loads(first["body"]) != {"status": "stored"}:
            return  # a ping, a duplicate of the seed, or over the limit: the other tests check those
        if data.draw(st.booleans(), label="applied first"):
            seeded.api.deliver_stream()
        before = table_now(seeded.api)
        again = send(genuine.delivery)
        assert (again["statusCode"], json.loads(again["body"])) == (200, {"status": "duplicate"}), again
        assert table_now(seeded.api) == before, f"a duplicate wrote to the table: {genuine.delivery!r}"
        seeded.api.deliver_stream()
        assert_each_delivery_is_applied_or_rejected(seeded, table_now(seeded.api), genuine.delivery)
    finally:
        restore(seeded.api, seeded.items)
        skip_stream(seeded.api)


# ------------------------------------------------------------------ what the generator found, as plain cases


def _with_line(data: dict[str, Any], **fields: Any) -> bytes:
    data["line_items"][0] |= fields
    return json.dumps(data).encode()


def _incompressible(size: int) -> bytes:
    rng = random.Random(7)
    data = payload("shopify-orders-create.json") | {"id": NEW_SHOPIFY_ORDER}
    data["note"] = "".join(rng.choices(string.ascii_letters + string.digits, k=size))
    return json.dumps(data).encode()


FOUND = {
    "a Shopify webhook id of 1,100 characters": signed_delivery(
        "shopify", "orders/create", shopify_body(_shopify_order("new")), webhook_id="x" * 1100
    ),
    "a Shopify webhook id of 990 characters, on a topic it rejects": signed_delivery(
        "shopify", "orders/paid", shopify_body(_shopify_order("new")), webhook_id="x" * 990
    ),
    "a WooCommerce order id of 1,100 characters": signed_delivery(
        "woocommerce", "order.created", woo_body({"id": "x" * 1100, "date_modified_gmt": "2026-11-30T18:22:10"})
    ),
    "a WooCommerce body nested 100,000 deep": signed_delivery("woocommerce", "order.created", b"[" * 100_000),
    "a Shopify body nested 100,000 deep": signed_delivery("shopify", "orders/create", b"[" * 100_000),
    "a Shopify body of 600 KB that does not compress": signed_delivery(
        "shopify", "orders/create", _incompressible(600 * 1024)
    ),
    'a Shopify line quantity "sNaN"': signed_delivery(
        "shopify", "orders/create", _with_line(_shopify_order("new"), current_quantity="sNaN")
    ),
    "a WooCommerce line quantity 1e1000000": signed_delivery(
        "woocommerce",
        "order.created",
        json.dumps(_woo_order("new")).replace('"quantity": 2', '"quantity": 1e1000000', 1).encode(),
    ),
    "a Shopify order name of 450,000 characters": signed_delivery(
        "shopify", "orders/create", shopify_body(_shopify_order("new") | {"name": "x" * 450_000})
    ),
    "a Shopify customer name of 450,000 characters": signed_delivery(
        "shopify",
        "orders/create",
        shopify_body(_shopify_order("new") | {"customer": {"id": 5, "first_name": "x" * 450_000}}),
    ),
    "a Shopify SKU of 450,000 characters": signed_delivery(
        "shopify", "orders/create", _with_line(_shopify_order("new"), sku="x" * 450_000)
    ),
}


@pytest.mark.parametrize("delivery", FOUND.values(), ids=FOUND.keys())
def test_genuine_deliveries_the_generator_found_are_stored_and_applied_or_rejected(seeded, delivery):
    status, body, states = assert_the_webhook_rules_hold(seeded, delivery)
    if too_large(delivery.data):  # stored, it would not fit one item: refused whole, so the platform sees it
        assert (status, body["error"], len(states)) == (413, "too_large", 0)
    else:
        assert (status, body, len(states)) == (200, {"status": "stored"}, 1)
