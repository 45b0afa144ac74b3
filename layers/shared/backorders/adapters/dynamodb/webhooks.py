"""Webhook deliveries, rejections and the catch-up's marks in the table (decision 69).
Part of ``DynamoStore`` (its base class), kept apart so that the store's own file stays
about orders and stock."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError

from backorders.adapters.dynamodb.models import (
    INTEGRATIONS,
    CatchUpItem,
    DeliveryItem,
    RejectionItem,
    StateSeenItem,
    delivery_sk,
    webhook_pk,
)
from backorders.adapters.dynamodb.storage import storage
from backorders.domain.errors import TooLarge
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.deliveries import Delivery, Status, bounded
from backorders.services.ports import CatchUpMark, Rejection

MAX_STORED_BYTES = 350 * 1024  # an item is at most 400 KB; the rest is keys and headers


class BodyTooLarge(TooLarge):
    """A delivery whose body, compressed, does not fit in one item (413, nothing stored)."""


def _conditional_failed(exc: PutError) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class WebhookTables:
    @storage
    def put_delivery(self, delivery: Delivery, *, expires: datetime) -> bool:
        """Store a delivery unless one with its key is stored already (False then)."""
        body = zlib.compress(delivery.body, 6)
        if len(body) > MAX_STORED_BYTES:
            raise BodyTooLarge(f"the body is {len(body) // 1024:,} KB compressed, over {MAX_STORED_BYTES // 1024} KB")
        item = DeliveryItem(
            pk=webhook_pk(delivery.shop),
            sk=delivery_sk(delivery.platform.value, delivery.key),
            shop=delivery.shop,
            platform=delivery.platform.value,
            key=delivery.key,
            topic=delivery.topic,
            body=body,
            received_at=delivery.received_at,
            event_id=delivery.event_id,
            triggered_at=delivery.triggered_at,
            status=delivery.status.value,
            expires_at=expires,
        )
        try:
            item.save(condition=DeliveryItem.pk.does_not_exist())
        except PutError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    @storage
    def delivery(self, shop: str, key: str) -> Delivery | None:
        """The delivery stored under its item's sort key ``key`` (``DELIVERY#...``)."""
        try:
            item = DeliveryItem.get(webhook_pk(shop), key, consistent_read=True)
        except DeliveryItem.DoesNotExist:
            return None
        return Delivery(
            shop=item.shop,
            platform=Platform(item.platform),
            key=item.key,
            topic=item.topic,
            body=zlib.decompress(item.body),
            received_at=item.received_at,
            event_id=item.event_id,
            triggered_at=item.triggered_at,
            status=Status(item.status),
            reason=item.reason,
        )

    @storage
    def settle_delivery(self, delivery: Delivery, status: Status, reason: str | None = None) -> None:
        """Mark a delivery applied or rejected (a stream retry then skips it)."""
        item = DeliveryItem(pk=webhook_pk(delivery.shop), sk=delivery_sk(delivery.platform.value, delivery.key))
        item.update(
            actions=[
                DeliveryItem.status.set(status.value),
                DeliveryItem.reason.set(reason) if reason else DeliveryItem.reason.remove(),
            ],
            condition=DeliveryItem.pk.exists(),
        )

    @storage
    def put_rejection(self, shop: str, rejection: Rejection, *, expires: datetime) -> None:
        RejectionItem(
            pk=webhook_pk(shop),
            sk=f"REJECTED#{rejection.received_at}#{rejection.platform.value}#{bounded(rejection.key)}",
            platform=rejection.platform.value,
            topic=rejection.topic,
            key=bounded(rejection.key),
            received_at=rejection.received_at,
            reason=rejection.reason[:500],
            order_id=rejection.order_id,
            expires_at=expires,
        ).save()

    @storage
    def rejections(self, shop: str, *, limit: int) -> list[Rejection]:
        """The shop's newest rejections first."""
        items = RejectionItem.query(
            webhook_pk(shop), RejectionItem.sk.startswith("REJECTED#"), scan_index_forward=False, limit=limit
        )
        return [Rejection(i.received_at, Platform(i.platform), i.topic, i.key, i.reason, i.order_id) for i in items]

    @storage
    def state_seen(self, shop: str, platform: Platform, order_id: str) -> str | None:
        try:
            item = StateSeenItem.get(webhook_pk(shop), f"STATE#{platform.value}#{order_id}", consistent_read=True)
        except StateSeenItem.DoesNotExist:
            return None
        return item.updated_at

    @storage
    def mark_state_seen(self, shop: str, platform: Platform, order_id: str, updated_at: str, *,
                        expires: datetime) -> None:  # fmt: skip
        """Keep ``updated_at`` unless a newer one is kept already."""
        item = StateSeenItem(pk=webhook_pk(shop), sk=f"STATE#{platform.value}#{order_id}")
        try:
            item.update(
                actions=[StateSeenItem.updated_at.set(updated_at), StateSeenItem.expires_at.set(expires)],
                condition=StateSeenItem.updated_at.does_not_exist() | (StateSeenItem.updated_at < updated_at),
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    # -------------------------------------------------------------- catch-up
    @storage
    def mark_configured(self, shop: str, platform: Platform, at: str) -> None:
        """Register a shop's integration with the catch-up (its first PUT sets the time
        the catch-up reads from; a later PUT keeps it)."""
        item = CatchUpItem(pk=INTEGRATIONS, sk=f"{shop}#{platform.value}")
        item.update(
            actions=[
                CatchUpItem.shop.set(shop),
                CatchUpItem.platform.set(platform.value),
                CatchUpItem.configured_at.set(CatchUpItem.configured_at | at),
            ]
        )

    @storage
    def catch_up_marks(self) -> Iterator[CatchUpMark]:
        for item in CatchUpItem.query(INTEGRATIONS, consistent_read=True):
            yield CatchUpMark(item.shop, Platform(item.platform), item.configured_at, item.seen_until)

    @storage
    def set_seen_until(self, shop: str, platform: Platform, until: str) -> None:
        CatchUpItem(pk=INTEGRATIONS, sk=f"{shop}#{platform.value}").update(
            actions=[CatchUpItem.seen_until.set(until)], condition=CatchUpItem.pk.exists()
        )
