"""The webshop, its warehouse, and the network between them and the API.

The webshop generates a day: orders of 1-3 lines over a handful of SKUs (priorities,
ship types, line policies, tied entry times, a SKU ordered before it is in the
catalogue, an untracked gift card), cancellations (whole orders, some units, whole lines), customer returns,
purchase receipts, counts and adjustments, priority and quantity changes and forced
backorders. A second shop fills its backorders by hand and sends fill commands.
Its warehouse reads orders (``GET /v1/orders/{id}``; the Shopify shop's too, see
:mod:`shopify`) and releases and ships their shipments. Every write is an HTTP API v2.0
event sent to ``api_handler.lambda_handler``.

The network delivers each write at least once: it may duplicate a delivery, hold one
back and deliver it after later ones (out of order), or lose the response of a
processed request, so the webshop sees a failure and sends it again. The webshop, like
every webhook sender, retries 5xx, 429 and lost answers until it gets one, and retries
a 404 on an order it has sent (the edit overtook its order). Other 4xx are final.

It records what it was told: every 2xx is *acknowledged*, and :mod:`invariants` checks
at the end that no acknowledged write was lost.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from tests.simulation.cloud import MANUAL_SHOP, SHOP, Cloud, Response
from tests.simulation.faults import FaultPlan

SKUS = ("APPLE", "PEAR", "PLUM", "FIG", "KIWI")
LATE_SKU = "QUINCE"  # ordered before the catalogue knows it; registered during the day
UNTRACKED_SKU = "GIFT"  # a gift card: tracked false, "always fulfilled" (decision 14)
GIFT_SHARE = 0.015  # of order lines: an untracked gift card
CUSTOMERS = tuple(f"c{n}" for n in range(1, 7))
MANUAL_SHARE = 0.3  # of orders, from the shop that fills by hand
MAX_NOT_FOUND = 40  # an edit that keeps overtaking its order is given up after this many 404s
MAX_UNANSWERED = 12  # once faults stop, a request still failing after this many deliveries is stuck

# kind -> weight of a webshop event
EVENTS = {
    "order": 36,
    "receipt": 9,
    "return": 4,
    "adjustment": 3,
    "count": 3,
    "cancel_order": 4,
    "cancel_units": 4,
    "cancel_line": 3,
    "priority": 5,
    "force": 2,
    "quantity": 3,
    "fill": 3,
    "product": 1,
}


@dataclass
class Request:
    rid: int
    kind: str
    method: str
    path: str
    body: dict[str, Any] | None
    order_id: str | None = None
    headers: dict[str, str] | None = None
    shop: str = SHOP
    deliveries: int = 0
    history: list[Response] = field(default_factory=list)  # every answer, in delivery order
    not_found: int = 0
    final: Response | None = None  # the answer the webshop accepted (2xx or a final 4xx)
    acked_at: int | None = None  # processing index of the acknowledged delivery
    stuck: bool = False  # still no answer after MAX_UNANSWERED deliveries with every fault off

    @property
    def acked(self) -> bool:
        return self.final is not None and self.final.ok

    def describe(self) -> str:
        return f"#{self.rid} {self.method} {self.path}"


@dataclass(order=True)
class Pending:
    due: int
    seq: int
    request: Request = field(compare=False)
    copy: bool = field(default=False, compare=False)  # a network duplicate: nobody reads its answer
    reason: str = field(default="", compare=False)


@dataclass
class Processed:
    """One delivery the API processed (in processing order)."""

    index: int
    request: Request
    response: Response


class Webshop:
    def __init__(self, cloud: Cloud, rng: random.Random, net: random.Random, plan: FaultPlan) -> None:
        self.cloud = cloud
        self.rng = rng
        self.net = net
        self.plan = plan
        self.requests: list[Request] = []
        self.pending: list[Pending] = []
        self.processed: list[Processed] = []
        self.orders: dict[str, dict[str, Any]] = {}  # every order payload sent (ids unique over shops)
        self.order_shop: dict[str, str] = {}
        # orders a webshop platform holds (shopify.py): the warehouse reads and ships them too
        self.webshop_orders: set[str] = set()
        self.movements: dict[tuple[str, str], dict[str, Any]] = {}  # (sku, id) -> body
        self.catalogue: list[str] = list(SKUS)
        self._rids = itertools.count(1)
        self._seq = itertools.count()
        self._orders = itertools.count(1)
        self._moves = itertools.count(1)
        self.step = 0
        self.network_faults: dict[str, int] = {"duplicated": 0, "held back": 0, "lost response": 0}
        self.status_counts: dict[int, int] = {}
        self.known_bugs: set[str] = set()  # open production bugs this run ran into
        self.gift_share = GIFT_SHARE
        self.product_settings: dict[str, dict[str, Any]] = {}  # purchasing settings per SKU (the buyer's)

    # ------------------------------------------------------------ setting up the day
    def open_shop(self) -> None:
        """Catalogue and opening stock, before any fault is switched on."""
        self._must(self.cloud.api("PUT", "/v1/shop", {"fill_mode": "manual"}, shop=MANUAL_SHOP))
        gift = {"name": "Gift card", "tracked": False}
        self._must(self.cloud.api("PUT", f"/v1/products/{UNTRACKED_SKU}", gift))
        for sku in SKUS:
            self._must(self.cloud.api("PUT", f"/v1/products/{sku}", self.product_body(sku)))
            units = self.rng.randint(0, 12)
            if units:
                body = {"id": f"open-{sku}", "sku": sku, "kind": "count", "quantity": units}
                self._must(self.cloud.api("POST", "/v1/stock/movements", body))
                self.movements[(sku, body["id"])] = body
                request = self._new("count", "POST", "/v1/stock/movements", body)
                request.final = Response(201, None)

    def product_body(self, sku: str) -> dict[str, Any]:
        """What ``PUT /v1/products/{sku}`` sends: its name and purchasing settings (a PUT
        replaces them all)."""
        return {"name": sku.title(), **self.product_settings.get(sku, {"supplier_id": "s1"})}

    def _must(self, response: Response) -> None:
        assert response.ok, f"setting up the shop failed: {response.status} {response.body}"

    # ------------------------------------------------------------ generating events
    def _new(
        self, kind: str, method: str, path: str, body: dict[str, Any] | None, order_id: str | None = None
    ) -> Request:
        shop = self.order_shop.get(order_id or "", SHOP)
        request = Request(next(self._rids), kind, method, path, body, order_id, shop=shop)
        self.requests.append(request)
        return request

    def event(self) -> str:
        """Generate one webshop event and hand it to the network."""
        kinds = list(EVENTS)
        kind = self.rng.choices(kinds, weights=[EVENTS[k] for k in kinds])[0]
        if kind != "order" and not self.orders and kind.startswith(("cancel", "priority", "force", "quantity")):
            kind = "order"
        request = getattr(self, f"_{kind}")()
        if request is None:
            return f"{kind}: nothing to do"
        return self.send(request)

    def _order(self) -> Request:
        manual = self.rng.random() < MANUAL_SHARE
        order_id = f"{'H' if manual else 'W'}{next(self._orders):04d}"
        self.order_shop[order_id] = MANUAL_SHOP if manual else SHOP
        lines = []
        for n in range(1, self.rng.randint(1, 3) + 1):
            sku = self.rng.choice(self.catalogue)
            if LATE_SKU not in self.catalogue and self.rng.random() < 0.08:
                sku = LATE_SKU
            elif self.rng.random() < self.gift_share:
                sku = UNTRACKED_SKU
            quantity = self.rng.randint(1, 4) if self.rng.random() < 0.9 else self.rng.randint(5, 9)
            lines.append({"line": n, "sku": sku, "quantity": quantity, "unit_price": "9.95"})
        body: dict[str, Any] = {
            "id": order_id,
            "entered_at": self.cloud.clock.iso_minute(),
            "customer": {"id": self.rng.choice(CUSTOMERS)},
            "lines": lines,
        }
        if self.rng.random() < 0.3:
            body["priority"] = self.rng.randint(1, 3)
        if self.rng.random() < 0.3:
            body["ship_type"] = "complete"
        if self.rng.random() < 0.4:
            body["line_policy"] = self.rng.choice(["split", "whole"])
        self.orders[order_id] = body
        return self._new("order", "POST", "/v1/orders", body, order_id)

    def _movement(self, kind: str, sku: str, quantity: int, prefix: str) -> Request:
        body = {"id": f"{prefix}-{next(self._moves)}", "sku": sku, "kind": kind, "quantity": quantity}
        self.movements[(sku, body["id"])] = body
        return self._new(kind, "POST", "/v1/stock/movements", body)

    def _receipt(self) -> Request:
        return self._movement("receipt", self.rng.choice(self.catalogue), self.rng.randint(2, 12), "po")

    def _return(self) -> Request:
        return self._movement("return", self.rng.choice(self.catalogue), self.rng.randint(1, 2), "rma")

    def _adjustment(self) -> Request:
        quantity = self.rng.choice([-3, -2, -1, -1, 1, 2])
        return self._movement("adjustment", self.rng.choice(self.catalogue), quantity, "adj")

    def _count(self) -> Request | None:
        sku = self.rng.choice(self.catalogue)
        seen = self.cloud.api("GET", f"/v1/skus/{sku}")
        if not seen.ok:
            return None  # the shop counts another time
        counted = max(0, int(seen.body["on_hand"]) + self.rng.randint(-2, 2))
        return self._movement("count", sku, counted, "cnt")

    def _some_order(self) -> str:
        return self.rng.choice(sorted(self.orders))

    def _cancel_order(self) -> Request:
        order_id = self._some_order()
        return self._new("cancel_order", "POST", f"/v1/orders/{order_id}/cancel", {}, order_id)

    def _cancel_units(self) -> Request:
        order_id = self._some_order()
        line = self.rng.choice(self.orders[order_id]["lines"])
        body = {"line": line["line"], "units": self.rng.randint(1, 2)}
        request = self._new("cancel_units", "POST", f"/v1/orders/{order_id}/cancel", body, order_id)
        request.headers = {"Idempotency-Key": f"cancel-{request.rid}"}  # a relative command (decision 17)
        return request

    def _cancel_line(self) -> Request:
        order_id = self._some_order()
        line = self.rng.choice(self.orders[order_id]["lines"])
        return self._new("cancel_line", "POST", f"/v1/orders/{order_id}/cancel", {"line": line["line"]}, order_id)

    def _priority(self) -> Request:
        order_id = self._some_order()
        body = {"priority": self.rng.randint(0, 3)}
        return self._new("priority", "PATCH", f"/v1/orders/{order_id}", body, order_id)

    def _force(self) -> Request:
        order_id = self._some_order()
        line = self.rng.choice(self.orders[order_id]["lines"])
        body = {"units": self.rng.randint(0, 2)}
        path = f"/v1/orders/{order_id}/lines/{line['line']}/force-backorder"
        return self._new("force", "POST", path, body, order_id)

    def _quantity(self) -> Request:
        order_id = self._some_order()
        line = self.rng.choice(self.orders[order_id]["lines"])
        body = {"quantity": self.rng.randint(1, 6)}
        return self._new("quantity", "PATCH", f"/v1/orders/{order_id}/lines/{line['line']}", body, order_id)

    def _fill(self) -> Request:
        """The shop that fills by hand fills its backorders (decision 12)."""
        body: dict[str, Any] = {}
        if self.rng.random() < 0.4:
            body["skus"] = sorted(self.rng.sample(self.catalogue, 2))
        if self.rng.random() < 0.4:
            body["only_complete_orders"] = True
        request = self._new("fill", "POST", "/v1/fill", body)
        request.shop = MANUAL_SHOP
        return request

    def _product(self) -> Request | None:
        if LATE_SKU in self.catalogue:
            return self._receipt()
        self.catalogue.append(LATE_SKU)
        return self._new("product", "PUT", f"/v1/products/{LATE_SKU}", self.product_body(LATE_SKU))

    # ------------------------------------------------------------ the warehouse
    def warehouse(self) -> str:
        """Read up to three orders (acknowledged ones, and the Shopify shop's, which the
        service may not have yet); release the first pending shipment found, or ship a
        released one."""
        acked = sorted({r.order_id or "" for r in self.requests if r.kind == "order" and r.acked})
        acked += sorted(self.webshop_orders)
        if not acked:
            return "warehouse: no orders yet"
        looked = []
        for order_id in self.rng.sample(acked, min(3, len(acked))):
            seen = self.cloud.api("GET", f"/v1/orders/{order_id}", shop=self.order_shop[order_id])
            if not seen.ok:
                looked.append(f"{order_id} -> {seen.status}")
                continue
            shipments = seen.body["shipments"]
            released = [s for s in shipments if s["status"] == "released"]
            pending = [s for s in shipments if s["status"] == "pending"]
            if released and (not pending or self.rng.random() < 0.6):
                shipment = self.rng.choice(released)["shipment"]
                path = f"/v1/orders/{order_id}/shipments/{shipment}/ship"
                return self.send(self._new("ship", "POST", path, None, order_id))
            if pending:
                path = f"/v1/orders/{order_id}/shipments/{pending[0]['shipment']}/release"
                return self.send(self._new("release", "POST", path, None, order_id))
            looked.append(f"{order_id} has nothing to ship")
        return "warehouse: " + ", ".join(looked)

    # ------------------------------------------------------------ the network
    def send(self, request: Request) -> str:
        """The webshop sends ``request``; the network decides what happens to it."""
        if self.net.random() < self.plan.duplicate_delivery:
            self.network_faults["duplicated"] += 1
            self._schedule(request, self.net.randint(0, 6), copy=True, reason="duplicate")
        if self.net.random() < self.plan.hold_back:
            self.network_faults["held back"] += 1
            self._schedule(request, self.net.randint(1, 12), reason="held back")
            return f"{request.describe()}: held back by the network"
        return self.deliver(request)

    def _schedule(self, request: Request, delay: int, *, copy: bool = False, reason: str = "") -> None:
        self.pending.append(Pending(self.step + delay, next(self._seq), request, copy, reason))

    def due(self) -> list[Pending]:
        return sorted(p for p in self.pending if p.due <= self.step)

    def deliver_one(self, pending: Pending | None = None) -> str | None:
        """Deliver the next due request (or ``pending``)."""
        if pending is None:
            ready = self.due()
            if not ready:
                return None
            pending = ready[0]
        self.pending.remove(pending)
        if pending.copy:
            response = self._process(pending.request)
            return f"{pending.request.describe()} (network duplicate) -> {response}"
        return self.deliver(pending.request, note=pending.reason)

    def deliver(self, request: Request, note: str = "") -> str:
        response = self._process(request)
        label = f"{request.describe()}{' (' + note + ')' if note else ''} -> {response}"
        lost = response.status < 500 and self.net.random() < self.plan.lost_response
        if lost:
            self.network_faults["lost response"] += 1
            label += ", response lost"
        if lost or response.status >= 500 or response.status == 429:
            self._schedule(request, self.net.randint(1, 5), reason="retry")
        elif response.status == 404 and self._overtook_its_order(request) and request.not_found < MAX_NOT_FOUND:
            request.not_found += 1
            self._schedule(request, self.net.randint(1, 5), reason="retry after 404")
        elif request.final is None or not request.final.ok:
            request.final = response
            if response.ok:
                request.acked_at = len(self.processed) - 1
        return label

    def _overtook_its_order(self, request: Request) -> bool:
        """A 404 for an edit of an order the webshop sent but has no answer for yet."""
        if request.kind == "order" or request.order_id not in self.orders:
            return False
        return not any(r.kind == "order" and r.order_id == request.order_id and r.acked for r in self.requests)

    def _process(self, request: Request) -> Response:
        request.deliveries += 1
        response = self.cloud.api(request.method, request.path, request.body, request.headers, shop=request.shop)
        request.history.append(response)
        self.processed.append(Processed(len(self.processed), request, response))
        self.status_counts[response.status] = self.status_counts.get(response.status, 0) + 1
        return response

    def flush(self) -> int:
        """Deliver everything still in flight, with every fault off: the end of the day.
        A request that still gets no answer after ``MAX_UNANSWERED`` deliveries is
        marked stuck and given up (the end-of-day checks report it)."""
        count = 0
        tries: dict[int, int] = {}
        while self.pending:
            pending = min(self.pending)
            request = pending.request
            if not pending.copy:
                tries[request.rid] = tries.get(request.rid, 0) + 1
                if tries[request.rid] > MAX_UNANSWERED:
                    request.stuck = True
                    self.pending.remove(pending)
                    continue
            pending.due = self.step
            self.deliver_one(pending)
            count += 1
        return count
