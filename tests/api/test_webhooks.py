"""Webshop webhooks (issue 11, decision 69): Shopify's and WooCommerce's deliveries, as
those platforms send them, go through the real webhook function (verify, store, answer)
and then the table stream to the real allotter function (apply), against moto.

A delivery that is not genuine is refused with 401 and writes nothing; a genuine one is
stored once and applied once; what cannot be mapped is answered 200 and listed."""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest

import webhooks_handler
from tests.api.conftest import OTHER_SHOP, SHOP, Reply, _reply, lambda_context
from tests.api.test_personal_data import _everything_logged as everything_logged
from tests.support.events import http_event, movement_body
from tests.support.webshops import (
    SHOPIFY_INTEGRATION,
    SHOPIFY_SECRET,
    WOO_INTEGRATION,
    payload,
    shopify_body,
    shopify_headers,
    woo_body,
    woo_headers,
)

SHOPIFY_ORDER = "820982911946154508"  # above 2^53: a float would make it ...154500


class Hooks:
    """The webhook function in this process, beside the API."""

    def __init__(self, api: Any) -> None:
        self.api = api

    def __call__(self, platform: str, body: bytes, headers: dict[str, str], *, shop: str = SHOP) -> Reply:
        event = http_event(
            "POST", f"/webhooks/{platform}/{shop}", body, headers=headers,
            route_key=f"POST /webhooks/{platform}/{{shop}}", path_parameters={"shop": shop},
        )  # fmt: skip
        return _reply(webhooks_handler.lambda_handler(event, lambda_context("WebhookFunction")))

    def shopify(self, topic: str, data: dict[str, Any], **headers: Any) -> Reply:
        body = shopify_body(data)
        return self("shopify", body, shopify_headers(body, topic, **headers))

    def woo(self, topic: str, data: dict[str, Any], **headers: Any) -> Reply:
        body = woo_body(data)
        return self("woocommerce", body, woo_headers(body, topic, **headers))


KNOWN = ("IPOD2008PINK", "IPOD2008BLACK", "IPOD2008GREEN", "WOO-SINGLE-1", "SHIP-IDEA-BLACK-M")


@pytest.fixture
def hooks(api: Any) -> Hooks:
    """Both integrations of SHOP configured, and the products its orders name in the catalogue."""
    for sku in KNOWN:
        assert api("PUT", f"/v1/products/{sku}", {}).status == 200
    assert api("PUT", "/v1/shop/integrations/shopify", SHOPIFY_INTEGRATION).status == 200
    assert api("PUT", "/v1/shop/integrations/woocommerce", WOO_INTEGRATION).status == 200
    api.svc.webhooks.integrations.forget()  # a cold start: another test may have replaced a secret
    api.deliver_stream()
    return Hooks(api)


def order_of(api: Any, order_id: str) -> dict[str, Any]:
    reply = api("GET", f"/v1/orders/{order_id}")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.body
    return body


def units(order: dict[str, Any], field: str) -> dict[str, int]:
    return {line["sku"]: line[field] for line in order["lines"]}


def receive(api: Any, sku: str, quantity: int, movement_id: str) -> None:
    assert api("POST", "/v1/stock/movements", movement_body(movement_id, sku, quantity)).status in (200, 201)


# ------------------------------------------------------------------ Done when: becomes a backorder, filled


def test_a_shopify_order_as_shopify_sends_it_becomes_backorders_that_a_receipt_fills(hooks, api):
    reply = hooks.shopify("orders/create", payload("shopify-orders-create.json"))
    assert (reply.status, reply.body) == (200, {"status": "stored"})
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert order["order_id"] == SHOPIFY_ORDER  # the 64-bit id, exactly
    assert order["webshop"]["platform"] == "shopify" and order["webshop"]["number"] == "#9999"
    assert units(order, "backordered") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 3}  # no gift card: untracked
    assert order["webshop"]["held"] == [{"line_id": "703073504163798745", "quantity": 2, "reason": "no SKU"}]
    rejected = api("GET", "/v1/webhooks/rejected").body["rejected"]
    assert [(r["order_id"], r["reason"]) for r in rejected] == [
        (SHOPIFY_ORDER, "line 703073504163798745 (2 unit(s)) is held: no SKU")
    ]
    receive(api, "IPOD2008BLACK", 10, "po-7")
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert units(order, "allotted") == {"IPOD2008PINK": 0, "IPOD2008BLACK": 3}
    assert units(order, "backordered") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 0}


def test_a_woocommerce_order_as_woocommerce_sends_it_becomes_a_backorder_that_a_receipt_fills(hooks, api):
    reply = hooks.woo("order.created", payload("woocommerce-order-created.json"))
    assert reply.status == 200, reply.body
    api.deliver_stream()
    order = order_of(api, "727")
    assert order["entered_at"] == "2026-11-30T18:22:10.000000Z"  # date_created_gmt has no Z, but is UTC
    assert units(order, "backordered") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}
    receive(api, "WOO-SINGLE-1", 2, "po-8")
    api.deliver_stream()
    assert units(order_of(api, "727"), "allotted") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 0}


# ------------------------------------------------------------------ refused: 401, nothing stored


def shopify_order_body() -> bytes:
    return shopify_body(payload("shopify-orders-create.json"))


@pytest.mark.parametrize(
    ("headers", "header"),
    [
        ({"X-Shopify-Hmac-Sha256": "bm90IHRoZSBzaWduYXR1cmU="}, "X-Shopify-Hmac-Sha256"),  # forged
        ({"X-Shopify-Hmac-Sha256": None}, "X-Shopify-Hmac-Sha256"),  # missing
        ({"X-Shopify-Shop-Domain": "someone-else.myshopify.com"}, "X-Shopify-Shop-Domain"),
    ],
    ids=["forged", "missing", "wrong-domain"],
)
def test_a_delivery_that_is_not_genuine_is_refused_and_stores_nothing(hooks, api, headers, header):
    body = shopify_order_body()
    sent = shopify_headers(body, "orders/create") | headers
    before = api.items()
    reply = hooks("shopify", body, {k: v for k, v in sent.items() if v is not None})
    assert (reply.status, reply.body["error"], reply.body["field"]) == (401, "unauthorized", header)
    assert api.items() == before


def test_a_body_changed_after_signing_is_refused(hooks, api):
    body = shopify_order_body()
    headers = shopify_headers(body, "orders/create")
    before = api.items()
    changed = body.replace(b'"current_quantity": 3', b'"current_quantity": 30')
    assert changed != body
    assert hooks("shopify", changed, headers).status == 401
    assert api.items() == before


def test_a_signature_with_the_secret_the_shop_replaced_is_refused(hooks, api):
    receiver = api.svc.webhooks.integrations
    assert hooks.shopify("orders/create", payload("shopify-orders-create.json")).status == 200  # cached now
    new = SHOPIFY_INTEGRATION | {"webhook_secret": "shpss_rotated-secret-0042"}
    assert api("PUT", "/v1/shop/integrations/shopify", new).status == 200
    clock = receiver.clock
    receiver.clock = lambda: clock() + receiver.max_age  # the receiver's cache has aged out
    before = api.items()
    stale = payload("shopify-orders-create.json") | {"id": 1}
    assert hooks.shopify("orders/create", stale).status == 401  # signed with the old secret
    assert api.items() == before
    assert hooks.shopify("orders/create", stale, secret="shpss_rotated-secret-0042").status == 200


def test_a_new_secret_works_at_once_though_the_old_one_is_cached(hooks, api):
    receiver = api.svc.webhooks.integrations
    assert hooks.shopify("orders/create", payload("shopify-orders-create.json")).status == 200
    new = SHOPIFY_INTEGRATION | {"webhook_secret": "shpss_rotated-secret-0042"}
    assert api("PUT", "/v1/shop/integrations/shopify", new).status == 200
    clock = receiver.clock
    receiver.clock = lambda: clock() + receiver.RECHECK_AFTER
    reply = hooks.shopify(
        "orders/create", payload("shopify-orders-create.json") | {"id": 2}, secret=new["webhook_secret"]
    )
    assert reply.status == 200


def test_a_shop_without_an_integration_accepts_nothing(hooks, api):
    body = shopify_order_body()
    before = api.items()
    reply = hooks("shopify", body, shopify_headers(body, "orders/create"), shop=OTHER_SHOP)
    assert reply.status == 401 and reply.body["field"] == "X-Shopify-Hmac-Sha256"  # as a forgery: no shop named
    assert api.items() == before


def test_the_woocommerce_ping_on_saving_a_webhook_gets_200_and_writes_nothing(hooks, api):
    before = api.items()
    reply = hooks("woocommerce", b"webhook_id=31", {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status == 200 and reply.body == {"status": "ping"}
    assert api.items() == before


# ------------------------------------------------------------------ at least once, out of order


def test_a_duplicate_delivery_changes_nothing(hooks, api):
    data = payload("shopify-orders-create.json")
    assert hooks.shopify("orders/create", data, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043").status == 200
    api.deliver_stream()
    before = api.items()
    again = hooks.shopify("orders/create", data, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert (again.status, again.body) == (200, {"status": "duplicate"})
    api.deliver_stream()
    assert api.items() == before


def test_a_woocommerce_redelivery_of_the_same_state_is_one_delivery(hooks, api):
    data = payload("woocommerce-order-created.json")
    assert hooks.woo("order.created", data).body == {"status": "stored"}
    assert hooks.woo("order.created", data).body == {"status": "duplicate"}  # a new Delivery-ID, the same state


def updated(data: dict[str, Any], at: str, **quantities: int) -> dict[str, Any]:
    """The order as Shopify sends it at ``at``, with some lines' current quantities."""
    out = copy.deepcopy(data) | {"updated_at": at}
    for line in out["line_items"]:
        if line["sku"] in quantities:
            line["current_quantity"] = quantities[line["sku"]]
    return out


def test_an_older_orders_updated_never_overwrites_a_newer_state(hooks, api):
    data = payload("shopify-orders-create.json")
    hooks.shopify("orders/create", data)
    api.deliver_stream()
    newer = updated(data, "2026-11-30T14:00:00-05:00", IPOD2008BLACK=1)
    older = updated(data, "2026-11-30T13:00:00-05:00", IPOD2008BLACK=2)
    assert hooks.shopify("orders/updated", newer).status == 200
    api.deliver_stream()
    assert units(order_of(api, SHOPIFY_ORDER), "cancelled")["IPOD2008BLACK"] == 2
    before = api.items()
    assert hooks.shopify("orders/updated", older).status == 200  # arrives late
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert units(order, "cancelled")["IPOD2008BLACK"] == 2 and units(order, "backordered")["IPOD2008BLACK"] == 1
    assert [i for i in api.items() if i["sk"]["S"] == "LINE#0002"] == [i for i in before if i["sk"]["S"] == "LINE#0002"]


def test_an_edit_that_adds_a_line_queues_it_from_the_edit(hooks, api):
    data = payload("shopify-orders-create.json")
    hooks.shopify("orders/create", data)
    api.deliver_stream()
    edited = updated(data, "2026-11-30T15:00:00-05:00")
    edited["line_items"].append(
        {"id": 990000000000000001, "sku": "IPOD2008GREEN", "quantity": 2, "current_quantity": 2, "price": "199.00",
         "gift_card": False, "requires_shipping": True}
    )  # fmt: skip
    hooks.shopify("orders/updated", edited)
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert units(order, "backordered")["IPOD2008GREEN"] == 2
    assert order["webshop"]["lines"]["990000000000000001"] == 3  # the next number after the two it keeps


def test_orders_cancelled_cancels_every_open_unit(hooks, api):
    data = payload("shopify-orders-create.json")
    hooks.shopify("orders/create", data)
    api.deliver_stream()
    hooks.shopify(
        "orders/cancelled", updated(data, "2026-11-30T16:00:00-05:00") | {"cancelled_at": "2026-11-30T16:00:00-05:00"}
    )
    api.deliver_stream()
    assert units(order_of(api, SHOPIFY_ORDER), "cancelled") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 3}


# ------------------------------------------------------------------ refunds and fulfillments


def test_a_fulfillment_ships_and_a_refund_returns_shipped_units_and_releases_the_rest(hooks, api):
    receive(api, "IPOD2008PINK", 1, "po-1")
    receive(api, "IPOD2008BLACK", 3, "po-2")
    hooks.shopify("orders/create", payload("shopify-orders-create.json"))
    api.deliver_stream()
    assert hooks.shopify("fulfillments/create", payload("shopify-fulfillments-create.json")).status == 200
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert units(order, "shipped") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 2}
    assert api("GET", "/v1/skus/IPOD2008PINK").body["on_hand"] == 0
    refund = payload("shopify-refunds-create.json")  # 1 pink returned, 1 black cancelled, 1 no-SKU line
    assert hooks.shopify("refunds/create", refund).status == 200
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert api("GET", "/v1/skus/IPOD2008PINK").body["on_hand"] == 1  # came back to stock
    assert units(order, "cancelled") == {"IPOD2008PINK": 0, "IPOD2008BLACK": 1}
    assert units(order, "shipped") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 2}
    before = api.items()
    assert hooks.shopify("refunds/create", refund).status == 200  # a new delivery of the same refund
    hooks.shopify("fulfillments/create", payload("shopify-fulfillments-create.json"))
    api.deliver_stream()
    changed = {(i["pk"]["S"], i["sk"]["S"]) for i in api.items()} - {(i["pk"]["S"], i["sk"]["S"]) for i in before}
    assert all(pk.startswith("WEBHOOK#") for pk, _ in changed)  # only the deliveries themselves
    assert order_of(api, SHOPIFY_ORDER)["lines"] == order["lines"]


def test_a_refund_the_order_snapshot_already_counted_cancels_nothing_more(hooks, api):
    data = payload("shopify-orders-create.json")
    hooks.shopify("orders/create", data)
    api.deliver_stream()
    after_refund = updated(data, "2026-11-30T13:20:12-05:00", IPOD2008BLACK=2)  # Shopify's orders/updated
    hooks.shopify("orders/updated", after_refund)
    hooks.shopify("refunds/create", payload("shopify-refunds-create.json"))
    api.deliver_stream()
    assert units(order_of(api, SHOPIFY_ORDER), "cancelled")["IPOD2008BLACK"] == 1


def test_woocommerce_cancelled_and_deleted_orders_cancel(hooks, api):
    data = payload("woocommerce-order-created.json")
    hooks.woo("order.created", data)
    api.deliver_stream()
    hooks.woo("order.updated", data | {"status": "cancelled", "date_modified_gmt": "2026-11-30T19:00:00"})
    api.deliver_stream()
    assert units(order_of(api, "727"), "cancelled") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}
    other = data | {"id": 728, "number": "728"}
    hooks.woo("order.created", other)
    api.deliver_stream()
    hooks.woo("order.deleted", {"id": 728})
    api.deliver_stream()
    assert units(order_of(api, "728"), "cancelled") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}


def test_a_woocommerce_order_completed_ships_what_is_allotted(hooks, api):
    receive(api, "WOO-SINGLE-1", 2, "po-3")
    data = payload("woocommerce-order-created.json")
    hooks.woo("order.created", data)
    api.deliver_stream()
    hooks.woo("order.updated", data | {"status": "completed", "date_modified_gmt": "2026-12-01T09:00:00"})
    api.deliver_stream()
    order = order_of(api, "727")
    assert units(order, "shipped") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 0}
    assert units(order, "backordered") == {"WOO-SINGLE-1": 0, "SHIP-IDEA-BLACK-M": 1}


def test_a_woocommerce_order_pending_payment_is_no_order_yet(hooks, api):
    data = payload("woocommerce-order-created.json") | {"status": "pending"}
    hooks.woo("order.created", data)
    api.deliver_stream()
    assert api("GET", "/v1/orders/727").status == 404
    hooks.woo("order.updated", data | {"status": "processing", "date_modified_gmt": "2026-11-30T18:30:00"})
    api.deliver_stream()
    assert units(order_of(api, "727"), "backordered") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}


# ------------------------------------------------------------------ genuine but unmappable


@pytest.mark.parametrize(
    ("topic", "body", "reason"),
    [
        ("orders/paid", b'{"id": 1}', "topic 'orders/paid' is not one the service takes from shopify"),
        ("orders/create", b"[1, 2]", "the body is not a JSON object"),
        ("orders/create", b'{"id": 5, "created_at": "yesterday", "line_items": []}', "created_at is not an ISO 8601"),
    ],
)
def test_a_genuine_delivery_that_cannot_be_mapped_is_stored_answered_200_and_listed(hooks, api, topic, body, reason):
    reply = hooks("shopify", body, shopify_headers(body, topic))
    assert reply.status == 200
    api.deliver_stream()
    rejected = api("GET", "/v1/webhooks/rejected").body["rejected"]
    assert len(rejected) == 1 and rejected[0]["reason"].startswith(reason), rejected
    assert rejected[0]["topic"] == topic
    assert api("GET", "/v1/webhooks/rejected", shop=OTHER_SHOP).body["rejected"] == []


# ------------------------------------------------------------------ personal data


def test_customer_emails_names_and_addresses_never_reach_the_logs(hooks, api, caplog, capsys):
    caplog.set_level(logging.INFO)  # the template's POWERTOOLS_LOG_LEVEL
    data = payload("shopify-orders-create.json")
    hooks.shopify("orders/create", data)
    woo = payload("woocommerce-order-created.json")
    hooks.woo("order.created", woo)
    api.deliver_stream()
    hooks.shopify("orders/create", data, secret="forged-secret")
    logs = everything_logged(caplog, capsys)
    assert "webhook received" in logs and "webhook delivery applied" in logs
    personal = [
        data["email"], data["customer"]["email"], data["customer"]["first_name"], data["customer"]["last_name"],
        data["billing_address"]["address1"], woo["billing"]["email"], woo["billing"]["first_name"],
        woo["billing"]["last_name"], woo["billing"]["address_1"], SHOPIFY_SECRET,
    ]  # fmt: skip
    for value in personal:
        assert value not in logs, value
    assert json.dumps(order_of(api, SHOPIFY_ORDER)).count("@") == 0  # the order view shows the customer's id only


def restocked(data: dict[str, Any], at: str, status: str, **units: int) -> dict[str, Any]:
    """The order as WooCommerce sends it after refunds that restocked ``units`` of some
    lines: the running total it keeps in each line's ``_restock_refunded_items`` meta."""
    out = copy.deepcopy(data) | {"status": status, "date_modified_gmt": at}
    for line in out["line_items"]:
        if line["sku"] in units:
            line["meta_data"] = [*line.get("meta_data", []), {"id": 9000 + line["id"],
                                 "key": "_restock_refunded_items", "value": str(units[line["sku"]])}]  # fmt: skip
    return out


def test_a_woocommerce_refund_restocks_only_what_the_shop_restocked(hooks, api):
    receive(api, "WOO-SINGLE-1", 2, "po-4")
    data = payload("woocommerce-order-created.json")
    hooks.woo("order.created", data)
    api.deliver_stream()
    hooks.woo("order.updated", data | {"status": "completed", "date_modified_gmt": "2026-12-01T09:00:00"})
    api.deliver_stream()
    assert api("GET", "/v1/skus/WOO-SINGLE-1").body["on_hand"] == 0  # both shipped
    # one of the two shipped ones refunded and restocked, the order still completed
    hooks.woo("order.updated", restocked(data, "2026-12-01T10:00:00", "completed", **{"WOO-SINGLE-1": 1}))
    api.deliver_stream()
    assert api("GET", "/v1/skus/WOO-SINGLE-1").body["on_hand"] == 1
    # then all of it refunded, nothing more restocked: the unshipped line is released, no stock comes back
    hooks.woo("order.updated", restocked(data, "2026-12-01T11:00:00", "refunded", **{"WOO-SINGLE-1": 1}))
    api.deliver_stream()
    order = order_of(api, "727")
    assert api("GET", "/v1/skus/WOO-SINGLE-1").body["on_hand"] == 1
    assert units(order, "cancelled") == {"WOO-SINGLE-1": 0, "SHIP-IDEA-BLACK-M": 1}
    assert units(order, "shipped") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 0}


def test_a_woocommerce_refund_restocking_units_not_yet_shipped_releases_them(hooks, api):
    data = payload("woocommerce-order-created.json")
    hooks.woo("order.created", data)
    api.deliver_stream()
    hooks.woo("order.updated", restocked(data, "2026-12-01T10:00:00", "processing", **{"WOO-SINGLE-1": 1}))
    api.deliver_stream()
    order = order_of(api, "727")
    assert units(order, "cancelled")["WOO-SINGLE-1"] == 1 and units(order, "backordered")["WOO-SINGLE-1"] == 1
    assert api("GET", "/v1/skus/WOO-SINGLE-1").body["on_hand"] == 0
    # WooCommerce keeps the line's quantity at 2: a later edit of the order does not order the unit again
    later = restocked(data, "2026-12-01T12:00:00", "on-hold", **{"WOO-SINGLE-1": 1})
    hooks.woo("order.updated", later)
    api.deliver_stream()
    assert order_of(api, "727")["lines"] == order["lines"]


def test_a_woocommerce_order_first_seen_after_a_restocked_refund_orders_only_the_rest(hooks, api):
    data = payload("woocommerce-order-created.json")
    hooks.woo("order.updated", restocked(data, "2026-12-01T10:00:00", "processing", **{"WOO-SINGLE-1": 1}))
    api.deliver_stream()
    assert units(order_of(api, "727"), "backordered") == {"WOO-SINGLE-1": 1, "SHIP-IDEA-BLACK-M": 1}
    hooks.woo("order.updated", restocked(data, "2026-12-01T11:00:00", "processing", **{"WOO-SINGLE-1": 1}))
    api.deliver_stream()
    order = order_of(api, "727")
    assert units(order, "backordered") == {"WOO-SINGLE-1": 1, "SHIP-IDEA-BLACK-M": 1}
    assert units(order, "quantity") == {"WOO-SINGLE-1": 1, "SHIP-IDEA-BLACK-M": 1}
