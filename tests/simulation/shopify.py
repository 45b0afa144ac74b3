"""The shop that sells on Shopify, Shopify's webhook deliveries, and the catch-up's view of it.

The Shopify shop (``SHOPIFY_SHOP``) keeps each of its orders' current state, as Shopify
does, and makes it change: new orders (1-3 lines of catalogue SKUs), edits (a line's
``current_quantity`` down, up, or to 0 to remove it, a line added) and cancels. Ids are
64-bit integers above 2^53 (a float would change them), times carry the shop's zone.
Every change moves the order's ``updated_at`` on by at least a second (Shopify's times
have seconds; the service applies a state only when strictly newer) and makes
deliveries, each carrying the state as it was when it was made: ``orders/create``
(sometimes followed by an ``orders/updated`` of the same state, as Shopify sends),
``orders/updated``, and ``orders/cancelled`` with an ``orders/updated`` beside it. Now
and then it also sends an ``orders/paid`` (a topic the service does not take: applied
as *rejected*, which the simulation means), and a stranger sends a forged delivery
(refused with 401, nothing stored).

The network between Shopify and the webhook function: a delivery may be **dropped**
(``FaultPlan.webhook_drop``: Shopify gives up on it, it never arrives), duplicated
(another copy with the same ``X-Shopify-Webhook-Id``), held back (delivered after later
ones), answered 429 or 503 by API Gateway before the function runs
(``webhook_unavailable``), or processed with its answer lost. Shopify retries any answer
but a 2xx with the same webhook id, up to ``MAX_RETRIES`` times, then gives up (dropped
too). A 200 is *acknowledged*.

The catch-up reads this shop's orders through :class:`ShopifyReader` (in-process, in
place of the Admin API reader, which is tested over HTTP elsewhere): the current state
of every order updated at or after ``since``, sorted by ``updated_at``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tests.simulation.cloud import SHOPIFY_SHOP, Cloud, Response
from tests.simulation.faults import FaultPlan
from tests.simulation.webshop import Webshop

DOMAIN = "sim-shfy.myshopify.com"
SECRET = "shpss_sim-webhook-secret-0042"
TOKEN = "shpat_sim-admin-api-token-0042"
FORGED_SECRET = "shpss_not-the-shops-secret"
ZONE = timezone(timedelta(hours=-5), "America/New_York")  # the shop's times carry its offset
MAX_RETRIES = 8  # Shopify retries a failed delivery 8 times over 4 hours, then gives up
NUMBER_BASE = 1000  # the shop's order numbers: "#1001", "#1002", ...
# kind -> weight of a Shopify event
EVENTS = {"create": 9, "edit": 7, "cancel": 2, "paid": 0.6, "forged": 0.4}
RECENT_CANCEL = 0.5  # of cancels: one of the two newest open orders
CUSTOMERS = tuple((1_000_000_000_000_000_000 + 7919 * n, f"Customer{n}") for n in range(1, 7))


@dataclass
class ShopLine:
    line_id: int
    sku: str
    quantity: int  # as ordered first (Shopify's ``quantity``)
    current: int  # after edits (``current_quantity``): what the line still orders


@dataclass
class ShopOrder:
    order_id: int
    number: int
    customer: tuple[int, str]
    created_at: datetime
    updated_at: datetime
    lines: list[ShopLine]
    cancelled_at: datetime | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None


@dataclass
class Hook:
    """One webhook delivery as Shopify makes it: the state at that moment, its webhook id
    kept over every retry."""

    hid: int
    topic: str
    order_id: str
    webhook_id: str
    body: bytes
    headers: dict[str, str]
    genuine: bool = True  # False: a stranger's forgery
    attempts: int = 0  # Shopify's own tries (a network duplicate is not one)
    history: list[Response] = field(default_factory=list)
    acked: bool = False  # Shopify heard 200
    dropped: bool = False  # never delivered, or given up after MAX_RETRIES
    stuck: bool = False  # still failing at the end of the day with every fault off

    @property
    def key(self) -> str:
        """The service's dedupe key of this delivery."""
        return f"webhook:{self.webhook_id}"

    def describe(self) -> str:
        return f"webhook #{self.hid} {self.topic} of {self.order_id}"


@dataclass(order=True)
class PendingHook:
    due: int
    seq: int
    hook: Hook = field(compare=False)
    copy: bool = field(default=False, compare=False)
    reason: str = field(default="", compare=False)


def when(moment: datetime) -> str:
    """A time as Shopify writes it: seconds, the shop's offset."""
    return moment.astimezone(ZONE).replace(microsecond=0).isoformat()


class ShopifyShop:
    def __init__(self, cloud: Cloud, shop: Webshop, rng: random.Random, net: random.Random, plan: FaultPlan) -> None:
        self.cloud = cloud
        self.shop = shop  # the native webshop: its catalogue and the step
        self.rng = rng
        self.net = net
        self.plan = plan
        self.orders: dict[str, ShopOrder] = {}  # by the id as text
        self.hooks: list[Hook] = []
        self.pending: list[PendingHook] = []
        self._ids: set[int] = set()
        self._numbers = itertools.count(NUMBER_BASE + 1)
        self._hids = itertools.count(1)
        self._seq = itertools.count()
        self.faults: dict[str, int] = {
            "dropped": 0, "given up": 0, "duplicated": 0, "held back": 0, "unavailable": 0, "lost response": 0,
        }  # fmt: skip
        counted = ("runs", "read", "stored", "failed shops", "crashed", "failed")
        self.catch_ups: dict[str, int] = dict.fromkeys(counted, 0)
        self.reader = ShopifyReader(self)
        self.last_report: dict[str, Any] | None = None  # the last catch-up run's report
        self.catch_up_errors: list[str] = []  # a run that failed (not crashed): invariants.check_webhooks

    # ------------------------------------------------------------ setting up
    def open_shop(self) -> None:
        """The shop's Shopify integration, with an Admin API token so the catch-up reads it."""
        body = {"shop_domain": DOMAIN, "webhook_secret": SECRET, "admin_api_token": TOKEN}
        answer = self.cloud.api("PUT", "/v1/shop/integrations/shopify", body, shop=SHOPIFY_SHOP)
        assert answer.ok and answer.body["shopify"]["catch_up"] is True, f"integration: {answer.status} {answer.body}"
        from backorders.domain.webshops.integrations import ShopifyIntegration

        def readers(integration: Any) -> ShopifyReader | None:
            ours = isinstance(integration, ShopifyIntegration) and integration.shop_domain == DOMAIN
            return self.reader if ours and integration.admin_api_token == TOKEN else None

        self.cloud.svc.catch_up.readers = readers

    def open_orders(self) -> list[str]:
        return [oid for oid, o in sorted(self.orders.items()) if not o.cancelled]

    # ------------------------------------------------------------ the shop's events
    def event(self) -> str:
        kinds = list(EVENTS)
        kind = self.rng.choices(kinds, weights=[EVENTS[k] for k in kinds])[0]
        if kind != "create" and kind != "forged" and not self.open_orders():
            kind = "create"
        return str(getattr(self, f"_{kind}")())

    def _new_id(self) -> int:
        while True:
            candidate = self.rng.randrange(2**53 + 1, 2**63)
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def _line(self) -> ShopLine:
        quantity = self.rng.randint(1, 4) if self.rng.random() < 0.9 else self.rng.randint(5, 9)
        return ShopLine(self._new_id(), self.rng.choice(self.shop.catalogue), quantity, quantity)

    def _touch(self, order: ShopOrder) -> None:
        """The order changed now: its ``updated_at`` moves on by at least a second."""
        now = self.cloud.clock.now.replace(microsecond=0)
        order.updated_at = max(now, order.updated_at + timedelta(seconds=1))

    def _create(self) -> str:
        now = self.cloud.clock.now.replace(microsecond=0)
        order = ShopOrder(
            order_id=self._new_id(),
            number=next(self._numbers),
            customer=self.rng.choice(CUSTOMERS),
            created_at=now,
            updated_at=now,
            lines=[self._line() for _ in range(self.rng.randint(1, 3))],
        )
        oid = str(order.order_id)
        self.orders[oid] = order
        self.shop.order_shop[oid] = SHOPIFY_SHOP  # the warehouse reads and ships it as any order
        self.shop.webshop_orders.add(oid)
        said = [self.send(self._hook("orders/create", order))]
        if self.rng.random() < 0.3:  # Shopify often follows a new order with an update of the same state
            said.append(self.send(self._hook("orders/updated", order)))
        return f"shopify order {self._name(order)} ({len(order.lines)} line(s)): " + "; ".join(said)

    def _edit(self) -> str:
        order = self.orders[self.rng.choice(self.open_orders())]
        live = [line for line in order.lines if line.current > 0]
        what = self.rng.choices(["down", "up", "remove", "add"], weights=[4, 4, 1, 2])[0]
        line = self.rng.choice(live)
        floor = 0 if len(live) > 1 else 1  # the last unit of an order goes by cancelling it
        if what == "remove" and floor:
            what = "down"
        if what == "down" and line.current - 1 < floor:
            what = "up"
        if what == "add":
            line = self._line()
            order.lines.append(line)
            change = f"added {line.current} {line.sku}"
        elif what == "up":
            line.current += self.rng.randint(1, 3)
            line.quantity = max(line.quantity, line.current)
            change = f"{line.sku} up to {line.current}"
        else:
            line.current = 0 if what == "remove" else self.rng.randint(floor, line.current - 1)
            change = f"{line.sku} down to {line.current}"
        self._touch(order)
        return f"shopify edit of {self._name(order)} ({change}): " + self.send(self._hook("orders/updated", order))

    def _cancel(self) -> str:
        """Often an order just placed (the customer changes their mind, a fraud check),
        while its own deliveries may still be in flight."""
        open_orders = self.open_orders()
        if self.rng.random() < RECENT_CANCEL:
            open_orders = sorted(open_orders, key=lambda oid: self.orders[oid].number)[-2:]
        order = self.orders[self.rng.choice(open_orders)]
        self._touch(order)
        order.cancelled_at = order.updated_at
        first, second = ("orders/cancelled", "orders/updated")
        if self.net.random() < 0.5:
            first, second = second, first
        said = [self.send(self._hook(first, order)), self.send(self._hook(second, order))]
        return f"shopify cancel of {self._name(order)}: " + "; ".join(said)

    def _paid(self) -> str:
        """A topic the service does not take: the delivery is stored, then rejected."""
        order = self.orders[self.rng.choice(self.open_orders())]
        return f"shopify orders/paid of {self._name(order)}: " + self.send(self._hook("orders/paid", order))

    def _forged(self) -> str:
        """A stranger posts an order signed with a secret that is not the shop's."""
        now = self.cloud.clock.now.replace(microsecond=0)
        fake = ShopOrder(self._new_id(), 9999, CUSTOMERS[0], now, now, [self._line()])
        hook = self._hook("orders/create", fake, secret=FORGED_SECRET)
        return "a forged orders/create: " + self.send(hook)

    def _name(self, order: ShopOrder) -> str:
        return f"#{order.number} ({order.order_id})"

    # ------------------------------------------------------------ payloads and deliveries
    def payload(self, order: ShopOrder) -> dict[str, Any]:
        """The order as Shopify's REST payload has it now (webhooks and ``orders.json`` alike)."""
        customer_id, name = order.customer
        email = f"{name.lower()}@example.com"
        return {
            "id": order.order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order.order_id}",
            "name": f"#{order.number}",
            "order_number": order.number,
            "number": order.number - NUMBER_BASE,
            "email": email,
            "contact_email": email,
            "created_at": when(order.created_at),
            "updated_at": when(order.updated_at),
            "processed_at": when(order.created_at),
            "cancelled_at": when(order.cancelled_at) if order.cancelled_at else None,
            "cancel_reason": "customer" if order.cancelled_at else None,
            "closed_at": None,
            "currency": "USD",
            "financial_status": "voided" if order.cancelled_at else "paid",
            "fulfillment_status": None,
            "customer": {"id": customer_id, "email": email, "first_name": name, "last_name": "Sim"},
            "line_items": [
                {
                    "id": line.line_id,
                    "admin_graphql_api_id": f"gid://shopify/LineItem/{line.line_id}",
                    "sku": line.sku,
                    "title": line.sku.title(),
                    "name": line.sku.title(),
                    "quantity": line.quantity,
                    "current_quantity": line.current,
                    "fulfillable_quantity": 0 if order.cancelled_at else line.current,
                    "fulfillment_status": None,
                    "price": "9.95",
                    "gift_card": False,
                    "requires_shipping": True,
                    "taxable": True,
                }
                for line in order.lines
            ],
            "refunds": [],
            "fulfillments": [],
        }

    def _hook(self, topic: str, order: ShopOrder, *, secret: str = SECRET) -> Hook:
        body = json.dumps(self.payload(order)).encode()
        webhook_id = str(uuid.UUID(int=self.net.getrandbits(128), version=4))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Shopify-Captain-Hook",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(
                hmac.new(secret.encode(), body, hashlib.sha256).digest()
            ).decode(),
            "X-Shopify-Shop-Domain": DOMAIN,
            "X-Shopify-API-Version": "2025-01",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Event-Id": str(uuid.UUID(int=self.net.getrandbits(128), version=4)),
            "X-Shopify-Triggered-At": self.cloud.clock.now.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        }
        hook = Hook(next(self._hids), topic, str(order.order_id), webhook_id, body, headers, genuine=secret == SECRET)
        self.hooks.append(hook)
        return hook

    # ------------------------------------------------------------ the network
    def send(self, hook: Hook) -> str:
        if hook.genuine and self.net.random() < self.plan.webhook_drop:
            hook.dropped = True
            self.faults["dropped"] += 1
            return f"{hook.describe()}: dropped (never delivered)"
        if self.net.random() < self.plan.duplicate_delivery:
            self.faults["duplicated"] += 1
            self._schedule(hook, self.net.randint(0, 6), copy=True, reason="duplicate")
        if self.net.random() < self.plan.hold_back:
            self.faults["held back"] += 1
            self._schedule(hook, self.net.randint(1, 12), reason="held back")
            return f"{hook.describe()}: held back by the network"
        return self.deliver(hook)

    def _schedule(self, hook: Hook, delay: int, *, copy: bool = False, reason: str = "") -> None:
        self.pending.append(PendingHook(self.shop.step + delay, next(self._seq), hook, copy, reason))

    def due(self) -> list[PendingHook]:
        return sorted(p for p in self.pending if p.due <= self.shop.step)

    def deliver_one(self, pending: PendingHook | None = None) -> str | None:
        if pending is None:
            ready = self.due()
            if not ready:
                return None
            pending = ready[0]
        self.pending.remove(pending)
        if pending.copy:
            return f"{pending.hook.describe()} (network duplicate) -> {self._post(pending.hook)}"
        return self.deliver(pending.hook, note=pending.reason)

    def _post(self, hook: Hook) -> Response:
        if self.net.random() < self.plan.webhook_unavailable:
            self.faults["unavailable"] += 1
            response = Response(self.net.choice((429, 503)), {"message": "simulated gateway"})
        else:
            response = self.cloud.webhook("shopify", SHOPIFY_SHOP, hook.body, hook.headers)
        hook.history.append(response)
        return response

    def deliver(self, hook: Hook, note: str = "") -> str:
        hook.attempts += 1
        response = self._post(hook)
        label = f"{hook.describe()}{' (' + note + ')' if note else ''} -> {response}"
        lost = response.status < 500 and self.net.random() < self.plan.lost_response
        if lost:
            self.faults["lost response"] += 1
            label += ", response lost"
        if response.ok and not lost:
            hook.acked = True
        elif not hook.genuine and response.status == 401:
            pass  # the forger gives up
        elif hook.acked:
            pass  # a retry of one already acknowledged (its duplicate's answer was lost)
        elif hook.attempts > MAX_RETRIES:
            hook.dropped = True
            self.faults["given up"] += 1
            label += ", Shopify gives up"
        else:
            self._schedule(hook, self.net.randint(1, 5), reason="retry")
        return label

    def flush(self) -> int:
        """Deliver everything in flight, every fault off: the end of the day. A delivery
        Shopify still retries after ``MAX_RETRIES`` more tries is marked stuck."""
        count = 0
        tries: dict[int, int] = {}
        while self.pending:
            pending = min(self.pending)
            if not pending.copy:
                tries[pending.hook.hid] = tries.get(pending.hook.hid, 0) + 1
                if tries[pending.hook.hid] > MAX_RETRIES:
                    pending.hook.stuck = True
                    self.pending.remove(pending)
                    continue
            pending.due = self.shop.step
            self.deliver_one(pending)
            count += 1
        return count

    # ------------------------------------------------------------ the catch-up
    def catch_up(self) -> str:
        """One run of the catch-up schedule (the real function, its reader this shop)."""
        from tests.simulation.faults import SimulatedCrash

        self.catch_ups["runs"] += 1
        try:
            report = self.cloud.catch_up()
        except SimulatedCrash:
            self.catch_ups["crashed"] += 1
            return "catch-up crashed"
        except Exception as exc:  # the function failed: the schedule runs again, but see check_webhooks
            self.catch_ups["failed"] += 1
            self.catch_up_errors.append(f"{type(exc).__name__}: {exc}")
            return f"catch-up failed: {type(exc).__name__}: {exc}"
        self.catch_ups["read"] += int(report["read"])
        self.catch_ups["stored"] += int(report["stored"])
        self.catch_ups["failed shops"] += len(report["failed"])
        self.last_report = report
        failed = f", failed {report['failed']}" if report["failed"] else ""
        return f"catch-up read {report['read']} order(s), stored {report['stored']}{failed}"


class ShopifyReader:
    """What the Admin API's ``orders.json?status=any&updated_at_min=<since>`` lists: the
    shop's orders updated at or after ``since`` (inclusive), oldest update first, each as
    its current payload (read from JSON, so ids stay exact integers)."""

    def __init__(self, shop: ShopifyShop) -> None:
        self.shop = shop
        self.reads = 0

    def orders_updated_since(self, since: str) -> Iterator[dict[str, Any]]:
        self.reads += 1
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
        listed = sorted(
            (o for o in self.shop.orders.values() if o.updated_at >= moment), key=lambda o: (o.updated_at, o.order_id)
        )
        for order in listed:
            yield json.loads(json.dumps(self.shop.payload(order)))
