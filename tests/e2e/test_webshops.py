"""Issue 11's "Done when", through the local cloud over HTTP: a Shopify and a WooCommerce
order, each sent as that platform sends it (its bytes, its headers, its signature), become
backorders and are filled by a restock, visible through the API; a delivery WooCommerce
dropped is recovered by the catch-up, whose schedule reads a stand-in of WooCommerce's
REST API."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import E2E, SHOP
from tests.support.platform_standin import WOO_KEY, WOO_SECRET, PlatformStandin
from tests.support.webshops import (
    SHOPIFY_INTEGRATION,
    WOO_INTEGRATION,
    payload,
    shopify_body,
    shopify_headers,
    woo_body,
    woo_headers,
)

SKUS = ("IPOD2008PINK", "IPOD2008BLACK", "WOO-SINGLE-1", "SHIP-IDEA-BLACK-M")


@pytest.fixture(scope="module")
def standin() -> Iterator[PlatformStandin]:
    with PlatformStandin() as running:
        yield running


@pytest.fixture(scope="module")
def shop(e2e: E2E, standin: PlatformStandin) -> E2E:
    for sku in SKUS:
        e2e.api.ok("PUT", f"/v1/products/{sku}", {})
    e2e.api.ok("PUT", "/v1/shop/integrations/shopify", SHOPIFY_INTEGRATION)
    woo = WOO_INTEGRATION | {"site_url": standin.url, "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET}
    e2e.api.ok("PUT", "/v1/shop/integrations/woocommerce", woo)
    return e2e


def deliver(e2e: E2E, platform: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST the bytes as the platform does: no API key, its own headers."""
    parts = urlsplit(e2e.cloud.api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("POST", f"/webhooks/{platform}/{SHOP}", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection.close()


def units(order: dict[str, Any], field: str) -> dict[str, int]:
    return {line["sku"]: line[field] for line in order["lines"]}


def restock(e2e: E2E, movement_id: str, sku: str, quantity: int) -> None:
    e2e.api.ok("POST", "/v1/stock/movements", {"id": movement_id, "sku": sku, "kind": "receipt", "quantity": quantity})


def test_a_shopify_order_sent_as_shopify_sends_it_is_backordered_then_filled_by_a_restock(shop):
    body = shopify_body(payload("shopify-orders-create.json"))
    assert deliver(shop, "shopify", body, shopify_headers(body, "orders/create")) == (200, {"status": "stored"})
    shop.settle()
    order = shop.order("820982911946154508")
    assert units(order, "backordered") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 3}
    restock(shop, "po-shopify", "IPOD2008BLACK", 3)
    shop.settle()
    order = shop.order("820982911946154508")
    assert units(order, "allotted") == {"IPOD2008PINK": 0, "IPOD2008BLACK": 3}
    assert [s["lines"] for s in order["shipments"]] == [[{"line": 2, "sku": "IPOD2008BLACK", "units": 3}]]


def test_a_forged_shopify_delivery_is_refused(shop):
    body = shopify_body(payload("shopify-orders-create.json") | {"id": 42})
    status, answer = deliver(shop, "shopify", body, shopify_headers(body, "orders/create", secret="not-the-secret"))
    assert (status, answer["error"]) == (401, "unauthorized")
    assert shop.api("GET", "/v1/orders/42").status == 404


def test_a_woocommerce_order_sent_as_woocommerce_sends_it_is_backordered_then_filled(shop, standin):
    status, _ = deliver(shop, "woocommerce", b"webhook_id=31", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200  # the ping on saving the webhook, base64-encoded by the gateway
    body = woo_body(payload("woocommerce-order-created.json"))
    assert b"\\/" in body
    headers = woo_headers(body, "order.created", site=standin.url)  # the site is the stand-in, for the catch-up
    assert deliver(shop, "woocommerce", body, headers)[0] == 200
    shop.settle()
    assert units(shop.order("727"), "backordered") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}
    restock(shop, "po-woo", "WOO-SINGLE-1", 2)
    shop.settle()
    assert units(shop.order("727"), "allotted") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 0}


def test_a_woocommerce_order_whose_delivery_was_dropped_is_recovered_by_the_catch_up_schedule(shop, standin):
    modified = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S")
    standin.woo_orders = [payload("woocommerce-order-created.json") | {"id": 901, "number": "901",
                                                                        "date_modified_gmt": modified}]  # fmt: skip
    assert shop.api("GET", "/v1/orders/901").status == 404  # WooCommerce never delivered it
    result = shop.cloud.fire_schedule("CatchUpFunction", "Every15Minutes")
    assert result["failed"] == [] and result["webhooks_only"] == [f"{SHOP}/shopify"], result
    assert result["stored"] == 1, result
    shop.settle()
    assert units(shop.order("901"), "backordered") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}
    assert shop.cloud.fire_schedule("CatchUpFunction", "Every15Minutes")["stored"] == 0  # read again: nothing new
