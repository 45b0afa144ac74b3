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
  one the webshop sent (nothing invented);
- no email was sent twice (see :func:`check_emails`).

at the end (stream drained and a planner run, faults off)
- the allotment is converged: no line waits while free units or units of a strictly
  lower-priority line could serve it (``whole`` lines: all of what they wait for), a
  whole line holds all or nothing, and each line of the shop that fills by hand that is
  left short waits for a fill;
- each order's pending shipment holds ``pending_content`` of its lines;
- no acknowledged webhook was lost (:func:`check_acknowledged`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from backorders.adapters.dynamodb.models import LineItem
from backorders.domain.model import OrderLine, ShipType
from backorders.domain.shipments import pending_content
from tests.simulation.cloud import Cloud
from tests.simulation.webshop import Webshop

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
        elif pk.startswith("ORDER#"):
            key = (item.get("shop") or pk.split("#")[1], item.get("order_id") or pk.split("#", 2)[2])
            if sk == "ORDER":
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
    for _, order_id in snap.orders:
        if order_id not in shop.orders:
            problems.append(f"order {order_id} exists but the webshop never sent it")
    for sku, entries in snap.ledger.items():
        for e in entries:
            mid = e["movement_id"]
            if e["kind"] == "shipment":
                continue
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
    # bug 4: a line reopened by a quantity change kept the priority it had when closed.
}


def known_bug(request: Any, response: Any = None) -> str | None:
    """The open bug in ``KNOWN_BUGS`` that explains this symptom, if any. Add a rule
    here with its entry, matching the symptom as narrowly as the regression test does."""
    return None


# Writes that are idempotent by design (decision 17): a re-delivery of one that was
# applied must be answered 2xx ("duplicate"/"unchanged"), never refused. ``force`` is
# absolute too, but a later delivery may meet a line that has shipped meanwhile.
REPLAY_SAFE = frozenset(
    {"order", "receipt", "return", "adjustment", "count", "cancel_order", "cancel_line", "cancel_units",
     "priority", "release", "ship", "product", "fill"}
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
