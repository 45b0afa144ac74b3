"""The warehouse's buyer, its suppliers and the purchasing settings of the catalogue.

Each run draws its suppliers and products from the seed: suppliers with backorders on or
off, every threshold mode (``none``, ``fixed_cost``, ``mov``, ``both``) with their bounds,
lead times, and a review date of today for some (their regular min/max order is made at
the day's first planner run) or none; products with a supplier (a few without one, or
without a purchase price, so they cannot be ordered), a minimum and a maximum stock,
phased out or not, an order multiple or none.

The buyer, in a step of its own: runs the planner (``POST /v1/planning/run``); places a
recommended PO as it is, with quantity edits (up or down, 0 drops a line) and an
expected arrival; books receipts against placed POs (partial, exact, over the ordered
quantity; a receipt id sent again, mostly with the same lines, sometimes with other
ones); cancels recommended and placed POs; changes a product's purchasing settings; sets
a supplier's review date back to today, so the next planner run reviews it again. A
placement the service refuses (409: planned against stock on order that has changed) is
tried again later, like a buyer who clicks again. Every write goes through the webshop's
network (:meth:`Webshop.send`: duplicated, held back, answers lost, retried), reads go
straight to the API, as the warehouse's do.
"""

from __future__ import annotations

import itertools
import random
from datetime import timedelta
from typing import Any

from tests.simulation.cloud import DAY_START, Cloud
from tests.simulation.webshop import LATE_SKU, SKUS, Webshop

TODAY = DAY_START.date()
# kind -> weight of a buyer action
ACTIONS = {"plan": 2, "place": 4, "receive": 4, "cancel": 1, "settings": 0.5, "review": 1.5}


def draw_suppliers(rng: random.Random) -> dict[str, dict[str, Any]]:
    """Supplier settings for one run. s1 and s4 have backorders on and a review today, so
    a SKU of theirs can be on a backorder PO and a regular one at once; s2 has backorders
    on and no review; s3 backorders off and a review today (regular orders only). The
    threshold modes and their bounds, lead times and review periods vary with the seed."""
    shape = {"s1": (True, True), "s2": (True, False), "s3": (False, True), "s4": (True, True)}
    suppliers = {}
    for supplier_id, (backorders, review) in shape.items():
        terms: dict[str, Any] = {
            "name": f"Supplier {supplier_id}",
            "backorders_enabled": backorders,
            "threshold_mode": "none" if supplier_id == "s4" else rng.choice(["none", "fixed_cost", "mov", "both"]),
            "fixed_order_cost": rng.choice(["0", "4", "12.50", "30"]),
            "minimum_order_value": rng.choice(["0", "6", "20"]),
            "lead_time_days": rng.randint(0, 10),
            "review_period_days": rng.choice([1, 7, 14]),
        }
        if review:
            terms["next_review_date"] = TODAY.isoformat()
        suppliers[supplier_id] = terms
    return suppliers


# SKU -> the suppliers it may have (one is drawn), its purchase prices, whether it is phased out
PRODUCTS: dict[str, tuple[tuple[str | None, ...], tuple[str | None, ...], float]] = {
    "APPLE": (("s1",), ("2.50", "0.85"), 0.0),
    "PEAR": (("s1", "s4"), ("1.20",), 0.1),
    "PLUM": (("s2",), ("4", "7.25"), 0.7),
    "FIG": (("s2", "s1"), ("7.25", None), 0.1),  # sometimes no price: it cannot be ordered
    "KIWI": (("s4", "s3"), ("0.85", "2.50"), 0.15),
    LATE_SKU: (("s3", "s1", None), ("4",), 0.0),  # sometimes no supplier
}


def draw_product(rng: random.Random, sku: str) -> dict[str, Any]:
    """A product's purchasing settings (what ``PUT /v1/products/{sku}`` takes besides its name)."""
    suppliers, prices, phased_out = PRODUCTS[sku]
    settings: dict[str, Any] = {"supplier_id": rng.choice(suppliers), "purchase_price": rng.choice(prices)}
    minimum = rng.choice([None, 0, 1, 2, 4, 6])
    if minimum is not None:
        settings["min_stock"] = minimum
        if rng.random() < 0.7:
            settings["max_stock"] = minimum + rng.randint(0, 8)
    settings["phased_out"] = rng.random() < phased_out
    multiple = rng.choice([None, None, 1, 3, 6])
    if multiple is not None:
        settings["order_multiple"] = multiple
    return {k: v for k, v in settings.items() if v is not None}


class Buyer:
    def __init__(self, cloud: Cloud, shop: Webshop, rng: random.Random) -> None:
        self.cloud = cloud
        self.shop = shop
        self.rng = rng
        self.suppliers = draw_suppliers(rng)
        for sku in (*SKUS, LATE_SKU):
            shop.product_settings[sku] = draw_product(rng, sku)
        # (po, receipt id) -> the lines of every receipt sent under that id
        self.receipts: dict[tuple[str, str], list[dict[str, int]]] = {}
        self._receipt_ids = itertools.count(1)
        self.po_statuses: dict[str, str] = {}  # each PO's status when the invariants last looked

    def open_desk(self) -> None:
        """The suppliers, before the webshop's catalogue names them."""
        for supplier_id, terms in self.suppliers.items():
            reply = self.cloud.api("PUT", f"/v1/suppliers/{supplier_id}", terms)
            assert reply.ok, f"setting up supplier {supplier_id} failed: {reply.status} {reply.body}"

    # ------------------------------------------------------------ one step
    def act(self) -> str:
        kinds = list(ACTIONS)
        kind = self.rng.choices(kinds, weights=[ACTIONS[k] for k in kinds])[0]
        return getattr(self, f"_{kind}")()

    def _send(self, kind: str, method: str, path: str, body: dict[str, Any] | None) -> str:
        return self.shop.send(self.shop._new(kind, method, path, body))

    def _pos(self, *statuses: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for status in statuses:
            seen = self.cloud.api("GET", f"/v1/purchase-orders?status={status}")
            if seen.ok:
                found.extend(seen.body["purchase_orders"])
        return sorted(found, key=lambda po: str(po["id"]))

    def _plan(self) -> str:
        return self._send("plan", "POST", "/v1/planning/run", None)

    def _place(self) -> str:
        recommended = self._pos("recommended")
        if not recommended:
            return "buyer: nothing recommended to place"
        po = self.rng.choice(recommended)
        body: dict[str, Any] = {}
        if self.rng.random() < 0.3:
            edited = []
            for line in po["lines"]:
                quantity = int(line["quantity"])
                if self.rng.random() < 0.5:
                    quantity = max(0, quantity + self.rng.choice([-2, -1, 1, 3]))
                edited.append({"sku": line["sku"], "quantity": quantity})
            body["lines"] = edited
        if self.rng.random() < 0.3:
            body["expected_arrival"] = (TODAY + timedelta(days=self.rng.randint(1, 20))).isoformat()
        return self._send("po_place", "POST", f"/v1/purchase-orders/{po['id']}/place", body)

    def _receive(self) -> str:
        placed = self._pos("placed", "partly_received")
        if not placed:
            return "buyer: nothing on order to receive"
        po = self.rng.choice(placed)
        earlier = sorted(rid for (po_id, rid) in self.receipts if po_id == po["id"])
        if earlier and self.rng.random() < 0.2:  # the same delivery note booked again
            rid = self.rng.choice(earlier)
            lines = self.receipts[(po["id"], rid)][0]
            if self.rng.random() < 0.3:  # ... or its id reused for another delivery
                lines = self._delivery(po)
        else:
            rid = f"rcpt-{next(self._receipt_ids)}"
            lines = self._delivery(po)
        self.receipts.setdefault((po["id"], rid), []).append(lines)
        body = {"id": rid, "lines": [{"sku": sku, "quantity": q} for sku, q in sorted(lines.items())]}
        return self._send("po_receipt", "POST", f"/v1/purchase-orders/{po['id']}/receipts", body)

    def _delivery(self, po: dict[str, Any]) -> dict[str, int]:
        """What arrives: some or all lines, each partly, exactly or more than outstanding."""
        lines = {}
        for line in po["lines"]:
            outstanding = int(line["outstanding"])
            if len(po["lines"]) > 1 and self.rng.random() < 0.3:
                continue
            shape = self.rng.choices(["partial", "exact", "over"], weights=[4, 5, 1])[0]
            if shape == "over" or outstanding == 0:
                lines[line["sku"]] = outstanding + self.rng.randint(1, 3)
            elif shape == "partial" and outstanding > 1:
                lines[line["sku"]] = self.rng.randint(1, outstanding - 1)
            else:
                lines[line["sku"]] = outstanding
        if not lines:
            line = po["lines"][0]
            lines[line["sku"]] = max(1, int(line["outstanding"]))
        return lines

    def _cancel(self) -> str:
        cancellable = self._pos("recommended", "placed", "partly_received")
        if not cancellable:
            return "buyer: nothing to cancel"
        po = self.rng.choice(cancellable)
        return self._send("po_cancel", "POST", f"/v1/purchase-orders/{po['id']}/cancel", None)

    def _review(self) -> str:
        """Review a supplier today (again): its regular order is made, or revised, at the next run."""
        supplier_id = self.rng.choice(sorted(self.suppliers))
        terms = self.suppliers[supplier_id]
        terms["next_review_date"] = TODAY.isoformat()
        return self._send("supplier", "PUT", f"/v1/suppliers/{supplier_id}", dict(terms))

    def _settings(self) -> str:
        """A product's minimum, maximum or phase-out changes (PUT sends all its settings)."""
        sku = self.rng.choice(self.shop.catalogue)
        settings = self.shop.product_settings.get(sku)
        if settings is None:
            return "buyer: no purchasing settings to change"
        minimum = self.rng.choice([None, 0, 1, 3, 5])
        settings.pop("max_stock", None)
        settings.pop("min_stock", None)
        if minimum is not None:
            settings["min_stock"] = minimum
            if self.rng.random() < 0.6:
                settings["max_stock"] = minimum + self.rng.randint(0, 5)
        settings["phased_out"] = self.rng.random() < 0.15
        return self.shop.send(self.shop._new("product", "PUT", f"/v1/products/{sku}", self.shop.product_body(sku)))
