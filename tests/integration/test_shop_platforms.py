"""The catch-up's readers of Shopify's and WooCommerce's orders, over real HTTP against a
local stand-in that answers as the platforms document (tests/support/platform_standin.py).
Waits go through an injected sleep on a fake clock the stand-in's bucket also runs on, so
nothing here really waits."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from backorders.adapters.shop_platforms import (
    PlatformAuthFailed,
    PlatformError,
    ShopifyOrders,
    WooCommerceOrders,
    reader_for,
)
from backorders.domain.webshops.integrations import ShopifyIntegration, WooCommerceIntegration
from tests.support.platform_standin import (
    SHOPIFY_TOKEN,
    WOO_KEY,
    WOO_SECRET,
    FakeClock,
    PlatformStandin,
    ids,
)

SINCE = "2026-12-01T10:00:00Z"
DOMAIN = "standin-shop.myshopify.com"
BIG_ID = 2**63 - 1


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def standin(clock: FakeClock) -> Iterator[PlatformStandin]:
    with PlatformStandin(clock=clock.now) as server:
        yield server


def shopify(standin: PlatformStandin, clock: FakeClock, **options: Any) -> ShopifyOrders:
    options = {"base_url": standin.url, "sleep": clock.sleep, "clock": clock.now, **options}
    return ShopifyOrders(DOMAIN, SHOPIFY_TOKEN, **options)


def woo(standin: PlatformStandin, clock: FakeClock, **options: Any) -> WooCommerceOrders:
    options = {"sleep": clock.sleep, "clock": clock.now, **options}
    return WooCommerceOrders(standin.url + "/", WOO_KEY, WOO_SECRET, **options)


def shopify_order(order_id: int, updated_at: str, **fields: Any) -> dict[str, Any]:
    return {"id": order_id, "updated_at": updated_at, "name": f"#{order_id}", "closed_at": None, **fields}


def woo_order(order_id: int, modified_gmt: str, **fields: Any) -> dict[str, Any]:
    return {"id": order_id, "date_modified_gmt": modified_gmt, "status": "processing", **fields}


def shopify_orders(count: int) -> list[dict[str, Any]]:
    """``count`` orders updated a minute apart after SINCE, listed newest first (the
    stand-in must sort them)."""
    return [shopify_order(1000 + n, f"2026-12-01T11:{n:02d}:00Z") for n in reversed(range(count))]


def woo_orders(count: int) -> list[dict[str, Any]]:
    return [woo_order(500 + n, f"2026-12-01T11:{n:02d}:00") for n in reversed(range(count))]


class TestShopify:
    def test_every_page_is_read_oldest_update_first(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.shopify_orders = shopify_orders(7)

        read = list(shopify(standin, clock, page_size=3).orders_updated_since(SINCE))

        assert ids(read) == [1000 + n for n in range(7)]
        assert len(standin.requests_to("shopify")) == 3

    def test_the_first_request_carries_the_documented_filters_and_the_token_header(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        list(shopify(standin, clock, page_size=3).orders_updated_since(SINCE))

        first = standin.requests_to("shopify")[0]
        assert first.path == "/admin/api/2025-01/orders.json"
        assert first.query == {
            "status": ["any"],
            "updated_at_min": [SINCE],
            "limit": ["3"],
            "order": ["updated_at asc"],
        }
        assert first.headers["x-shopify-access-token"] == SHOPIFY_TOKEN

    def test_a_next_page_request_carries_only_page_info_and_limit(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.shopify_orders = shopify_orders(5)

        list(shopify(standin, clock, page_size=2).orders_updated_since(SINCE))

        following = standin.requests_to("shopify")[1:]
        assert len(following) == 2
        assert all(set(r.query) == {"page_info", "limit"} for r in following)
        assert all(r.status == 200 for r in standin.requests_to("shopify"))

    def test_the_stand_in_refuses_filters_beside_page_info_as_shopify_does(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        """The rule the reader keeps is real: the stand-in enforces it."""
        standin.shopify_orders = shopify_orders(3)
        list(shopify(standin, clock, page_size=2).orders_updated_since(SINCE))
        cursor = standin.requests_to("shopify")[1].param("page_info")
        url = f"{standin.url}/admin/api/2025-01/orders.json?page_info={cursor}&limit=2&status=any"
        request = urllib.request.Request(url, headers={"X-Shopify-Access-Token": SHOPIFY_TOKEN})

        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)

        assert refused.value.code == 400
        assert json.loads(refused.value.read()) == {"errors": {"status": "status cannot be passed with page_info."}}

    def test_only_orders_updated_since_come_back_compared_as_instants(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.shopify_orders = [
            shopify_order(1, "2026-12-01T09:59:59Z"),
            shopify_order(2, "2026-12-01T10:00:00Z"),  # at since: included
            shopify_order(3, "2026-12-01T06:30:00-05:00"),  # 11:30Z
            shopify_order(4, "2026-12-01T11:00:00+02:00"),  # 09:00Z
            shopify_order(5, "2026-12-01T12:00:00Z", cancelled_at="2026-12-01T12:00:00Z", closed_at="x"),
        ]

        read = list(shopify(standin, clock).orders_updated_since(SINCE))

        assert ids(read) == [2, 3, 5]

    def test_a_64_bit_id_and_decimals_are_read_exactly(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.shopify_orders = [
            shopify_order(BIG_ID, "2026-12-01T11:00:00Z", total_weight=0.1, line_items=[{"id": BIG_ID - 1}])
        ]

        (order,) = shopify(standin, clock).orders_updated_since(SINCE)

        assert order["id"] == BIG_ID and type(order["id"]) is int
        assert order["line_items"][0]["id"] == BIG_ID - 1
        assert order["total_weight"] == Decimal("0.1")

    def test_a_429_is_waited_out_for_its_retry_after_and_the_read_completes(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.shopify_orders = shopify_orders(4)
        standin.throttle_next("shopify", 2)

        read = list(shopify(standin, clock, page_size=2).orders_updated_since(SINCE))

        assert ids(read) == [1000, 1001, 1002, 1003]
        assert clock.sleeps == [1.0, 1.0]
        assert [r.status for r in standin.requests_to("shopify")] == [429, 429, 200, 200]

    def test_a_429_without_retry_after_waits_two_seconds(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.throttle_next("shopify", 1, retry_after=None)

        list(shopify(standin, clock).orders_updated_since(SINCE))

        assert clock.sleeps == [2.0]

    def test_429s_beyond_max_retries_raise(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.throttle_next("shopify", 3)

        with pytest.raises(PlatformError) as gave_up:
            list(shopify(standin, clock, max_retries=2).orders_updated_since(SINCE))

        assert gave_up.value.status == 429
        assert len(standin.requests_to("shopify")) == 3

    def test_a_nearly_full_bucket_makes_the_reader_pause_before_the_next_call(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.shopify_orders = shopify_orders(6)
        standin.fill_bucket(37)  # the shop's other apps used 37 of 40 calls

        read = list(shopify(standin, clock, page_size=2).orders_updated_since(SINCE))

        assert len(read) == 6
        calls = standin.requests_to("shopify")
        assert [r.status for r in calls] == [200, 200, 200]  # never ran into a 429
        assert calls[1].at - calls[0].at == pytest.approx(1.5)  # 38/40: leak to 35 first
        assert clock.sleeps == [pytest.approx(1.5), pytest.approx(0.5)]  # nothing after the last page

    def test_a_bucket_with_room_costs_no_pause(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.shopify_orders = shopify_orders(6)

        list(shopify(standin, clock, page_size=2).orders_updated_since(SINCE))

        assert clock.sleeps == []

    def test_a_server_error_is_retried_with_backoff(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.shopify_orders = shopify_orders(1)
        standin.fail_next("shopify", 2, status=502)

        assert ids(shopify(standin, clock).orders_updated_since(SINCE)) == [1000]
        assert clock.sleeps == [0.5, 1.0]

    def test_a_refused_token_raises_auth_failed_without_the_token(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        wrong = "shpat_wrong_0123456789abcdef"
        reader = ShopifyOrders(DOMAIN, wrong, base_url=standin.url, sleep=clock.sleep, clock=clock.now)

        with pytest.raises(PlatformAuthFailed) as refused:
            list(reader.orders_updated_since(SINCE))

        message = str(refused.value)
        assert refused.value.status == 401
        assert "Invalid API key" in message
        assert wrong not in message and "?" not in message and "updated_at_min" not in message
        assert wrong not in repr(reader)
        assert clock.sleeps == []  # a refusal is not retried


class TestWooCommerce:
    def test_page_links_are_followed_oldest_modification_first(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.woo_orders = woo_orders(5)

        read = list(woo(standin, clock, page_size=2).orders_updated_since(SINCE))

        assert ids(read) == [500, 501, 502, 503, 504]
        assert [r.param("page") for r in standin.requests_to("woocommerce")] == ["1", "2", "3"]

    def test_without_links_total_pages_says_how_far_to_read(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.woo_orders, standin.woo_links = woo_orders(5), False

        read = list(woo(standin, clock, page_size=2).orders_updated_since(SINCE))

        assert ids(read) == [500, 501, 502, 503, 504]
        assert len(standin.requests_to("woocommerce")) == 3

    def test_the_request_carries_the_documented_filters_and_basic_auth_only(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        list(woo(standin, clock, page_size=2).orders_updated_since(SINCE))

        (first,) = standin.requests_to("woocommerce")
        assert first.path == "/wp-json/wc/v3/orders"  # the trailing slash of the site is not doubled
        assert first.query == {
            "modified_after": ["2026-12-01T09:59:59"],  # strict upstream: one second earlier
            "dates_are_gmt": ["true"],
            "orderby": ["modified"],
            "order": ["asc"],
            "per_page": ["2"],
            "page": ["1"],
        }
        assert first.headers["authorization"].startswith("Basic ")
        assert WOO_SECRET not in str(first.query) and WOO_KEY not in str(first.query)

    def test_only_orders_modified_since_come_back(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.woo_orders = [
            woo_order(1, "2026-12-01T09:59:58"),
            woo_order(2, "2026-12-01T09:59:59"),  # passes the strict filter, dropped by the reader
            woo_order(3, "2026-12-01T10:00:00"),  # at since: included
            woo_order(4, "2026-12-02T08:00:00"),
        ]

        assert ids(woo(standin, clock).orders_updated_since(SINCE)) == [3, 4]

    def test_a_64_bit_id_and_decimals_are_read_exactly(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.woo_orders = [woo_order(BIG_ID, "2026-12-01T11:00:00", shipping_tax=19.99)]

        (order,) = woo(standin, clock).orders_updated_since(SINCE)

        assert order["id"] == BIG_ID and type(order["id"]) is int
        assert order["shipping_tax"] == Decimal("19.99")

    def test_a_429_is_waited_out_and_the_read_completes(self, standin: PlatformStandin, clock: FakeClock) -> None:
        standin.woo_orders = woo_orders(3)
        standin.throttle_next("woocommerce", 1)

        assert ids(woo(standin, clock, page_size=2).orders_updated_since(SINCE)) == [500, 501, 502]
        assert clock.sleeps == [1.0]

    def test_orders_added_between_reads_come_back_on_the_next_read(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        reader = woo(standin, clock)
        standin.woo_orders = woo_orders(2)
        assert ids(reader.orders_updated_since(SINCE)) == [500, 501]

        standin.woo_orders.append(woo_order(900, "2026-12-01T12:00:00"))

        assert ids(reader.orders_updated_since("2026-12-01T11:01:00Z")) == [501, 900]

    def test_a_refused_secret_raises_auth_failed_without_the_secret(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        wrong = "cs_wrong_0123456789abcdef"
        reader = WooCommerceOrders(standin.url, WOO_KEY, wrong, sleep=clock.sleep, clock=clock.now)

        with pytest.raises(PlatformAuthFailed) as refused:
            list(reader.orders_updated_since(SINCE))

        message = str(refused.value)
        assert refused.value.status == 401
        assert "woocommerce_rest_cannot_view" in message
        assert wrong not in message and "?" not in message
        assert wrong not in repr(reader)


class TestReaderFor:
    def test_none_without_catch_up_credentials(self) -> None:
        assert reader_for(ShopifyIntegration(DOMAIN, "webhook-secret")) is None
        assert reader_for(WooCommerceIntegration("https://shop.example", "webhook-secret")) is None
        assert (
            reader_for(WooCommerceIntegration("https://shop.example", "webhook-secret", consumer_key=WOO_KEY)) is None
        )

    def test_the_platforms_reader_with_the_integrations_credentials(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.shopify_orders, standin.woo_orders = shopify_orders(1), woo_orders(1)
        options: dict[str, Any] = {"sleep": clock.sleep, "clock": clock.now}

        shopify_reader = reader_for(
            ShopifyIntegration(DOMAIN, "webhook-secret", SHOPIFY_TOKEN), base_url=standin.url, **options
        )
        woo_reader = reader_for(WooCommerceIntegration(standin.url, "webhook-secret", WOO_KEY, WOO_SECRET), **options)

        assert isinstance(shopify_reader, ShopifyOrders) and isinstance(woo_reader, WooCommerceOrders)
        assert ids(shopify_reader.orders_updated_since(SINCE)) == [1000]
        assert ids(woo_reader.orders_updated_since(SINCE)) == [500]


class TestSafety:
    def test_credentials_are_never_sent_over_plain_http_beyond_this_machine(self) -> None:
        with pytest.raises(PlatformError, match="plain http"):
            ShopifyOrders(DOMAIN, SHOPIFY_TOKEN, base_url="http://shop.example")
        with pytest.raises(PlatformError, match="plain http"):
            WooCommerceOrders("http://shop.example", WOO_KEY, WOO_SECRET)

    def test_a_redirect_is_not_followed_so_the_credentials_stay_home(
        self, standin: PlatformStandin, clock: FakeClock
    ) -> None:
        standin.fail_next("woocommerce", 1, status=302, headers={"Location": "http://127.0.0.2:9/steal"})

        with pytest.raises(PlatformError, match="redirect") as refused:
            list(woo(standin, clock).orders_updated_since(SINCE))

        assert refused.value.status == 302
        assert len(standin.requests) == 1 and clock.sleeps == []

    def test_a_since_without_a_zone_is_refused_not_guessed(self, standin: PlatformStandin, clock: FakeClock) -> None:
        with pytest.raises(ValueError, match="time zone"):
            list(shopify(standin, clock).orders_updated_since("2026-12-01T10:00:00"))
        assert standin.requests == []
