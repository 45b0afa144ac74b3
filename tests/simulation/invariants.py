"""What must hold after every step of a run, and at its end.

Read straight from the stored table (no faults, no production read path), with the
rules written out again here rather than borrowed from the code under test:

after every step
- per SKU: ``available == on_hand - allotted >= 0`` and the stored ``available`` equals
  it; ``allotted``, ``locked`` and ``backordered`` equal the sums over the SKU's lines;
  ``on_hand`` equals the sum of the SKU's ledger deltas (units are conserved);
- per line: ``quantity == shipped + allotted + backordered + cancelled`` (every ordered
  unit in exactly one state), nothing negative, ``locked <= allotted``,
  ``forced <= backordered``, the stored ``backordered`` is that difference, and the
  sparse index keys match the state; ``locked`` equals the units of the order's
  released shipments and ``shipped`` those of its shipped ones;
- per order: at most one pending shipment; every order and movement in the table is
  one the webshop sent, or the Shopify shop created (nothing invented);
- no email was sent twice (see :func:`check_emails`);
- webhooks (:func:`check_webhooks`): the webhook function never failed, a genuine
  delivery is never refused, a forged one never stored, and every stored delivery and
  Shopify order is one the Shopify shop made.

at the end (stream drained and a planner run, faults off)
- the allotment is converged: no line waits while free units or units of a strictly
  lower-priority line could serve it (``whole`` lines: all of what they wait for), a
  whole line holds all or nothing, and each line of the shop that fills by hand that is
  left short waits for a fill;
- each order's pending shipment holds ``pending_content`` of its lines;
- no acknowledged webhook was lost (:func:`check_acknowledged`);
- the Shopify shop's orders (:func:`check_shopify`): after the last catch-up, every
  order it created (acknowledged or dropped) is in the service with the units the shop
  orders now, as ``webshops.sync.follow`` keeps them; every delivery was applied, and
  none rejected but those the simulation meant.

purchasing (the buyer's and the planner's side; see :func:`check_purchasing`,
:class:`OrderingWatch` and :func:`check_planning` for the exact statements)
- after every step: at most one open recommendation per supplier and kind; per SKU,
  ``incoming`` is the outstanding units of placed POs; each PO's status, receipts and
  ledger entries agree, and its life cycle only moves forward;
- at every placement (at the storage boundary): no line orders units that POs placed
  since its planning read already cover;
- at the end: the planning index lists exactly the SKUs that need attention, each
  supplier's backorder recommendation is what the rules ask for now, and no SKU's units
  on POs exceed what its last placement allowed.
"""

from __future__ import annotations

import base64
import json
import math
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from backorders.adapters.dynamodb.models import LineItem
from backorders.domain.model import OrderLine, ShipType
from backorders.domain.shipments import pending_content
from tests.simulation.buyer import Buyer
from tests.simulation.cloud import SHOPIFY_SHOP, Cloud
from tests.simulation.shopify import ShopifyShop, ShopOrder
from tests.simulation.stream import StreamDriver
from tests.simulation.webshop import LATE_SKU, Webshop

_des = TypeDeserializer()
PRIORITY_MAX = 9999


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


@dataclass
class Snapshot:
    skus: dict[str, dict[str, Any]] = field(default_factory=dict)
    ledger: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    orders: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lines: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    raw_lines: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    shipments: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    manual_shops: set[str] = field(default_factory=set)
    pos: dict[str, dict[str, Any]] = field(default_factory=dict)  # purchase orders by id
    slots: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (supplier, kind) -> open recommendation
    suppliers: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> settings
    # webhook deliveries by (shop, key) (the body still compressed: see ``delivery_body``)
    deliveries: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    rejections: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))  # shop -> items


def delivery_body(delivery: dict[str, Any]) -> dict[str, Any]:
    """A stored delivery's body as an object (ids exact)."""
    raw = delivery["body"]
    data = raw.value if hasattr(raw, "value") else raw
    if isinstance(data, str):
        data = base64.b64decode(data)
    parsed: dict[str, Any] = json.loads(zlib.decompress(data))
    return parsed


def snapshot(cloud: Cloud) -> Snapshot:
    snap = Snapshot()
    for raw in cloud.backend_items():
        sk = raw["sk"]["S"]
        if sk.startswith("LOG#"):
            continue
        item = _plain({k: _des.deserialize(v) for k, v in raw.items()})
        pk = item["pk"]
        if sk == "SKU":
            snap.skus[item["sku"]] = item
        elif pk == "CONFIG" and sk == "MANUAL_SHOPS":
            snap.manual_shops = set(item.get("manual_shops") or ())
        elif sk.startswith("LEDGER#"):
            snap.ledger[item["sku"]].append(item)
        elif pk.startswith("PO#"):
            item["history"] = json.loads(item.get("history") or "[]")
            item["receipts"] = sorted(item.get("receipts") or ())
            snap.pos[item["po_id"]] = item
        elif pk.startswith("SUPPLIER#") and sk.startswith("OPEN#"):
            snap.slots[(item["supplier_id"], item["kind"])] = item.get("po_id")
        elif pk.startswith("SUPPLIER#") and sk == "SUPPLIER":
            snap.suppliers[item["supplier_id"]] = (
                json.loads(item["settings"]) if isinstance(item["settings"], str) else item["settings"]
            )
        elif pk.startswith("WEBHOOK#") and sk.startswith("DELIVERY#"):
            snap.deliveries[(item["shop"], item["key"])] = item
        elif pk.startswith("WEBHOOK#") and sk.startswith("REJECTED#"):
            snap.rejections[pk.removeprefix("WEBHOOK#")].append(item)
        elif pk.startswith("ORDER#"):
            key = (item.get("shop") or pk.split("#")[1], item.get("order_id") or pk.split("#", 2)[2])
            if sk == "ORDER":
                if isinstance(item.get("webshop"), str):
                    item["webshop"] = json.loads(item["webshop"])
                snap.orders[key] = item
            elif sk.startswith("LINE#"):
                snap.lines[key].append(item)
                snap.raw_lines[key].append(raw)
            elif sk.startswith("SHIPMENT#"):
                item["lines"] = json.loads(item["lines"])  # JSON text: {"<line_no>": units}
                item["skus"] = json.loads(item["skus"])
                snap.shipments[key].append(item)
    for lines in snap.lines.values():
        lines.sort(key=lambda ln: ln["line_no"])
    return snap


# ------------------------------------------------------------------ line arithmetic
def movable(ln: dict[str, Any]) -> int:
    return int(ln["allotted"]) - int(ln["locked"])


def backordered(ln: dict[str, Any]) -> int:
    return int(ln["quantity"]) - int(ln["shipped"]) - int(ln["allotted"]) - int(ln["cancelled"])


def cap(ln: dict[str, Any]) -> int:
    """The most movable units a recompute may give the line."""
    need = max(0, ln["quantity"] - ln["shipped"] - ln["cancelled"] - ln["locked"] - ln.get("forced", 0))
    return min(need, movable(ln)) if ln.get("awaiting_fill") else need


def allotment_key(ln: dict[str, Any]) -> str:
    return (
        f"{PRIORITY_MAX - int(ln['priority']):05d}#{ln['entered_at']}#{ln['shop']}#{ln['order_id']}#{ln['line_no']:04d}"
    )


# ------------------------------------------------------------------ after every step
def check_state(snap: Snapshot, shop: Webshop) -> list[str]:
    problems: list[str] = []
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (shop_id, order_id), lines in snap.lines.items():
        released: dict[int, int] = defaultdict(int)
        shipped: dict[int, int] = defaultdict(int)
        pending = 0
        for s in snap.shipments.get((shop_id, order_id), []):
            units = {int(k): int(v) for k, v in s["lines"].items()}
            if s["status"] == "released":
                for n, u in units.items():
                    released[n] += u
            elif s["status"] == "shipped":
                for n, u in units.items():
                    shipped[n] += u
            elif s["status"] == "pending":
                pending += 1
            if any(u <= 0 for u in units.values()):
                problems.append(f"{order_id} shipment {s['shipment_no']} holds a line with no units: {units}")
        if pending > 1:
            problems.append(f"{order_id} has {pending} pending shipments")
        for ln in lines:
            where = f"{order_id} line {ln['line_no']} ({ln['sku']})"
            parts = {
                name: int(ln.get(name, 0))
                for name in ("quantity", "shipped", "allotted", "cancelled", "locked", "forced")
            }
            bo = backordered(ln)
            if min(parts.values()) < 0 or bo < 0:
                problems.append(f"{where}: negative quantity {parts}, backordered {bo}")
            if parts["locked"] > parts["allotted"]:
                problems.append(f"{where}: locked {parts['locked']} > allotted {parts['allotted']}")
            if parts["forced"] > bo:
                problems.append(f"{where}: forced {parts['forced']} > backordered {bo}")
            if int(ln.get("backordered", 0)) != bo:
                problems.append(
                    f"{where}: stored backordered {ln.get('backordered')} != {bo} "
                    "(quantity - shipped - allotted - cancelled)"
                )
            if parts["locked"] != released[ln["line_no"]]:
                problems.append(
                    f"{where}: locked {parts['locked']} but released shipments hold {released[ln['line_no']]}"
                )
            if parts["shipped"] != shipped[ln["line_no"]]:
                problems.append(
                    f"{where}: shipped {parts['shipped']} but shipped shipments hold {shipped[ln['line_no']]}"
                )
            sku = f"SKU#{ln['sku']}"
            want_demand = sku if (cap(ln) > 0 or movable(ln) > 0) else None
            want_holder = sku if movable(ln) > 0 else None
            if ln.get("demand_pk") != want_demand or ln.get("holder_pk") != want_holder:
                problems.append(
                    f"{where}: index keys demand={ln.get('demand_pk')} holder={ln.get('holder_pk')} "
                    "do not match its state"
                )
            if (ln.get("backorder_pk") is not None) != (bo > 0):
                problems.append(f"{where}: backorders index key {ln.get('backorder_pk')} but backordered {bo}")
            if ln.get("demand_sk") != allotment_key(ln):
                problems.append(f"{where}: demand_sk {ln.get('demand_sk')} is not its allotment key")
            for name in ("allotted", "locked"):
                sums[ln["sku"]][name] += parts[name]
            sums[ln["sku"]]["backordered"] += bo
    for sku, item in sorted(snap.skus.items()):
        n = {name: int(item.get(name, 0)) for name in ("on_hand", "allotted", "available", "locked", "backordered")}
        if n["available"] != n["on_hand"] - n["allotted"]:
            problems.append(
                f"{sku}: stored available {n['available']} != on_hand {n['on_hand']} - allotted {n['allotted']}"
            )
        if n["on_hand"] - n["allotted"] < 0 and item.get("tracked") is not False:  # untracked: not counted
            problems.append(f"{sku}: available {n['on_hand'] - n['allotted']} < 0")
        for name in ("allotted", "locked", "backordered"):
            if n[name] != sums[sku][name]:
                problems.append(f"{sku}: {name} {n[name]} but its lines sum to {sums[sku][name]}")
        ledger = sum(int(e["delta"]) for e in snap.ledger.get(sku, []))
        if n["on_hand"] != ledger:
            problems.append(f"{sku}: on_hand {n['on_hand']} but the ledger sums to {ledger}")
    for sku in sorted(set(sums) - set(snap.skus)):
        problems.append(f"{sku}: lines exist but no balance item")
    # nothing invented: every order and movement is one the webshop sent
    for shop_id, order_id in snap.orders:
        if order_id not in (shop.webshop_orders if shop_id == SHOPIFY_SHOP else shop.orders):
            problems.append(f"order {order_id} of {shop_id} exists but the webshop never sent it")
    for sku, entries in snap.ledger.items():
        for e in entries:
            mid = e["movement_id"]
            if e["kind"] == "shipment" or mid.partition(":")[0] in snap.pos:
                continue  # a shipment, or a receipt against a purchase order (check_purchasing)
            sent = shop.movements.get((sku, mid))
            if sent is None:
                problems.append(f"ledger {sku}/{mid} was never sent")
            elif sent["kind"] != e["kind"] or int(sent["quantity"]) != int(e["quantity"]):
                problems.append(
                    f"ledger {sku}/{mid} is {e['kind']} {e['quantity']}, sent {sent['kind']} {sent['quantity']}"
                )
    return problems


# Production faults the simulation found that are still open, each pinned by a strict
# xfail test in test_regressions.py. A run that meets one of these exact symptoms counts
# it (RunResult.known_bugs) instead of failing, so the seeds keep exploring; when the fix
# lands, its regression test passes, strict xfail fails the suite, and the entry goes.
KNOWN_BUGS: dict[str, str] = {
    # Fixed so far (their regression tests now guard the fixes):
    # bug 1: a re-delivered line cancel answered 422 'units to cancel must be positive';
    # bug 2: a partial cancel whose Lambda died between its cancel and its Powertools
    #        idempotency record kept answering 500 for that Idempotency-Key;
    # bug 3: an untracked product was never allotted (the available >= n guard);
    # bug 4: a line reopened by a quantity change kept the priority it had when closed;
    # bug 5: a re-delivered PO cancel answered 409 'is cancelled and cannot be cancelled';
    # bug 6: a recommendation planned before another PO of its SKU was placed and then
    #        received could still be placed (incoming was back at what it was planned
    #        against): the SKU was ordered twice for the same shortage;
    # bug 7: a webhook delivery whose application was throttled was rejected for good
    #        ("... storage is busy, retry"), and the order state it carried was lost.
    # bug 8: an open state of an order applied after its cancelled state created an open
    #        order (the cancelled state of an order the service did not have left no trace);
    # bug 9: a throttled storage call outside a shop's read failed the whole catch-up run.
}


def known_catch_up_failure(error: str) -> str | None:
    """The open bug that explains a catch-up run that failed with ``error``, if any."""
    return "bug 9" if error.startswith("Throttled: ") and "bug 9" in KNOWN_BUGS else None


def known_superseded(ref_updated_at: str | None, cancelled_applied_at: str | None) -> str | None:
    """The open bug that explains a Shopify order whose checks fail when a cancelled
    state of it, newer than the state its ``webshop`` ref says was applied, was applied
    (bug 8: it found no order and changed nothing), if any."""
    newer = None not in (ref_updated_at, cancelled_applied_at) and str(cancelled_applied_at) > str(ref_updated_at)
    return "bug 8" if newer and "bug 8" in KNOWN_BUGS else None


def known_rejection(delivery: dict[str, Any]) -> str | None:
    """The open bug in ``KNOWN_BUGS`` that explains a rejected delivery (or listed
    rejection), if any; :func:`check_shopify` then excuses the checks of its order that
    fail. Add a rule here with its entry, as narrow as its regression test. (Bug 7 had
    one: rejected with a reason ending "storage is busy, retry".)"""
    return None


def known_bug(request: Any, response: Any = None) -> str | None:
    """The open bug in ``KNOWN_BUGS`` that explains this symptom, if any. Add a rule
    here with its entry, matching the symptom as narrowly as the regression test does."""
    return None


# Writes that are idempotent by design (decision 17): a re-delivery of one that was
# applied must be answered 2xx ("duplicate"/"unchanged"), never refused. ``force`` is
# absolute too, but a later delivery may meet a line that has shipped meanwhile. A PO's
# placement (``po_place``) is absolute as well, but tests/api/test_purchasing.py asserts
# that placing a placed PO again answers 409 ("placed once"), so a re-delivered
# placement is answered 409 by design for now.
REPLAY_SAFE = frozenset(
    {"order", "receipt", "return", "adjustment", "count", "cancel_order", "cancel_line", "cancel_units",
     "priority", "release", "ship", "product", "fill", "supplier", "plan", "po_receipt", "po_cancel"}
)  # fmt: skip


def check_replays(shop: Webshop) -> list[str]:
    """At-least-once delivery is safe: once a delivery of a write was applied (it was
    answered 2xx, or it committed before its answer was lost), every later delivery of
    the same request is answered 2xx (or a transient 429/5xx), not refused with a 4xx,
    which a webhook sender takes as "this write failed"."""
    problems = []
    for r in shop.requests:
        if r.kind not in REPLAY_SAFE:
            continue
        applied = None
        for n, response in enumerate(r.history, 1):
            if applied is not None and 400 <= response.status < 500 and response.status != 429:
                if known_bug(r, response):
                    shop.known_bugs.add(known_bug(r, response) or "")
                    break
                body = response.body if isinstance(response.body, dict) else {}
                problems.append(
                    f"{r.describe()} {r.body}: delivery {n} answered {response.status} {body.get('message')!r} "
                    f"although delivery {applied} was applied"
                )
                break
            if applied is None and (response.ok or response.committed):
                applied = n
    return problems


def check_emails(cloud: Cloud) -> list[str]:
    """No notification is sent twice.

    Notifications are not built yet (a later issue), so nothing sends mail and this
    checks an empty list. Once the notifier exists, identify a message by its stable
    notification id (``NOTIFY#<id>`` in docs/data-model.md) instead of its content,
    and switch on ``FaultPlan.ses_failure``."""
    seen: set[tuple[str, ...]] = set()
    problems = []
    for message in cloud.sent_emails():
        ident = (
            str(getattr(message, "destinations", "")),
            str(getattr(message, "subject", "")),
            str(getattr(message, "body", "") or getattr(message, "raw_data", "")),
        )
        if ident in seen:
            problems.append(f"email sent twice: to {ident[0]}, subject {ident[1]!r}")
        seen.add(ident)
    return problems


# ------------------------------------------------------------------ at the end
def check_converged(snap: Snapshot, shop: Webshop) -> list[str]:
    """The allotment rule's fixed point (PRODUCT.md, "Allotted units are stable"): no
    line waits while free units or units of a strictly lower-priority line could serve
    it; a whole line holds all it may hold or nothing; and each line of the shop that
    fills by hand that is left short waits for a fill."""
    problems = []
    by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lines in snap.lines.values():
        for ln in lines:
            by_sku[ln["sku"]].append(ln)
    for sku, lines in sorted(by_sku.items()):
        item = snap.skus.get(sku, {})
        untracked = item.get("known") and item.get("tracked") is False
        free = 0 if not item.get("known") else int(item["on_hand"]) - int(item["allotted"])
        for ln in sorted(lines, key=allotment_key):
            where = f"{sku}: {ln['order_id']} line {ln['line_no']} (priority {ln['priority']}, {ln['policy']})"
            waiting = cap(ln) - movable(ln)
            if ln["policy"] == "whole" and movable(ln) not in (0, cap(ln)) and not ln.get("awaiting_fill"):
                problems.append(f"{where} holds {movable(ln)} of {cap(ln)}: a whole line holds all or nothing")
            if waiting > 0:
                below = sum(movable(o) for o in lines if int(o["priority"]) < int(ln["priority"]))
                could = waiting if untracked else free + below
                if (ln["policy"] == "whole" and could >= waiting) or (ln["policy"] != "whole" and could > 0):
                    problems.append(
                        f"{where}: not converged: it waits for {waiting} while {free} unit(s) are free and "
                        f"lower priorities hold {below}"
                    )
            short = backordered(ln) - int(ln.get("forced", 0))
            if ln["shop"] in snap.manual_shops and short > 0 and not ln.get("awaiting_fill"):
                problems.append(
                    f"{sku}: {ln['order_id']} line {ln['line_no']} of a shop that fills by hand is {short} short "
                    "but does not wait for a fill"
                )
    return problems


def _line(raw: dict[str, Any]) -> OrderLine:
    item = LineItem()
    item.from_dynamodb_dict(raw)
    return item.to_domain()


def check_pending_shipments(snap: Snapshot) -> list[str]:
    problems = []
    for key, order in sorted(snap.orders.items()):
        lines = [_line(raw) for raw in snap.raw_lines.get(key, [])]
        want = pending_content(ShipType(order["ship_type"]), lines)
        pending = [s for s in snap.shipments.get(key, []) if s["status"] == "pending"]
        have = {int(k): int(v) for k, v in pending[0]["lines"].items()} if pending else {}
        if have != want:
            problems.append(f"order {key[1]}: pending shipment holds {have}, its lines allow {want}")
    return problems


def check_answered(shop: Webshop) -> list[str]:
    """Once faults stop, every request gets an answer (a webhook sender gives up on
    one that never does, and its write is lost)."""
    problems = []
    for r in shop.requests:
        if r.stuck:
            bug = known_bug(r)
            if bug:
                shop.known_bugs.add(bug)
                continue
            last = r.history[-1] if r.history else None
            body = last.body if last is not None and isinstance(last.body, dict) else {}
            problems.append(
                f"{r.describe()} {r.body}: no answer after {len(r.history)} deliveries, the last ones with every "
                f"fault off (last: {last} {body.get('message')!r})"
            )
    return problems


def check_acknowledged(snap: Snapshot, shop: Webshop) -> list[str]:
    """No acknowledged webhook lost: the state shows every write the API said 2xx to."""
    problems = []
    cancelled_units: dict[tuple[str, int], int] = defaultdict(int)
    last_priority: dict[str, tuple[int, int]] = {}
    last_quantity: dict[tuple[str, int], int] = {}
    quantity_changed_at: dict[tuple[str, int], int] = {}  # a later quantity change reopens a cancelled line
    for p in shop.processed:  # in processing order: the last applied absolute change wins
        r = p.request
        if not (p.response.ok or p.response.committed):
            continue
        if r.kind == "priority":
            last_priority[r.order_id or ""] = (p.index, int(r.body["priority"]))
        elif r.kind == "quantity":
            line_key = (r.order_id or "", int(r.path.rsplit("/", 1)[1]))
            last_quantity[line_key] = int(r.body["quantity"])
            quantity_changed_at[line_key] = p.index
    for r in shop.requests:
        if not r.acked:
            continue
        key = (r.shop, r.order_id or "")
        lines = {ln["line_no"]: ln for ln in snap.lines.get(key, [])}
        if r.kind == "order":
            if key not in snap.orders:
                problems.append(f"acknowledged order {r.order_id} is missing")
                continue
            sent = {
                ln["line"]: (ln["sku"], last_quantity.get((r.order_id or "", ln["line"]), ln["quantity"]))
                for ln in r.body["lines"]
            }
            stored = {n: (ln["sku"], int(ln["quantity"])) for n, ln in lines.items()}
            if sent != stored:
                problems.append(f"acknowledged order {r.order_id}: lines {stored}, sent {sent}")
            if r.order_id not in last_priority and int(snap.orders[key]["priority"]) != int(r.body.get("priority", 0)):
                problems.append(
                    f"order {r.order_id}: priority {snap.orders[key]['priority']}, sent {r.body.get('priority', 0)}"
                )
        elif r.kind in ("receipt", "return", "adjustment", "count"):
            body = r.body or {}
            entry = next((e for e in snap.ledger.get(body["sku"], []) if e["movement_id"] == body["id"]), None)
            if entry is None:
                problems.append(f"acknowledged {r.kind} {body['id']} of {body['sku']} is not in the ledger")
        elif r.kind in ("ship", "release"):
            number = int(r.path.split("/")[-2])
            shipment = next((s for s in snap.shipments.get(key, []) if int(s["shipment_no"]) == number), None)
            want = ("shipped",) if r.kind == "ship" else ("released", "shipped")
            if shipment is None or shipment["status"] not in want:
                problems.append(
                    f"acknowledged {r.kind} of {r.order_id} shipment {number}: it is {shipment and shipment['status']}"
                )
            elif r.kind == "ship":
                for sku in sorted(set(shipment["skus"].values())):
                    mid = f"shipment:{r.shop}:{r.order_id}:{number}"
                    if not any(e["movement_id"] == mid for e in snap.ledger.get(sku, [])):
                        problems.append(
                            f"acknowledged ship of {r.order_id} shipment {number}: no ledger entry for {sku}"
                        )
        elif r.kind in ("cancel_order", "cancel_line"):
            chosen = lines.values() if r.kind == "cancel_order" else [lines.get(r.body["line"])]
            for ln in chosen:
                reopened = ln is not None and quantity_changed_at.get((r.order_id or "", ln["line_no"]), -1) > (
                    r.acked_at or 0
                )
                if not reopened and (ln is None or backordered(ln) != 0 or movable(ln) != 0):
                    problems.append(f"acknowledged {r.kind} of {r.order_id}: line still open: {ln and _units(ln)}")
        elif r.kind == "cancel_units":
            cancelled_units[(r.order_id or "", int(r.body["line"]))] += int(r.body["units"])
        elif r.kind in ("po_place", "po_receipt", "po_cancel"):
            po_id = r.path.split("/")[3]
            po = snap.pos.get(po_id) or {}
            if (
                (r.kind == "po_place" and po.get("placed_at") is None)
                or (r.kind == "po_receipt" and (r.body or {})["id"] not in po.get("receipts", ()))
                or (r.kind == "po_cancel" and po.get("po_status") != "cancelled")
            ):
                problems.append(f"acknowledged {r.kind} of {po_id}: it is {po.get('po_status')}, {po.get('receipts')}")
    for (order_id, line_no), units in sorted(cancelled_units.items()):
        ln = next((x for x in snap.lines.get(_key(shop, order_id), []) if x["line_no"] == line_no), None)
        if ln is None or int(ln["cancelled"]) < units:
            problems.append(
                f"acknowledged cancels of {units} unit(s) of {order_id} line {line_no}: {ln and _units(ln)}"
            )
    for order_id, (priority_at, priority) in sorted(last_priority.items()):
        order = snap.orders.get(_key(shop, order_id))
        if order is None:
            continue
        if int(order["priority"]) != priority:
            problems.append(f"order {order_id}: priority {order['priority']}, last committed change set {priority}")
        for ln in snap.lines.get(_key(shop, order_id), []):
            is_open = int(ln["shipped"]) + int(ln["cancelled"]) < int(ln["quantity"])
            reopened = quantity_changed_at.get((order_id, ln["line_no"]), -1) > priority_at
            if is_open and int(ln["priority"]) != priority and reopened and "bug 4" in KNOWN_BUGS:
                shop.known_bugs.add("bug 4")
            elif is_open and int(ln["priority"]) != priority:
                problems.append(
                    f"order {order_id} line {ln['line_no']}: priority {ln['priority']}, order has {priority}"
                )
    return problems


def _key(shop: Webshop, order_id: str) -> tuple[str, str]:
    return (shop.order_shop.get(order_id, ""), order_id)


def _units(ln: dict[str, Any]) -> dict[str, int]:
    names = ("quantity", "shipped", "allotted", "locked", "cancelled", "forced")
    return {n: int(ln.get(n, 0)) for n in names} | {"backordered": backordered(ln)}


# ------------------------------------------------------------------ purchasing
# The rules of domain/purchasing.py written out again (PRODUCT.md "Purchasing"): a
# backorder line brings a negative stock position's projected position (stock position +
# incoming) up to the minimum stock, exactly to zero when phased out; a regular line, at a
# review, brings a projected position at or below the minimum up to the maximum (none: the
# minimum; phased out: zero); both rounded up to the order multiple.
PO_OPEN = ("placed", "partly_received")  # their outstanding units are incoming
PO_RANK = {"recommended": 0, "placed": 1, "partly_received": 2, "received": 3, "withdrawn": 4, "cancelled": 4}


def stock_position(item: dict[str, Any]) -> int:
    return int(item.get("on_hand", 0)) - int(item.get("allotted", 0)) - int(item.get("backordered", 0))


def projected(item: dict[str, Any]) -> int:
    return stock_position(item) + int(item.get("incoming") or 0)


def round_up(quantity: int, multiple: int | None) -> int:
    if quantity <= 0:
        return 0
    if not multiple or multiple <= 1:
        return quantity
    return -(-quantity // multiple) * multiple


def order_target(kind: str, item: dict[str, Any]) -> int | None:
    """The projected position a line of ``kind`` orders the SKU up to; None: none is due."""
    minimum, maximum = item.get("min_stock"), item.get("max_stock")
    if kind == "backorder":
        if stock_position(item) >= 0:
            return None
        return 0 if item.get("phased_out") else int(minimum or 0)
    if item.get("phased_out"):
        return 0
    if minimum is None or projected(item) > minimum:
        return None
    return max(int(maximum if maximum is not None else minimum), int(minimum))


def rule_quantity(kind: str, item: dict[str, Any], *, more_incoming: int = 0) -> int:
    """Units a line of ``kind`` orders for this SKU item (with ``more_incoming`` units on order besides)."""
    if more_incoming:
        item = {**item, "incoming": int(item.get("incoming") or 0) + more_incoming}
    target = order_target(kind, item)
    return 0 if target is None else round_up(target - projected(item), item.get("order_multiple"))


LISTING_HORIZON_DAYS = 90  # PRODUCT.md: stock that lasts less than this at the demand rate is watched
DEMAND_WINDOW_DAYS = 28  # template.yaml's DemandWindowDays default (the simulation keeps it)


def needs_attention(item: dict[str, Any], demand_per_day: float = 0.0) -> bool:
    """Whether the planning index must list the SKU: a product with a supplier, tracked and
    known, with a negative stock position or (not phased out) a projected position at or
    below its minimum, or one that ``demand_per_day`` uses up within the listing horizon."""
    if not item.get("supplier_id") or item.get("tracked") is False or not item.get("known"):
        return False
    if stock_position(item) < 0:
        return True
    if item.get("phased_out"):
        return False
    floor = int(item.get("min_stock") or 0)
    if item.get("min_stock") is not None and projected(item) <= floor:
        return True
    return demand_per_day > 0 and projected(item) - floor < demand_per_day * LISTING_HORIZON_DAYS


def demand_bounds(item: dict[str, Any], now: datetime) -> tuple[float, float]:
    """The demand rates the SKU's listing may have been decided with: the allotter lists a
    SKU with its rate decayed to the moment it writes, which is at or after the rating
    (``demand_at``) and before ``now``. So: from the rate decayed to ``now`` up to the
    rate as rated."""
    rate = float(item.get("demand_rate") or 0)
    if rate <= 0 or not item.get("demand_at"):
        return 0.0, 0.0
    rated_at = datetime.fromisoformat(str(item["demand_at"]).replace("Z", "+00:00"))
    days = max(0.0, (now - rated_at).total_seconds() / 86400)
    return rate * math.exp(-days / DEMAND_WINDOW_DAYS), rate


def listing_allowed(item: dict[str, Any], now: datetime) -> set[bool]:
    """Whether the SKU may be listed: {True} must, {False} must not, both: it depends on
    the moment the allotter last wrote it (between the two demand bounds)."""
    low, high = demand_bounds(item, now)
    return {needs_attention(item, low), needs_attention(item, high)}


def units_on_pos(pos: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Per SKU, the units purchase orders brought or will bring, each line counted up to
    what it orders (received or still incoming; over-receipts are stock, not orders).
    Recommended and withdrawn POs order nothing; a cancelled one keeps what it received
    before it was cancelled."""
    ordered: dict[str, int] = defaultdict(int)
    for po in pos:
        status = po["po_status"]
        if status in ("recommended", "withdrawn"):
            continue
        for line in po.get("lines") or ():
            got = min(int(line.get("received") or 0), int(line["quantity"]))
            ordered[line["sku"]] += got if status == "cancelled" else int(line["quantity"])
    return ordered


def check_purchasing(snap: Snapshot, shop: Webshop, buyer: Buyer) -> list[str]:
    """After every step:

    - at most one open recommendation (status ``recommended``) per supplier and kind, and
      it is the one the supplier's slot names (a slot names only a recommended PO);
    - per SKU: ``incoming`` on the balance == the sum over placed and partly received POs
      of ``max(0, quantity - received)``, and ``purchased`` == what the POs ordered
      (:func:`units_on_pos`), which a receipt does not bring back down;
    - per PO: its status says what its lines say (received: every line received in full;
      partly received: a receipt booked, a line short; placed: no receipt yet; recommended
      and withdrawn: never placed, nothing received), every line orders at least one unit,
      each line's ``received`` equals the PO's receipt entries in the SKU's ledger
      (``<po>:<receipt>``, one per receipt id and SKU), each receipt id was booked once
      with lines the buyer sent under that id, and a placed PO was placed by the buyer;
    - the life cycle only moves forward: recommended -> placed -> partly received ->
      received, withdrawn (never placed) or cancelled; a terminal status never changes.
    """
    problems: list[str] = []
    open_recs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for po_id, po in sorted(snap.pos.items()):
        if po["po_status"] == "recommended":
            open_recs[(po["supplier_id"], po["kind"])].append(po_id)
    for key, ids in sorted(open_recs.items()):
        if len(ids) > 1:
            problems.append(f"supplier {key[0]} has {len(ids)} open {key[1]} recommendations: {ids}")
        if snap.slots.get(key) not in ids:
            problems.append(f"{key[1]} recommendation {ids} of {key[0]}: its slot names {snap.slots.get(key)}")
    for key, po_id in sorted(snap.slots.items()):
        if po_id is not None and po_id not in open_recs.get(key, []):
            status = snap.pos.get(po_id, {}).get("po_status")
            problems.append(f"the {key[1]} slot of {key[0]} names {po_id}, which is {status}")

    outstanding: dict[str, int] = defaultdict(int)
    for po in snap.pos.values():
        if po["po_status"] in PO_OPEN:
            for line in po["lines"]:
                outstanding[line["sku"]] += max(0, int(line["quantity"]) - int(line.get("received") or 0))
    for sku in sorted(set(snap.skus) | set(outstanding)):
        incoming = int((snap.skus.get(sku) or {}).get("incoming") or 0)
        if incoming != outstanding[sku]:
            problems.append(f"{sku}: incoming {incoming} but placed POs have {outstanding[sku]} outstanding")
    bought = units_on_pos(snap.pos.values())
    for sku in sorted(set(snap.skus) | set(bought)):
        purchased = int((snap.skus.get(sku) or {}).get("purchased") or 0)
        if purchased != bought[sku]:
            problems.append(f"{sku}: purchased {purchased} but POs have ordered {bought[sku]} (units_on_pos)")

    placed_by_buyer = {
        r.path.split("/")[3]
        for r in shop.requests
        if r.kind == "po_place" and any(x.ok or x.committed for x in r.history)
    }
    receipts_sent, statuses = buyer.receipts, buyer.po_statuses  # statuses: as the previous check saw them
    ledger = {(sku, e["movement_id"]): e for sku, entries in snap.ledger.items() for e in entries}
    for po_id, po in sorted(snap.pos.items()):
        problems += _check_po(po_id, po, ledger, receipts_sent, placed_by_buyer)
        before, now = statuses.get(po_id), po["po_status"]
        if before is not None and before != now and not _moves_on(before, now):
            problems.append(f"PO {po_id} went from {before} back to or across to {now}")
        statuses[po_id] = now
    for sku, mid in sorted(ledger):
        po_id, _, rid = mid.partition(":")
        if po_id in snap.pos and rid not in snap.pos[po_id]["receipts"]:
            problems.append(f"ledger {sku}/{mid}: PO {po_id} has no receipt {rid}")
    return problems


def _moves_on(before: str, now: str) -> bool:
    if before in ("received", "withdrawn", "cancelled"):
        return False
    if now == "withdrawn":
        return before == "recommended"
    return PO_RANK[now] > PO_RANK[before]


def _check_po(
    po_id: str,
    po: dict[str, Any],
    ledger: dict[tuple[str, str], dict[str, Any]],
    receipts_sent: dict[tuple[str, str], list[dict[str, int]]],
    placed_by_buyer: set[str],
) -> list[str]:
    problems = []
    status, lines, receipts = po["po_status"], po["lines"], po["receipts"]
    where = f"PO {po_id} ({po['kind']} of {po['supplier_id']}, {status})"
    quantities = {ln["sku"]: int(ln["quantity"]) for ln in lines}
    got = {ln["sku"]: int(ln.get("received") or 0) for ln in lines}
    if len(quantities) != len(lines) or min(quantities.values(), default=0) < 1 or min(got.values(), default=0) < 0:
        problems.append(f"{where}: lines {[(ln['sku'], ln['quantity'], ln.get('received')) for ln in lines]}")
    done = bool(lines) and all(got[s] >= q for s, q in quantities.items())
    placed = po.get("placed_at") is not None
    wrong = {
        "received": not done or not receipts,
        "partly_received": done or not receipts,
        "placed": bool(receipts) or not placed,
        "recommended": bool(receipts) or placed,
        "withdrawn": bool(receipts) or placed,
        "cancelled": bool(receipts) and not placed,
    }.get(status, True)
    if wrong or (not placed and any(got.values())):
        problems.append(f"{where}: placed_at {po.get('placed_at')}, receipts {receipts}, lines received {got}")
    if placed and po_id not in placed_by_buyer:
        problems.append(f"{where} was placed, but no placement by the buyer was applied")
    booked: dict[str, dict[str, int]] = {}
    for event in po["history"]:
        text = str(event.get("event", ""))
        if text.startswith("receipt "):
            rid = text.removeprefix("receipt ")
            if rid in booked:
                problems.append(f"{where}: receipt {rid} booked twice")
            booked[rid] = {k: int(v) for k, v in (event.get("lines") or {}).items()}
    if sorted(booked) != receipts:
        problems.append(f"{where}: receipts {receipts} but its history books {sorted(booked)}")
    from_ledger: dict[str, int] = defaultdict(int)
    for rid, units in sorted(booked.items()):
        if units not in receipts_sent.get((po_id, rid), []):
            problems.append(f"{where}: receipt {rid} booked {units}, the buyer sent {receipts_sent.get((po_id, rid))}")
        for sku, n in sorted(units.items()):
            entry = ledger.get((sku, f"{po_id}:{rid}"))
            if entry is None or (entry["kind"], int(entry["quantity"]), int(entry["delta"])) != ("receipt", n, n):
                problems.append(f"{where}: receipt {rid} of {n} {sku} but the ledger has {entry and entry['quantity']}")
            from_ledger[sku] += n
    for sku, n in sorted(got.items()):
        if n != from_ledger[sku]:
            problems.append(f"{where}: {sku} received {n} but its receipts booked {from_ledger[sku]}")
    return problems


# ------------------------------------------------------------------ no SKU ordered twice
@dataclass(frozen=True)
class PlanningRead:
    """One SKU item as a planner's read of the ``planning`` index returned it, with the
    units on POs at that moment (``units_on_pos``)."""

    seq: int  # its place among the planning reads of the run
    item: dict[str, Any]
    on_pos: int

    def describe(self) -> str:
        return f"planning read #{self.seq} (projected {projected(self.item)}, {self.on_pos} on POs)"


@dataclass(frozen=True)
class Placement:
    po_id: str
    kind: str
    read: PlanningRead  # the read that asked for the line (the latest before the placement)
    recommended: int
    placed: int


class OrderingWatch:
    """No SKU is ordered twice for the same shortage, checked where it can happen: at the
    storage boundary (``StorageFaults.observe``), at every planning read and every placement.

    Units on POs, U (``units_on_pos``): per SKU, what placed POs brought or will bring,
    each line counted up to what it orders (placed, partly received, received: its
    quantity; cancelled: what it had received). Placing adds to U, cancelling takes the
    outstanding units off; receipts move units within a PO and leave U as it is. At each
    query of the ``planning`` index the watch notes each SKU item returned with U at that
    moment. At each transaction that moves a PO from recommended to placed it checks every
    line placed (quantity > 0):

    **(a) every placed line was asked for by a planning read, and no units placed on other
    POs since that read would have made it smaller.** Let r be the latest planning read of
    the line's SKU before the placement at which the SKU's incoming equals the line's
    ``incoming_seen`` and the rules for the line's kind ask for exactly its recommended
    quantity; if there is none, that is a failure ("matches no planning read"). Let
    d = U just before the placement - U at r: the net units of the SKU placed on other POs
    since the read. The line fails when d > 0 and ``rule(r's item with d more incoming) <
    recommended``: it orders units that another PO placed since r already covers (a
    rounding up to the order multiple that absorbs d is no double order). The service
    guards this with ``incoming_seen`` and ``purchased_seen``: a PO placed *and received*
    in between brings incoming back where it was, but not purchased (bug 6, decision 64).

    **(b) at the end of the day** (:meth:`check_ceiling`), for each SKU with units on POs:
    ``U_end <= T + (m - 1) - (P_r - U_r) + e`` for its last placed line, with r that
    line's planning read, T its target there (minimum, maximum, or 0 when phased out), m
    its order multiple, P_r the projected position at r (so P_r - U_r is the stock
    position that POs had not caused) and e the units the buyer added by editing the
    line. Adding the stock position that POs have not caused at the end (B_end = P_end -
    U_end) to both sides: the projected position P_end never exceeds what the rules allow
    from placed orders alone, ``T + (m - 1) + e``, plus how far B moved since r (receipts
    outside POs, returns and cancelled orders raise it, new orders lower it). It follows
    from (a) and the rules, since U grows only at placements; it fails for a SKU whose
    last placement ordered twice, and for units on POs whose placement the watch did not
    see.
    """

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.reads: dict[str, list[PlanningRead]] = defaultdict(list)
        self.last_placed: dict[str, Placement] = {}
        self.problems: list[str] = []
        self.known: set[str] = set()  # KNOWN_BUGS met
        self.planning_reads = 0
        self.placed_lines = 0

    def observe(self, operation: str, params: dict[str, Any]) -> Callable[[Any], None] | None:
        if operation == "Query" and params.get("IndexName") == "planning" and params["TableName"] == self.cloud.table:
            return self._read
        if operation != "TransactWriteItems":
            return None
        placing = []
        for entry in params.get("TransactItems", []):
            put = entry.get("Put")
            if put is None or put["TableName"] != self.cloud.table or not put["Item"]["pk"]["S"].startswith("PO#"):
                continue
            before = self.cloud.backend_item(put["Item"]["pk"]["S"], "PO")
            if put["Item"]["po_status"]["S"] == "placed" and before and before["po_status"]["S"] == "recommended":
                placing.append((_item(before), _item(put["Item"])))
        if not placing:
            return None
        on_pos = units_on_pos(_item(i) for i in self.cloud.partition_items("PO#"))
        return lambda _: self._placed(placing, on_pos)

    def _read(self, response: Any) -> None:
        self.planning_reads += 1
        on_pos = units_on_pos(_item(i) for i in self.cloud.partition_items("PO#"))
        for raw in response.get("Items", []):
            if raw.get("sk", {}).get("S") == "SKU":
                item = _item(raw)
                sku = item["sku"]
                self.reads[sku].append(PlanningRead(self.planning_reads, item, on_pos[sku]))

    def _placed(self, placing: list[tuple[dict[str, Any], dict[str, Any]]], on_pos: dict[str, int]) -> None:
        for before, after in placing:
            po_id, kind = before["po_id"], before["kind"]
            placed = {ln["sku"]: int(ln["quantity"]) for ln in after["lines"]}
            for line in before["lines"]:
                sku, recommended, seen = line["sku"], int(line["quantity"]), int(line.get("incoming_seen") or 0)
                if not placed.get(sku):
                    continue  # dropped by the buyer: nothing ordered
                self.placed_lines += 1
                read = next(
                    (
                        r
                        for r in reversed(self.reads[sku])
                        if int(r.item.get("incoming") or 0) == seen and rule_quantity(kind, r.item) == recommended
                    ),
                    None,
                )
                if read is None:
                    self.problems.append(
                        f"PO {po_id} ({kind}) placed {placed[sku]} of {sku}: its line ({recommended}, planned against "
                        f"incoming {seen}) matches no planning read of {sku}"
                    )
                    continue
                self.last_placed[sku] = Placement(po_id, kind, read, recommended, placed[sku])
                more = on_pos[sku] - read.on_pos
                wanted = rule_quantity(kind, read.item, more_incoming=more) if more > 0 else recommended
                if wanted >= recommended:
                    continue
                problem = (
                    f"PO {po_id} ({kind}) placed {placed[sku]} of {sku} (recommended {recommended}) asked for by "
                    f"{read.describe()}; since then {more} more unit(s) of {sku} were placed on other POs "
                    f"({on_pos[sku]} on POs now), with which the rules ask for {wanted}: "
                    f"{recommended - wanted} unit(s) ordered twice"
                )
                self.problems.append(problem)

    def take_problems(self) -> list[str]:
        problems, self.problems = self.problems, []
        return problems

    def check_ceiling(self, snap: Snapshot) -> list[str]:
        """(b) above, at the end of the day."""
        problems = []
        on_pos = units_on_pos(snap.pos.values())
        for sku, units in sorted(on_pos.items()):
            if units <= 0:
                continue
            last = self.last_placed.get(sku)
            if last is None:
                problems.append(f"{sku}: {units} unit(s) on POs, but no placement of {sku} was seen")
                continue
            item = last.read.item
            multiple = int(item.get("order_multiple") or 1)
            target = order_target(last.kind, item) or 0
            stock_without_pos = projected(item) - last.read.on_pos
            allowed = target + max(0, multiple - 1) - stock_without_pos + max(0, last.placed - last.recommended)
            if units <= allowed:
                continue
            problems.append(
                f"{sku}: {units} unit(s) on POs, above the {allowed} its last placement (PO {last.po_id}, "
                f"{last.kind}, {last.placed} placed of {last.recommended} asked for by {last.read.describe()}) "
                f"allows: target {target}, multiple {multiple}, stock position without POs {stock_without_pos}"
            )
        return problems


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    item = _plain({k: _des.deserialize(v) for k, v in raw.items()})
    for name in ("min_stock", "max_stock", "order_multiple"):
        if item.get(name) is not None:
            item[name] = int(item[name])
    return item


def check_planning(snap: Snapshot, now: datetime) -> list[str]:
    """At the end of the day (stream drained, a last planner run, faults off):

    - every SKU is listed in the ``planning`` index, under its supplier, exactly when it
      needs attention (:func:`needs_attention`, with its demand rate as of the
      allotter's last write: :func:`listing_allowed`);
    - each supplier's open backorder recommendation is what the rules ask for now: for a
      supplier with backorders on, the SKUs of its that can be ordered (tracked, with a
      purchase price) each with :func:`rule_quantity` > 0, planned against their current
      incoming, if the PO's value exceeds the threshold's bound (fixed order cost, MOV,
      their sum; ``none``: any value); otherwise no open backorder recommendation.
    """
    problems = []
    for sku, item in sorted(snap.skus.items()):
        listed = item.get("plan_sk", "").partition("#")[0] if item.get("plan_pk") else None
        allowed = {item.get("supplier_id") if attention else None for attention in listing_allowed(item, now)}
        if listed not in allowed:
            problems.append(
                f"{sku}: listed for planning under {listed}, should be {' or '.join(map(str, allowed))} (stock "
                f"position {stock_position(item)}, projected {projected(item)}, min {item.get('min_stock')}, "
                f"demand {item.get('demand_rate')}/day)"
            )
    for supplier_id, terms in sorted(snap.suppliers.items()):
        lines: dict[str, tuple[int, int]] = {}
        value = Decimal(0)
        for sku, item in sorted(snap.skus.items()):
            orderable = item.get("tracked") is not False and item.get("purchase_price") is not None
            if item.get("supplier_id") != supplier_id or not orderable or not needs_attention(item):
                continue
            if (quantity := rule_quantity("backorder", item)) > 0:
                lines[sku] = (quantity, int(item.get("incoming") or 0))
                value += quantity * Decimal(str(item["purchase_price"]))
        cost, mov = Decimal(str(terms.get("fixed_order_cost", 0))), Decimal(str(terms.get("minimum_order_value", 0)))
        bound = {"none": Decimal(-1), "fixed_cost": cost, "mov": mov, "both": cost + mov}[terms["threshold_mode"]]
        want_lines = lines if terms.get("backorders_enabled") and lines and value > bound else {}
        open_recs = [
            po for po in snap.pos.values()
            if (po["supplier_id"], po["kind"], po["po_status"]) == (supplier_id, "backorder", "recommended")
        ]  # fmt: skip
        have = {
            ln["sku"]: (int(ln["quantity"]), int(ln.get("incoming_seen") or 0))
            for po in open_recs
            for ln in po["lines"]
        }
        if have != want_lines:
            problems.append(
                f"supplier {supplier_id}: open backorder recommendation {have} (sku: quantity, incoming seen), "
                f"the rules ask for {want_lines} (value {value}, threshold {terms['threshold_mode']} {bound})"
            )
    return problems


# ------------------------------------------------------------------ webhooks and the catch-up
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled", "catch-up/order")


def check_webhooks(snap: Snapshot, shopify: ShopifyShop, cloud: Cloud) -> list[str]:
    """After every step:

    - the webhook function never failed (an uncaught error, API Gateway's 502) but by an
      injected crash, nor the catch-up function (decision 70: a shop that fails is
      reported and the others go on; the function fails only on a bug), and the webhook
      function never answered a genuine delivery anything but 200, 429 or 5xx
      (a 4xx tells Shopify "this delivery is wrong");
    - a forged delivery (signed with another secret) was answered 401 or 429/5xx (never
      2xx) and nothing of it is stored;
    - every delivery stored for the Shopify shop is a genuine webhook Shopify sent
      (``webhook:<X-Shopify-Webhook-Id>``) or an order the catch-up read
      (``catch-up:<order id>:<updated_at>``) of an order the shop has;
    - every order of the Shopify shop in the service is one the shop created, with its
      ``webshop`` ref: platform ``shopify`` and the shop's number (``#1001``).
    """
    problems = list(cloud.function_errors)
    cloud.function_errors.clear()
    for error in shopify.catch_up_errors:
        if bug := known_catch_up_failure(error):
            shopify.shop.known_bugs.add(bug)
        else:
            problems.append(f"the catch-up function failed: {error}")
    shopify.catch_up_errors.clear()
    genuine = {h.key for h in shopify.hooks if h.genuine}
    forged = {h.key for h in shopify.hooks if not h.genuine}
    for hook in shopify.hooks:
        for n, response in enumerate(hook.history, 1):
            if hook.genuine and not (response.status == 200 or response.status == 429 or response.status >= 500):
                problems.append(f"{hook.describe()}: delivery {n} answered {response.status} {response.body}")
            if not hook.genuine and response.ok:
                problems.append(f"forged {hook.describe()}: delivery {n} answered {response.status}")
    for (shop_id, key), delivery in sorted(snap.deliveries.items()):
        if shop_id != SHOPIFY_SHOP:
            problems.append(f"a delivery {key} is stored for {shop_id}, which has no integration")
        elif key in forged:
            problems.append(f"forged delivery {key} was stored ({delivery['topic']})")
        elif key.startswith("catch-up:"):
            if key.split(":")[1] not in shopify.orders and key.split(":")[1] not in ("refund", "fulfillment"):
                problems.append(f"catch-up delivery {key} is of an order the shop does not have")
        elif key not in genuine:
            problems.append(f"delivery {key} ({delivery['topic']}) was never sent by Shopify")
    for (shop_id, order_id), order in sorted(snap.orders.items()):
        if shop_id != SHOPIFY_SHOP:
            continue
        ref, mine = order.get("webshop") or {}, shopify.orders.get(order_id)
        if mine is None or ref.get("platform") != "shopify" or ref.get("number") != f"#{mine.number}":
            problems.append(f"Shopify order {order_id}: webshop ref {ref}, the shop has {mine and mine.number}")
    return problems


def _utc(moment: datetime) -> str:
    """A time in the service's text form (UTC, microseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_shopify(snap: Snapshot, shopify: ShopifyShop, stream: StreamDriver) -> list[str]:
    """At the end of the day (faults off, webhooks in flight delivered, the stream
    drained, a last catch-up run, the stream drained again):

    - the last catch-up run finished, with no shop failed, and no webhook is still
      failing (every one got an answer with every fault off);
    - **no order lost**: every order the Shopify shop created, whether its deliveries
      were acknowledged or dropped, is in the service under the shop, unless it is
      cancelled and no open state of it (not cancelled, a line still ordered) ever
      reached the service (a delivery stored, by a webhook or the catch-up): the service
      does not create an order from a cancelled state;
    - each of those orders has its ``webshop`` ref: platform ``shopify``, the shop's
      number, and ``updated_at`` the time of the shop's current state (its latest state
      was applied, and nothing older after it);
    - per line: for each line item of the shop's current state, with ``target`` its
      ``current_quantity`` (0 when the order is cancelled), the service's line of that
      line id (``webshop.line_ids``) still orders ``quantity - cancelled ==
      max(target, shipped + locked)``: what the shop orders now, or more only by units
      that have shipped or sit in a released shipment (``webshops.sync.follow``); a line
      the service does not have is one the shop orders 0 of, and the service has no line
      the shop's line ids do not name. So a cancelled order has no open unit
      (``quantity - shipped - cancelled - locked == 0``);
    - every delivery stored for the shop is ``applied`` or ``rejected``, none left
      ``received`` (except one whose stream record was given up on, in the allotter's
      on-failure queue, which an operator redrives); a delivery is rejected, and a
      rejection listed, only when the simulation meant it (``orders/paid``, a topic the
      service does not take; and a line of ``LATE_SKU`` sold before the catalogue had it,
      listed as ``<delivery>:unknown:QUINCE``); every acknowledged webhook is stored.

    An order whose checks fail counts as a known bug instead when one explains it:
    ``known_superseded`` (a cancelled state of it was applied that is newer than the
    state its ref says was applied: bug 8) or ``known_rejection``.
    """
    problems: list[str] = []
    if shopify.last_report is None:
        problems.append("the end-of-day catch-up run did not finish")
    elif shopify.last_report["failed"]:
        problems.append(f"the end-of-day catch-up failed: {shopify.last_report['failed']}")
    for hook in shopify.hooks:
        if hook.stuck:
            problems.append(f"{hook.describe()}: no 200 after {hook.attempts} deliveries, the last with faults off")
    mine = {(shop_id, key): d for (shop_id, key), d in snap.deliveries.items() if shop_id == SHOPIFY_SHOP}
    reached_open: set[str] = set()
    excused: dict[str, str] = {}  # order id -> the known bug whose rejection of a delivery of it lost a state
    cancelled_applied: dict[str, str] = {}  # order id -> the newest cancelled state of it applied
    for delivery in mine.values():
        if delivery["topic"] in ORDER_TOPICS:
            body = delivery_body(delivery)
            bug = known_rejection(delivery)
            if bug:
                excused[str(body.get("id"))] = bug
                continue
            if body.get("cancelled_at") is not None and delivery["status"] == "applied":
                at = _utc(datetime.fromisoformat(str(body["updated_at"])))
                cancelled_applied[str(body["id"])] = max(at, cancelled_applied.get(str(body["id"]), ""))
            items = body.get("line_items") or []
            if body.get("cancelled_at") is None and any(int(i.get("current_quantity") or 0) > 0 for i in items):
                reached_open.add(str(body.get("id")))
    for order_id, order in sorted(shopify.orders.items()):
        found = _check_shopify_order(snap, order_id, order, reached_open)
        stored = snap.orders.get((SHOPIFY_SHOP, order_id)) or {}
        bug = excused.get(order_id) or known_superseded(
            (stored.get("webshop") or {}).get("updated_at"), cancelled_applied.get(order_id)
        )
        if found and bug:  # a state of it was lost to a known bug
            shopify.shop.known_bugs.add(bug)
        else:
            problems += found
    failed_keys = set()
    for record in stream.failure_queue:
        sk = record["dynamodb"].get("Keys", {}).get("sk", {}).get("S", "")
        if sk.startswith("DELIVERY#"):
            failed_keys.add(sk.split("#", 2)[2])
    meant = {h.key for h in shopify.hooks if h.topic not in ORDER_TOPICS}
    for (_, key), delivery in sorted(mine.items()):
        status = delivery["status"]
        if bug := known_rejection(delivery):
            shopify.shop.known_bugs.add(bug)
            continue
        if status == "received" and key not in failed_keys:
            problems.append(f"delivery {key} ({delivery['topic']}) is still received: never applied")
        elif status == "rejected" and key not in meant:
            problems.append(f"delivery {key} ({delivery['topic']}) was rejected: {delivery.get('reason')!r}")
        elif status == "applied" and key in meant:
            problems.append(f"delivery {key} ({delivery['topic']}) was applied; the service does not take that topic")
    for rejection in snap.rejections.get(SHOPIFY_SHOP, []):
        of, _, sku = rejection["key"].partition(":unknown:")
        if sku == LATE_SKU and (SHOPIFY_SHOP, of) in mine:
            continue  # the shop sold the product before the catalogue had it: its line waits, reported once
        if rejection["key"] not in meant and not known_rejection(rejection | {"status": "rejected"}):
            problems.append(f"rejection listed for {rejection['key']} ({rejection['topic']}): {rejection['reason']!r}")
    for hook in shopify.hooks:
        if hook.acked and hook.genuine and (SHOPIFY_SHOP, hook.key) not in mine:
            problems.append(f"acknowledged {hook.describe()} ({hook.key}) is not stored")
    return problems


def _check_shopify_order(snap: Snapshot, order_id: str, order: ShopOrder, reached_open: set[str]) -> list[str]:
    """:func:`check_shopify` for one of the Shopify shop's orders."""
    problems: list[str] = []
    key = (SHOPIFY_SHOP, order_id)
    name = f"Shopify order #{order.number} ({order_id}{', cancelled' if order.cancelled else ''})"
    stored = snap.orders.get(key)
    if stored is None:
        # A cancelled order may be absent even if an open state of it reached the service:
        # when its cancelled state was applied first, the older open state creates nothing
        # (decision 69, bug 8). It has no open unit either way.
        if not order.cancelled:
            problems.append(
                f"{name} is not in the service (an open state of it reached it: {order_id in reached_open})"
            )
        return problems
    ref = stored.get("webshop") or {}
    want = {"platform": "shopify", "number": f"#{order.number}", "updated_at": _utc(order.updated_at)}
    have = {k: ref.get(k) for k in want}
    if have != want:
        problems.append(f"{name}: webshop ref {have}, the shop's current state is {want}")
    numbers = {str(k): int(v) for k, v in (ref.get("line_ids") or {}).items()}
    lines = {int(ln["line_no"]): ln for ln in snap.lines.get(key, [])}
    for item in order.lines:
        target = 0 if order.cancelled else item.current
        line_no = numbers.get(str(item.line_id))
        ln = lines.get(line_no) if line_no is not None else None
        if ln is None:
            if target > 0:
                problems.append(
                    f"{name}: line item {item.line_id} ({item.sku}) orders {target}, the service has no line"
                )
            continue
        ordered = int(ln["quantity"]) - int(ln["cancelled"])
        kept = int(ln["shipped"]) + int(ln["locked"])
        if ln["sku"] != item.sku or ordered != max(target, kept):
            problems.append(
                f"{name} line {line_no} ({ln['sku']}, item {item.line_id} of {item.sku}): the shop orders "
                f"{target}, the service {ordered} ({_units(ln)}), should be max({target}, shipped + locked {kept})"
            )
        elif order.cancelled and ordered - kept > 0:
            problems.append(f"{name} line {line_no}: {ordered - kept} unit(s) still open: {_units(ln)}")
    named = set(numbers.values())
    for line_no in sorted(set(lines) - named):
        problems.append(f"{name}: line {line_no} is not one of the shop's line items {numbers}")
    return problems
