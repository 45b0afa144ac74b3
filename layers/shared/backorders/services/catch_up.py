"""The catch-up (decision 70): what webhooks dropped, read back from the platforms.

Shopify gives up on a delivery after 8 retries over 4 hours and WooCommerce never
retries, so a schedule reads, for each configured shop, the orders its platform changed
since the last run (Shopify ``orders.json``, WooCommerce ``wc/v3/orders``: the readers in
``adapters.shop_platforms``, which obey the platforms' rate limits) and stores each as a
delivery, exactly as a webhook would be stored. The stream applies it through the same
mapping: an order whose webhook was lost is recovered, one already applied changes
nothing (its state is not newer). A Shopify order also carries its refunds and
fulfillments; each is stored as the ``refunds/create`` or ``fulfillments/create`` it
stands for, keyed by its id, so a lost refund's restock is recovered too.

Each run reads from ``OVERLAP`` before the previous run began (a platform's clock,
WooCommerce's pages shifting under a concurrent edit, an order saved while the last run
read): an order read twice is one delivery (the key is its id and ``updated_at``). A run
that cannot finish a shop (the platform is down, the credentials are refused, the run's
budget is spent) keeps what it stored and leaves the mark where the orders it read end,
so the next run goes on from there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from backorders.domain.webshops import shopify, woocommerce
from backorders.domain.webshops.common import Platform, Unmappable
from backorders.domain.webshops.deliveries import CATCH_UP_TOPIC, Delivery, bounded, catch_up_key
from backorders.domain.webshops.integrations import Integration
from backorders.services.commit import retrying
from backorders.services.ports import CatchUpMark, CatchUpMarks, Deliveries
from backorders.services.webhooks import DELIVERY_DAYS, days_after

OVERLAP = timedelta(minutes=10)
MAX_ORDERS_PER_SHOP = 2000  # per run: a shop with more catches up over the next runs

log = logging.getLogger(__name__)


class OrderReader(Protocol):
    def orders_updated_since(self, since: str) -> Iterator[dict[str, Any]]: ...


class IntegrationLoader(Protocol):
    def load(self, shop: str, platform: Platform) -> Integration | None: ...


class CatchUpStore(Deliveries, CatchUpMarks, Protocol):
    """What the catch-up reads (the marks) and writes (deliveries, marks)."""


@dataclass(slots=True)
class ShopReport:
    shop: str
    platform: str
    read: int = 0
    stored: int = 0
    error: str | None = None
    skipped: bool = False  # no catch-up credentials: the shop gets webhooks only


@dataclass(slots=True)
class CatchUpReport:
    shops: list[ShopReport] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "shops": len(self.shops),
            "read": sum(s.read for s in self.shops),
            "stored": sum(s.stored for s in self.shops),
            "failed": [f"{s.shop}/{s.platform}: {s.error}" for s in self.shops if s.error],
            "webhooks_only": [f"{s.shop}/{s.platform}" for s in self.shops if s.skipped],
        }


class CatchUp:
    def __init__(
        self,
        store: CatchUpStore,
        integrations: IntegrationLoader,
        readers: Callable[[Integration], OrderReader | None],
        *,
        clock: Callable[[], str],
    ) -> None:
        self.store, self.integrations, self.readers, self.clock = store, integrations, readers, clock

    def run(self) -> CatchUpReport:
        report = CatchUpReport()
        marks = retrying(lambda: list(self.store.catch_up_marks()))  # a throttled read is read again
        for mark in marks:
            report.shops.append(self.shop(mark))
        return report

    def shop(self, mark: CatchUpMark) -> ShopReport:
        """Read one shop's platform since its mark, and move the mark on. Whatever fails
        (the platform, or storage throttling a read or the mark's update) fails this
        shop only: it is reported, and read again from its mark next run."""
        try:
            return self._shop(mark)
        except Exception as exc:
            log.warning("catch-up of a shop failed", extra={"shop": mark.shop, "platform": mark.platform.value})
            return ShopReport(mark.shop, mark.platform.value, error=f"{type(exc).__name__}: {exc}")

    def _shop(self, mark: CatchUpMark) -> ShopReport:
        report = ShopReport(mark.shop, mark.platform.value)
        integration = self.integrations.load(mark.shop, mark.platform)
        reader = self.readers(integration) if integration is not None else None
        if reader is None:
            report.skipped = True
            return report
        started = self.clock()
        since = _text(_moment(mark.seen_until or mark.configured_at) - OVERLAP)
        last_seen: str | None = None
        try:
            for raw in reader.orders_updated_since(since):
                report.read += 1
                for delivery in self._deliveries(mark, raw):
                    report.stored += self.store.put_delivery(delivery, expires=days_after(started, DELIVERY_DAYS))
                last_seen = _updated_at(mark.platform, raw, started) or last_seen
                if report.read >= MAX_ORDERS_PER_SHOP:
                    report.error = f"stopped after {report.read} orders; the next run goes on"
                    break
        except Exception as exc:  # the platform's errors carry no secret (adapters.shop_platforms)
            report.error = f"{type(exc).__name__}: {exc}"
            log.warning("catch-up of a shop failed", extra={"shop": mark.shop, "platform": mark.platform.value})
        if report.error is None:
            self.store.set_seen_until(mark.shop, mark.platform, started)
        elif last_seen is not None and last_seen > (mark.seen_until or ""):
            self.store.set_seen_until(mark.shop, mark.platform, min(last_seen, started))
        return report

    def _deliveries(self, mark: CatchUpMark, raw: Mapping[str, Any]) -> Iterator[Delivery]:
        """The order as the delivery a webhook would have made; a Shopify order's refunds
        and fulfillments as theirs."""
        now = self.clock()
        order_id = str(raw.get("id"))
        updated = _updated_at(mark.platform, raw, now) or now
        yield self._delivery(mark, catch_up_key(order_id, updated), CATCH_UP_TOPIC, raw, now)
        if mark.platform is Platform.SHOPIFY:
            for refund in _objects(raw.get("refunds")):
                key = bounded(f"catch-up:refund:{refund.get('id')}")
                yield self._delivery(mark, key, "refunds/create", {"order_id": raw.get("id"), **refund}, now)
            for fulfillment in _objects(raw.get("fulfillments")):
                key = bounded(f"catch-up:fulfillment:{fulfillment.get('id')}")
                body = {"order_id": raw.get("id"), **fulfillment}
                yield self._delivery(mark, key, "fulfillments/create", body, now)

    @staticmethod
    def _delivery(mark: CatchUpMark, key: str, topic: str, body: Mapping[str, Any], now: str) -> Delivery:
        return Delivery(mark.shop, mark.platform, key, topic, _json(body), now)


def _updated_at(platform: Platform, raw: Mapping[str, Any], now: str) -> str | None:
    """The order's update time in the service's form, as the payload readers read it."""
    moment = _moment(now)
    try:
        snapshot = (
            shopify.order(raw, now=moment) if platform is Platform.SHOPIFY else woocommerce.order(raw, now=moment)
        )
    except Unmappable:
        return None  # stored anyway: the stream rejects it with the reason, and lists it
    return snapshot.updated_at


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _json(body: Mapping[str, Any]) -> bytes:
    """The order as JSON again: integers exact, decimals as they were written."""
    return json.dumps(body, default=lambda value: str(value) if isinstance(value, Decimal) else None).encode()


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
