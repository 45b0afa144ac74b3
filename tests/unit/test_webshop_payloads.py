"""Shopify's and WooCommerce's webhook payloads in the service's terms (issue 11, first
part): signatures over the raw bytes, ids above 2^53 kept exactly, each platform's order
as a snapshot (lines, held lines, untracked lines, statuses), Shopify's refunds and
fulfillments. Pure: the payloads are files built from the platforms' documented examples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from backorders.domain.webshops import shopify, woocommerce
from backorders.domain.webshops.common import (
    HeldLine,
    Platform,
    ShopLine,
    Unmappable,
    line_numbers,
    new_order,
    read_json,
    signature_ok,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webshops"
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def signed(body: bytes, secret: str = SECRET) -> str:
    """As both platforms sign: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# ------------------------------------------------------------------ signatures


def test_a_body_signed_with_the_shops_secret_passes_and_anything_else_does_not():
    body = raw("shopify-orders-create.json")
    assert signature_ok(SECRET, body, signed(body))
    assert not signature_ok(SECRET, body + b" ", signed(body))  # the body changed
    assert not signature_ok(SECRET, body, signed(body, "another secret"))  # forged
    assert not signature_ok(SECRET, body, None)  # missing
    assert not signature_ok(SECRET, body, "")
    assert not signature_ok("", body, signed(body, ""))  # a shop without a secret accepts nothing


def test_woocommerce_is_checked_on_the_bytes_it_sent_not_on_a_reserialised_body():
    body = raw("woocommerce-order-created.json")
    assert b"https:\\/\\/example.com" in body  # PHP escapes "/" as "\/"
    again = json.dumps(json.loads(body)).encode()
    assert signature_ok(SECRET, body, signed(body))
    assert not signature_ok(SECRET, again, signed(body))


# ------------------------------------------------------------------ exact ids


def test_a_shopify_id_above_2_to_the_53_round_trips_exactly():
    payload = read_json(raw("shopify-orders-create.json"))
    snapshot = shopify.order(payload, now=NOW)
    assert snapshot.order_id == "820982911946154508"
    assert [line.line_id for line in snapshot.lines][:2] == ["866550311766439020", "141249953214522974"]
    assert int(float("820982911946154508")) != 820982911946154508  # what a float would have made of it


def test_prices_are_read_as_decimals_and_a_body_that_is_not_json_is_unmappable():
    assert read_json(b'{"price": 19.99}')["price"] == Decimal("19.99")
    for body in (b"webhook_id=12", b"[1, 2]", b"\xff\xfe"):
        with pytest.raises(Unmappable):
            read_json(body)


# ------------------------------------------------------------------ Shopify orders


def test_a_shopify_order_becomes_a_snapshot_with_its_lines_held_and_untracked_ones():
    snapshot = shopify.order(read_json(raw("shopify-orders-create.json")), now=NOW)
    assert (snapshot.platform, snapshot.number) == (Platform.SHOPIFY, "#9999")
    assert snapshot.entered_at == "2026-11-30T17:53:11.000000Z"  # -05:00 in UTC
    assert (snapshot.cancelled, snapshot.placed, snapshot.completed) == (False, True, False)
    assert snapshot.lines == (
        ShopLine("866550311766439020", "IPOD2008PINK", 1, Decimal("199.00")),
        ShopLine("141249953214522974", "IPOD2008BLACK", 3, Decimal("199.00")),  # current_quantity, not quantity
        ShopLine("257004973105704598", "GIFT-25", 1, Decimal("25.00"), untracked=True),  # a gift card
    )
    assert snapshot.held == (HeldLine("703073504163798745", 2, "no SKU"),)  # held, never dropped
    assert snapshot.customer.id == "115310627314723954"
    assert (snapshot.customer.email, snapshot.customer.name) == ("jon@example.com", "John Smith")
    assert "jon@example.com" not in repr(snapshot)  # the customer's repr names the id only


def test_a_cancelled_shopify_order_and_a_guest_checkout():
    payload = read_json(raw("shopify-orders-create.json"))
    payload.update(cancelled_at="2026-11-30T13:00:00-05:00", customer=None)
    snapshot = shopify.order(payload, now=NOW)
    assert snapshot.cancelled
    assert snapshot.customer.id == "guest-820982911946154508"
    assert snapshot.customer.name == "Steve Shipper"  # from the billing address


def test_a_line_without_current_quantity_orders_its_quantity_and_a_bad_sku_is_held_with_the_reason():
    payload = read_json(raw("shopify-orders-create.json"))
    del payload["line_items"][1]["current_quantity"]
    payload["line_items"][0]["sku"] = "IPOD/PINK"
    snapshot = shopify.order(payload, now=NOW)
    assert snapshot.lines[0] == ShopLine("141249953214522974", "IPOD2008BLACK", 4, Decimal("199.00"))
    assert snapshot.held[0] == HeldLine("866550311766439020", 1, "SKU 'IPOD/PINK' is not a valid identifier")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "order id is missing"),
        ({"created_at": "2026-11-30 12:53"}, "created_at must include a time zone"),
        ({"line_items": {"id": 1}}, "line_items is not a list of objects"),
    ],
)
def test_an_order_the_service_cannot_read_is_unmappable_with_the_reason(change, reason):
    payload = read_json(raw("shopify-orders-create.json")) | change
    with pytest.raises(Unmappable, match=reason):
        shopify.order(payload, now=NOW)


def test_an_older_snapshot_never_supersedes_a_newer_one():
    snapshot = shopify.order(read_json(raw("shopify-orders-create.json")), now=NOW)
    assert snapshot.newer_than(None) and snapshot.newer_than("2026-11-30T17:53:10.999999Z")
    assert not snapshot.newer_than(snapshot.updated_at)
    assert not snapshot.newer_than("2026-11-30T18:00:00.000000Z")


# ------------------------------------------------------------------ Shopify refunds and fulfillments


def test_a_refund_returns_shipped_units_releases_unshipped_ones_and_no_restock_moves_none():
    refund = shopify.refund(read_json(raw("shopify-refunds-create.json")), now=NOW)
    assert (refund.refund_id, refund.order_id) == ("890088186047892319", "820982911946154508")
    returned, released = shopify.restocks(refund, shipped={"866550311766439020": 1})
    assert returned == {"866550311766439020": 1}
    assert released == {"141249953214522974": 1}  # no_restock: the engraving moves no stock


def test_a_legacy_restock_returns_what_had_shipped_and_releases_the_rest():
    payload = read_json(raw("shopify-refunds-create.json"))
    payload["refund_line_items"] = [payload["refund_line_items"][1] | {"restock_type": "legacy_restock", "quantity": 3}]
    refund = shopify.refund(payload, now=NOW)
    assert shopify.restocks(refund, shipped={"141249953214522974": 2}) == (
        {"141249953214522974": 2},
        {"141249953214522974": 1},
    )


def test_a_restock_type_shopify_does_not_document_is_unmappable():
    payload = read_json(raw("shopify-refunds-create.json"))
    payload["refund_line_items"][0]["restock_type"] = "restock_everything"
    with pytest.raises(Unmappable, match="restock_type 'restock_everything'"):
        shopify.refund(payload, now=NOW)


def test_a_fulfillment_names_the_lines_and_units_sent():
    sent = shopify.fulfillment(read_json(raw("shopify-fulfillments-create.json")))
    assert (sent.order_id, sent.shipped) == ("820982911946154508", True)
    assert sent.lines == (("866550311766439020", 1), ("141249953214522974", 2))
    assert not shopify.fulfillment(read_json(raw("shopify-fulfillments-create.json")) | {"status": "cancelled"}).shipped


# ------------------------------------------------------------------ WooCommerce


def test_a_woocommerce_order_becomes_a_snapshot_its_gmt_times_are_utc():
    snapshot = woocommerce.order(read_json(raw("woocommerce-order-created.json")), now=NOW)
    assert (snapshot.platform, snapshot.order_id, snapshot.number) == (Platform.WOOCOMMERCE, "727", "727")
    assert snapshot.entered_at == "2026-11-30T18:22:10.000000Z"  # date_created_gmt has no Z, but is UTC
    assert snapshot.lines == (
        ShopLine("315", "WOO-SINGLE-1", 2, Decimal("3")),
        ShopLine("316", "SHIP-IDEA-BLACK-M", 1, Decimal("12.5")),
    )
    assert snapshot.customer.id == "guest-727"  # customer_id 0: a guest
    assert snapshot.customer.name == "John Doe"


@pytest.mark.parametrize(
    ("status", "placed", "cancelled", "completed"),
    [
        ("processing", True, False, False),
        ("on-hold", True, False, False),
        ("completed", True, False, True),
        ("refunded", True, True, False),  # refunded in full: its open units are released (decision 71)
        ("cancelled", True, True, False),
        ("pending", False, False, False),
        ("failed", False, False, False),
        ("checkout-draft", False, False, False),
    ],
)
def test_woocommerce_statuses_map_as_its_stock_handling_does(status, placed, cancelled, completed):
    payload = read_json(raw("woocommerce-order-created.json")) | {"status": status}
    snapshot = woocommerce.order(payload, now=NOW)
    assert (snapshot.placed, snapshot.cancelled, snapshot.completed) == (placed, cancelled, completed)


def test_an_undocumented_woocommerce_status_is_unmappable():
    with pytest.raises(Unmappable, match="status 'shipped-by-owl'"):
        woocommerce.order(read_json(raw("woocommerce-order-created.json")) | {"status": "shipped-by-owl"}, now=NOW)


def test_the_woocommerce_ping_is_a_form_encoded_webhook_id_and_nothing_else():
    assert woocommerce.is_ping(b"webhook_id=17")
    assert not woocommerce.is_ping(b"webhook_id=17&x=1")
    assert not woocommerce.is_ping(raw("woocommerce-order-created.json"))
    assert woocommerce.deleted({"id": 727}) == "727"


# ------------------------------------------------------------------ onto native orders


def test_platform_lines_keep_their_numbers_and_new_ones_come_after():
    assert line_numbers({}, ["a", "b"]) == {"a": 1, "b": 2}
    assert line_numbers({"a": 1, "b": 2}, ["b", "c", "a"]) == {"a": 1, "b": 2, "c": 3}
    assert line_numbers({"a": 1, "c": 3}, ["d"]) == {"a": 1, "c": 3, "d": 4}  # a removed line's number stays taken


def test_a_snapshot_creates_the_native_order_of_its_orderable_lines():
    snapshot = shopify.order(read_json(raw("shopify-orders-create.json")), now=NOW)
    numbers = line_numbers({}, [line.line_id for line in snapshot.lines])
    order = new_order(snapshot, "shop-1", numbers)
    assert (order.shop, order.order_id, order.entered_at) == ("shop-1", "820982911946154508", snapshot.entered_at)
    assert [(ln.line_no, ln.sku, ln.quantity) for ln in order.lines] == [
        (1, "IPOD2008PINK", 1), (2, "IPOD2008BLACK", 3), (3, "GIFT-25", 1),
    ]  # fmt: skip
    assert new_order(snapshot, "shop-1", numbers).fingerprint == order.fingerprint  # a replay is a duplicate


def test_a_woocommerce_line_says_how_many_refunded_units_the_shop_restocked():
    payload = read_json(raw("woocommerce-order-created.json"))
    payload["line_items"][0]["meta_data"] = [{"id": 1, "key": "_reduced_stock", "value": "2"},
                                             {"id": 2, "key": "_restock_refunded_items", "value": "1"}]  # fmt: skip
    lines = woocommerce.order(payload, now=NOW).lines
    assert [(line.sku, line.restocked) for line in lines] == [("WOO-SINGLE-1", 1), ("SHIP-IDEA-BLACK-M", 0)]
