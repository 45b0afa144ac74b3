"""A webhook delivery as it arrives (decision 69): whether it is genuine, what makes two
deliveries the same, and what is kept of it until it is applied.

A delivery is genuine when its signature holds under the shop's secret over the bytes as
received and, for Shopify, it names the shop's configured domain; anything else is
refused before anything is stored. Duplicates are told apart per platform:

- Shopify: ``X-Shopify-Webhook-Id`` is the same for every retry of one delivery (its
  ``X-Shopify-Event-Id`` and ``X-Shopify-Triggered-At`` are kept beside it). Two
  different deliveries of the same order state are both stored; applying the second
  changes nothing (``ShopOrder.newer_than``).
- WooCommerce: ``X-WC-Webhook-Delivery-ID`` is new for every delivery, so the key is the
  state itself: the order id and its ``date_modified_gmt``.
- The catch-up: the order id and the platform's ``updated_at`` it read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from backorders.domain.webshops import woocommerce
from backorders.domain.webshops.common import Platform, Unmappable, read_json, signature_ok
from backorders.domain.webshops.integrations import Integration, ShopifyIntegration, WooCommerceIntegration

MAX_BODY_BYTES = 1024 * 1024  # a Shopify order of some hundred lines; stored compressed
CATCH_UP_TOPIC = "catch-up/order"  # the topic of an order the catch-up read


class Status(StrEnum):
    RECEIVED = "received"  # stored, waiting for the stream
    APPLIED = "applied"
    REJECTED = "rejected"  # genuine, but the service could not map it (GET /v1/webhooks/rejected)


class Refused(Exception):
    """Not a genuine delivery for this shop: 401, nothing stored. ``header`` names the
    header at fault."""

    def __init__(self, message: str, header: str) -> None:
        super().__init__(message)
        self.message, self.header = message, header


@dataclass(frozen=True, slots=True)
class Delivery:
    """What is stored of a genuine delivery (or of an order the catch-up read)."""

    shop: str
    platform: Platform
    key: str  # the dedupe key: same key, same delivery
    topic: str
    body: bytes
    received_at: str
    event_id: str | None = None  # Shopify's X-Shopify-Event-Id
    triggered_at: str | None = None  # Shopify's X-Shopify-Triggered-At (a retry keeps it)
    status: Status = Status.RECEIVED
    reason: str | None = None  # why it was rejected

    def __repr__(self) -> str:  # the body holds customers' names and addresses
        return f"Delivery(shop={self.shop!r}, platform={self.platform.value}, topic={self.topic!r}, key={self.key!r})"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value (names compared without case), stripped; None when absent or empty."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value.strip() or None
    return None


SIGNATURE_HEADERS = {Platform.SHOPIFY: "X-Shopify-Hmac-Sha256", Platform.WOOCOMMERCE: "X-WC-Webhook-Signature"}
TOPIC_HEADERS = {Platform.SHOPIFY: "X-Shopify-Topic", Platform.WOOCOMMERCE: "X-WC-Webhook-Topic"}


def verify(integration: Integration | None, platform: Platform, headers: Mapping[str, str], body: bytes) -> None:
    """Refuse a delivery that is not genuine for the shop whose ``integration`` this is
    (None: the shop has none for this platform, which reads as a signature that cannot
    hold, so that a caller learns nothing about which shops exist)."""
    signature_header = SIGNATURE_HEADERS[platform]
    secret = integration.webhook_secret if integration is not None else ""
    if not signature_ok(secret, body, header(headers, signature_header)):
        raise Refused(f"the {signature_header} signature does not verify for this shop", signature_header)
    if isinstance(integration, ShopifyIntegration):
        domain = (header(headers, "X-Shopify-Shop-Domain") or "").lower()
        if domain != integration.shop_domain.lower():
            raise Refused("X-Shopify-Shop-Domain is not the shop's configured domain", "X-Shopify-Shop-Domain")
    elif isinstance(integration, WooCommerceIntegration):
        source = header(headers, "X-WC-Webhook-Source")
        if source is not None and _site(source) != _site(integration.site_url):
            raise Refused("X-WC-Webhook-Source is not the shop's configured site", "X-WC-Webhook-Source")


def _site(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def dedupe_key(platform: Platform, topic: str, headers: Mapping[str, str], body: bytes) -> str:
    """The key two deliveries share when they are the same one (module docstring)."""
    if platform is Platform.SHOPIFY:
        webhook_id = header(headers, "X-Shopify-Webhook-Id")
        return bounded(f"webhook:{webhook_id}") if webhook_id else f"body:{_digest(body)}"
    try:
        payload = read_json(body)
    except Unmappable:
        return f"body:{_digest(body)}"
    order_id, modified = payload.get("id"), payload.get("date_modified_gmt")
    if topic == "order.deleted" and order_id is not None:
        return bounded(f"deleted:{order_id}")
    if order_id is None or not modified:
        return f"body:{_digest(body)}"
    return bounded(f"order:{order_id}:{modified}")


def catch_up_key(order_id: str, updated_at: str) -> str:
    return bounded(f"catch-up:{order_id}:{updated_at}")


MAX_KEY = 200  # characters of a dedupe key; a sort key holds at most 1,024 bytes


def bounded(key: str) -> str:
    """A key as stored: as it is when short, else its digest (a header or an id can be
    any length; a platform's are far shorter)."""
    if len(key) <= MAX_KEY and len(key.encode()) <= MAX_KEY:
        return key
    return f"sha256:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def is_ping(platform: Platform, body: bytes) -> bool:
    """WooCommerce's unsigned ping on saving a webhook: 200, nothing written."""
    return platform is Platform.WOOCOMMERCE and woocommerce.is_ping(body)
