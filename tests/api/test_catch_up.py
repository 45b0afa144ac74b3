"""The catch-up (decision 70): orders whose webhooks were dropped are read back from the
platforms, over real HTTP from a local stand-in that answers as Shopify's and
WooCommerce's order endpoints are documented (pages, rate limits, 429s), and go through
the same mapping as webhooks: a missed delivery is recovered, an applied one changes
nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from backorders.adapters.shop_platforms import reader_for
from backorders.domain.webshops.integrations import Integration, ShopifyIntegration
from backorders.services.catch_up import CatchUp
from tests.api.conftest import SHOP
from tests.api.test_webhooks import KNOWN, SHOPIFY_ORDER, Hooks, order_of, units
from tests.support.platform_standin import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, FakeClock, PlatformStandin
from tests.support.webshops import SHOPIFY_INTEGRATION, WOO_INTEGRATION, payload


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def shopify_order(updated: datetime, **changes: Any) -> dict[str, Any]:
    """The documented order, as ``orders.json`` lists it, last updated at ``updated``."""
    return payload("shopify-orders-create.json") | {"updated_at": updated.isoformat(timespec="seconds"), **changes}


def woo_order(order_id: int, updated: datetime) -> dict[str, Any]:
    stamp = updated.strftime("%Y-%m-%dT%H:%M:%S")
    return payload("woocommerce-order-created.json") | {"id": order_id, "number": str(order_id),
                                                         "date_modified_gmt": stamp}  # fmt: skip


@pytest.fixture
def wait() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(wait: FakeClock) -> Iterator[PlatformStandin]:
    """Its leaky bucket runs on the readers' fake clock: it leaks exactly as long as they wait."""
    with PlatformStandin(clock=wait.now) as running:
        yield running


@pytest.fixture
def shop(api: Any, standin: PlatformStandin) -> Hooks:
    """SHOP with both integrations, their catch-up credentials pointing at the stand-in."""
    for sku in KNOWN:
        assert api("PUT", f"/v1/products/{sku}", {}).status == 200
    shopify = SHOPIFY_INTEGRATION | {"admin_api_token": SHOPIFY_TOKEN}
    woo = WOO_INTEGRATION | {"site_url": standin.url, "consumer_key": WOO_KEY, "consumer_secret": WOO_SECRET}
    assert api("PUT", "/v1/shop/integrations/shopify", shopify).status == 200
    assert api("PUT", "/v1/shop/integrations/woocommerce", woo).status == 200
    api.svc.webhooks.integrations.forget()
    api.deliver_stream()
    return Hooks(api)


def aimed_at(standin: PlatformStandin, wait: FakeClock, **options: Any) -> Any:
    """Readers aimed at the stand-in (Shopify's address comes from the shop's domain; here
    it is the stand-in's), waiting on the fake clock."""

    def readers(integration: Integration) -> Any:
        extra = {"base_url": standin.url} if isinstance(integration, ShopifyIntegration) else {}
        return reader_for(integration, sleep=wait.sleep, clock=wait.now, **extra, **options)

    return readers


@pytest.fixture
def catch_up(api: Any, standin: PlatformStandin, wait: FakeClock) -> CatchUp:
    """The service's catch-up, reading the stand-in."""
    svc = api.svc
    return CatchUp(svc.store, svc.integrations.store, aimed_at(standin, wait), clock=svc.clock)


def test_a_shopify_order_whose_webhook_was_dropped_is_recovered_by_the_catch_up(shop, api, standin, catch_up):
    standin.shopify_orders = [shopify_order(minutes_ago(3))]  # Shopify gave up on its delivery
    report = catch_up.run().as_dict()
    assert report["read"] == 1 and report["failed"] == [], report
    api.deliver_stream()
    order = order_of(api, SHOPIFY_ORDER)
    assert units(order, "backordered") == {"IPOD2008PINK": 1, "IPOD2008BLACK": 3}
    assert order["webshop"]["number"] == "#9999"
    before = api.items()
    again = catch_up.run().as_dict()  # the next run reads it again (the overlap): one delivery
    api.deliver_stream()
    assert again["read"] == 1 and again["stored"] == 0
    assert [i for i in api.items() if i["pk"]["S"] != "INTEGRATIONS"] == [
        i for i in before if i["pk"]["S"] != "INTEGRATIONS"
    ]


def test_an_order_the_webhook_already_applied_changes_nothing(shop, api, standin, catch_up):
    order = shopify_order(minutes_ago(3))
    assert shop.shopify("orders/create", order).status == 200
    api.deliver_stream()
    lines = order_of(api, SHOPIFY_ORDER)["lines"]
    standin.shopify_orders = [order]
    assert catch_up.run().as_dict()["stored"] == 1  # the catch-up's own delivery of that state
    api.deliver_stream()
    assert order_of(api, SHOPIFY_ORDER)["lines"] == lines
    deliveries = [i for i in api.items() if i["sk"]["S"].startswith("DELIVERY#shopify#catch-up:")]
    assert [d["status"]["S"] for d in deliveries] == ["applied"]


def test_a_newer_state_the_webhook_missed_is_applied(shop, api, standin, catch_up):
    shop.shopify("orders/create", shopify_order(minutes_ago(5)))
    api.deliver_stream()
    edited = shopify_order(minutes_ago(2))
    edited["line_items"][1]["current_quantity"] = 1  # the shop took 2 black ones off; the webhook was lost
    standin.shopify_orders = [edited]
    catch_up.run()
    api.deliver_stream()
    assert units(order_of(api, SHOPIFY_ORDER), "cancelled")["IPOD2008BLACK"] == 2


def test_a_lost_refund_is_recovered_from_the_order_it_belongs_to(shop, api, standin, catch_up):
    api("POST", "/v1/stock/movements", {"id": "po-1", "sku": "IPOD2008PINK", "kind": "receipt", "quantity": 1})
    shop.shopify("orders/create", shopify_order(minutes_ago(9)))
    api.deliver_stream()
    shop.shopify("fulfillments/create", payload("shopify-fulfillments-create.json"))
    api.deliver_stream()
    assert api("GET", "/v1/skus/IPOD2008PINK").body["on_hand"] == 0
    refund = payload("shopify-refunds-create.json")  # returns the pink one; its webhook never came
    standin.shopify_orders = [shopify_order(minutes_ago(2), refunds=[refund])]
    catch_up.run()
    catch_up.run()
    api.deliver_stream()
    assert api("GET", "/v1/skus/IPOD2008PINK").body["on_hand"] == 1  # once


def test_woocommerce_orders_are_read_page_by_page_through_a_429(shop, api, standin, catch_up, wait):
    standin.woo_orders = [woo_order(800 + n, minutes_ago(6 - n)) for n in range(5)]
    standin.throttle_next("woocommerce", 1)
    catch_up.readers = aimed_at(standin, wait, page_size=2)
    report = catch_up.run().as_dict()
    assert report["read"] == 5 and report["failed"] == [], report
    assert 1.0 in wait.sleeps  # the 429's Retry-After
    assert [r.param("page") for r in standin.requests_to("woocommerce") if r.status == 200] == ["1", "2", "3"]
    api.deliver_stream()
    for n in range(5):
        assert units(order_of(api, str(800 + n)), "backordered") == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}


def test_a_platform_that_refuses_the_credentials_is_reported_and_read_again_next_time(shop, api, standin, catch_up):
    standin.woo_secret = "cs_not_what_the_shop_gave"
    standin.shopify_orders = [shopify_order(minutes_ago(3))]
    report = catch_up.run().as_dict()
    assert len(report["failed"]) == 1 and report["failed"][0].startswith(f"{SHOP}/woocommerce: PlatformAuthFailed")
    assert WOO_SECRET not in report["failed"][0]
    marks = {m.platform.value: m for m in api.svc.store.catch_up_marks()}
    assert marks["woocommerce"].seen_until is None and marks["shopify"].seen_until is not None
    standin.woo_secret = WOO_SECRET
    standin.woo_orders = [woo_order(900, minutes_ago(1))]
    assert catch_up.run().as_dict()["failed"] == []
    api.deliver_stream()
    assert order_of(api, "900")["webshop"]["platform"] == "woocommerce"


def test_orders_changed_before_the_shop_was_set_up_are_not_read(shop, api, standin, catch_up):
    standin.shopify_orders = [shopify_order(minutes_ago(60 * 24))]
    assert catch_up.run().as_dict()["read"] == 0
    first = standin.requests_to("shopify")[0]
    since = datetime.fromisoformat(str(first.param("updated_at_min")))
    assert minutes_ago(12) < since < minutes_ago(9)  # the shop's setup, less the overlap
