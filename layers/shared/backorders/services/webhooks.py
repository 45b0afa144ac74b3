"""Receiving webhooks (decision 69): verify, store, answer. The work happens on the
stream (``services.webshop_sync``), so a platform hears back within its timeout
(Shopify's is 5 seconds) whatever the delivery holds.

A delivery that is not genuine for the shop is refused and nothing is stored; a genuine
one is stored once per dedupe key (a duplicate is answered as the first was); the
WooCommerce ping is answered and not stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from backorders.domain.errors import TooLarge
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.deliveries import (
    MAX_BODY_BYTES,
    TOPIC_HEADERS,
    Delivery,
    Refused,
    dedupe_key,
    header,
    is_ping,
    verify,
)
from backorders.domain.webshops.integrations import Integration
from backorders.services.ports import Deliveries, Rejection

MAX_TOPIC = 100  # characters of a topic header kept (the platforms' are under 40)
DELIVERY_DAYS = 30  # how long a delivery's key is remembered (Shopify retries for 4 hours)
REJECTION_DAYS = 90


def days_after(now: str, days: int) -> datetime:
    return datetime.fromisoformat(now.replace("Z", "+00:00")) + timedelta(days=days)


class IntegrationReader(Protocol):
    def load(self, shop: str, platform: Platform, *, recheck: bool = False) -> Integration | None: ...


@dataclass(frozen=True, slots=True)
class Receipt:
    status: Literal["stored", "duplicate", "ping"]
    key: str | None = None


class WebhookReceiver:
    def __init__(self, store: Deliveries, integrations: IntegrationReader, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.integrations = integrations
        self.clock = clock

    def receive(self, platform: Platform, shop: str, headers: Mapping[str, str], body: bytes) -> Receipt:
        """Store a genuine delivery once; ``deliveries.Refused`` when it is not genuine,
        ``TooLarge`` when its body is over ``MAX_BODY_BYTES`` or does not fit one item."""
        if is_ping(platform, body):
            return Receipt("ping")
        try:
            verify(self.integrations.load(shop, platform), platform, headers, body)
        except Refused:  # perhaps signed with a secret the shop has just replaced: read it again, once
            verify(self.integrations.load(shop, platform, recheck=True), platform, headers, body)
        if len(body) > MAX_BODY_BYTES:
            raise TooLarge(f"the body exceeds {MAX_BODY_BYTES // 1024:,} KB")
        topic = (header(headers, TOPIC_HEADERS[platform]) or "")[:MAX_TOPIC]
        now = self.clock()
        delivery = Delivery(
            shop=shop,
            platform=platform,
            key=dedupe_key(platform, topic, headers, body),
            topic=topic,
            body=body,
            received_at=now,
            event_id=header(headers, "X-Shopify-Event-Id"),
            triggered_at=header(headers, "X-Shopify-Triggered-At"),
        )
        stored = self.store.put_delivery(delivery, expires=days_after(now, DELIVERY_DAYS))
        return Receipt("stored" if stored else "duplicate", delivery.key)

    def rejected(self, shop: str, *, limit: int = 100) -> list[Rejection]:
        return self.store.rejections(shop, limit=limit)
