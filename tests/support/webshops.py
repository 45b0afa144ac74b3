"""Webshop deliveries as the platforms send them: their documented payloads
(``tests/fixtures/webshops``), written and signed as Shopify and WooCommerce write and
sign them, with the headers each sends (../shared/TOOLCHAIN.md, "Webshops")."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webshops"
SHOPIFY_DOMAIN = "acme-books.myshopify.com"
SHOPIFY_SECRET = "shpss_webhook-secret-4711"
WOO_SITE = "https://shop.example.org"
WOO_SECRET = "wc-webhook-secret-4711"


def payload(name: str) -> dict[str, Any]:
    """A fixture as an object (integers exact: Python reads them without a float)."""
    data: dict[str, Any] = json.loads((FIXTURES / name).read_bytes())
    return copy.deepcopy(data)


def signed(body: bytes, secret: str) -> str:
    """As both platforms sign: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_body(order: dict[str, Any]) -> bytes:
    return json.dumps(order).encode()


def woo_body(order: dict[str, Any]) -> bytes:
    """As WooCommerce's PHP writes JSON: ``/`` escaped as ``\\/``."""
    return json.dumps(order).replace("/", "\\/").encode()


def shopify_headers(
    body: bytes,
    topic: str,
    *,
    webhook_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
    domain: str = SHOPIFY_DOMAIN,
    triggered_at: str = "2026-12-02T10:00:00.000000000Z",
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signed(body, secret),
        "X-Shopify-Shop-Domain": domain,
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at,
    }


def woo_headers(body: bytes, topic: str, *, secret: str = WOO_SECRET, site: str = WOO_SITE) -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": site + "/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signed(body, secret),
        "X-WC-Webhook-ID": "31",
        "X-WC-Webhook-Delivery-ID": uuid.uuid4().hex,
    }


SHOPIFY_INTEGRATION = {"shop_domain": SHOPIFY_DOMAIN, "webhook_secret": SHOPIFY_SECRET}
WOO_INTEGRATION = {"site_url": WOO_SITE, "webhook_secret": WOO_SECRET}
