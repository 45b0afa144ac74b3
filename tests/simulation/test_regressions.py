"""Faults the simulation found, each minimised to one request sequence against the real
API handler on moto.

While the production code still has a fault its test is marked
``xfail(strict=True, reason=...)`` and ``invariants.KNOWN_BUGS`` names the symptom, so
the simulation keeps exploring past it. When a fix lands the test passes, strict xfail
fails the suite, and both the marker and the entry go: from then on the test guards
the fix. Bugs 1 and 2 below were fixed in 8c08705."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulation.cloud import Cloud
from tests.simulation.faults import FaultPlan

ORDER = {
    "id": "R1",
    "entered_at": "2026-11-23T08:00:00Z",
    "customer": {"id": "c1"},
    "lines": [{"line": 1, "sku": "APPLE", "quantity": 3}, {"line": 2, "sku": "PEAR", "quantity": 2}],
}


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    with Cloud(0, FaultPlan.none()) as running:
        for sku in ("APPLE", "PEAR"):
            assert running.api("PUT", f"/v1/products/{sku}", {"name": sku}).ok
        assert running.api(
            "POST", "/v1/stock/movements", {"id": "m1", "sku": "APPLE", "kind": "receipt", "quantity": 1}
        ).ok
        assert running.api("POST", "/v1/orders", ORDER).status == 201
        yield running


def _crash_after_next_domain_transaction(cloud: Cloud) -> None:
    cloud.faults.crash_when = lambda operation, params: (
        operation == "TransactWriteItems"
        and any(next(iter(item.values()))["TableName"] == cloud.table for item in params["TransactItems"])
    )


def _line(cloud: Cloud, order_id: str, line: int) -> dict:
    seen = cloud.api("GET", f"/v1/orders/{order_id}")
    assert seen.ok
    return next(ln for ln in seen.body["lines"] if ln["line"] == line)


# ---------------------------------------------------------------------------------------
# Bug 1 (seed 2 step 105, seed 6 step 16, seed 9 step 45; fixed in 8c08705): a line cancel
# applied once (its answer lost: a timeout, or a crash after the commit) and delivered
# again was answered 422 "units to cancel must be positive" - rules.cancel(line, None)
# refused a line with no open unit - so the webshop took an applied cancel for refused.
def test_a_redelivered_line_cancel_is_answered_unchanged(cloud: Cloud) -> None:
    _crash_after_next_domain_transaction(cloud)
    assert cloud.api("POST", "/v1/orders/R1/cancel", {"line": 1}).crashed  # applied, answer lost
    again = cloud.api("POST", "/v1/orders/R1/cancel", {"line": 1})
    assert (again.status, again.body.get("status")) == (200, "unchanged"), again.body
    assert _line(cloud, "R1", 1)["cancelled"] == 3


def test_a_redelivered_order_cancel_is_answered_unchanged(cloud: Cloud) -> None:
    assert cloud.api("POST", "/v1/orders/R1/cancel", {}).body["status"] == "cancelled"
    again = cloud.api("POST", "/v1/orders/R1/cancel", {})
    assert (again.status, again.body["status"]) == (200, "unchanged")


# ---------------------------------------------------------------------------------------
# Bug 2 (seed 11, 24, 28, 29, 31, 32, 36, each at the end of the day; fixed in 8c08705):
# a partial cancel ("units") ran under the Powertools idempotency utility, whose record
# is a write apart from the cancel's transaction. A Lambda that died between the two (or
# whose save of the result was throttled) left the key INPROGRESS; with no Lambda context
# registered that record never expires early, so every retry with the key answered 500
# for 24 hours (and an expiring record would have let the cancel run twice). The key is
# now written in the cancel's own transaction.
PARTIAL = {"line": 1, "units": 1}


def test_a_partial_cancel_retried_after_a_crash_past_its_commit_is_answered_and_counted_once(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "cancel-7"}
    _crash_after_next_domain_transaction(cloud)  # the cancel commits, then the Lambda dies
    assert cloud.api("POST", "/v1/orders/R1/cancel", PARTIAL, headers).crashed
    for _ in range(2):
        again = cloud.api("POST", "/v1/orders/R1/cancel", PARTIAL, headers)
        assert again.ok, (again.status, again.body)
    assert _line(cloud, "R1", 1)["cancelled"] == 1  # once, not three times


def test_a_partial_cancel_retried_after_a_throttled_commit_is_applied_once(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "cancel-8"}
    cloud.faults.throttle_when = lambda operation, params: operation == "TransactWriteItems"
    first = cloud.api("POST", "/v1/orders/R1/cancel", PARTIAL, headers)  # the service retries inside
    again = cloud.api("POST", "/v1/orders/R1/cancel", PARTIAL, headers)
    assert first.ok and again.ok, (first.status, first.body, again.status, again.body)
    assert _line(cloud, "R1", 1)["cancelled"] == 1


def test_a_partial_cancel_key_reused_for_another_request_is_refused(cloud: Cloud) -> None:
    headers = {"Idempotency-Key": "cancel-9"}
    assert cloud.api("POST", "/v1/orders/R1/cancel", PARTIAL, headers).ok
    other = cloud.api("POST", "/v1/orders/R1/cancel", {"line": 2, "units": 1}, headers)
    assert other.status == 409, other.body
    assert _line(cloud, "R1", 2)["cancelled"] == 0


# ---------------------------------------------------------------------------------------
# Bug 3 (found while adding untracked products to the simulated catalogue): an untracked
# product (gift card, service: "always fulfilled", decision 14) is never allotted.
# GreedyAllotter gives its lines their full cap (pool None), but commit_changes writes the
# takes with touch_sku(..., allotted=+n), so DynamoUnitOfWork._sku_update adds the
# condition ``available >= n``; with nothing on hand it fails every time, the recompute
# gives up after MAX_ATTEMPTS ("did not settle"), every stream record of the SKU fails
# until the batch is discarded, and each planner sweep raises "could not be recomputed".
def test_an_untracked_product_is_always_allotted(cloud: Cloud) -> None:
    import random

    from tests.simulation.stream import StreamDriver

    assert cloud.api("PUT", "/v1/products/GIFT", {"name": "Gift card", "tracked": False}).ok
    order = {"id": "G1", "entered_at": "2026-11-23T08:05:00Z", "customer": {"id": "c1"}}
    assert cloud.api("POST", "/v1/orders", order | {"lines": [{"sku": "GIFT", "quantity": 2}]}).status == 201
    stream = StreamDriver(cloud, random.Random(0), FaultPlan.none())
    stream.sizes = (100,)
    stream.pump()  # one invocation with everything written so far
    assert stream.stats["partial_failures"] == stream.stats["function_errors"] == 0, stream.stats
    line = _line(cloud, "G1", 1)
    assert (line["allotted"], line["backordered"]) == (2, 0), line


# ---------------------------------------------------------------------------------------
# Bug 4 (seed 226, 200 steps: order H0002; fixed): a line reopened by a quantity change
# kept the priority it had when it was closed. OrderService.change_priority only
# reprioritized open lines and change_quantity never takes the order's priority, so
# cancel -> priority change -> quantity increase left an open line at the old priority,
# and its allotment key (and the demand index) served it as such. Now every line of
# the order takes a new priority, closed ones included.
def test_a_line_reopened_by_a_quantity_change_has_the_orders_priority(cloud: Cloud) -> None:
    assert cloud.api("POST", "/v1/orders/R1/cancel", {}).body["status"] == "cancelled"
    assert cloud.api("PATCH", "/v1/orders/R1", {"priority": 3}).ok
    assert cloud.api("PATCH", "/v1/orders/R1/lines/1", {"quantity": 5}).ok  # 2 more units wanted
    seen = cloud.api("GET", "/v1/orders/R1").body
    line = next(ln for ln in seen["lines"] if ln["line"] == 1)
    assert line["backordered"] + line["allotted"] == 2
    assert (seen["priority"], line["priority"]) == (3, 3), (seen["priority"], line)


# ---------------------------------------------------------------------------------------
# Purchasing. The catalogue: one supplier with backorders on and a review today, one
# product with a minimum of 4 and a maximum of 10, and an order that backorders 3 units
# (stock position -3). The first planner run recommends a backorder PO of 7 (up to the
# minimum) and, at the review, a regular PO of 13 (up to the maximum).
@pytest.fixture
def purchasing() -> Iterator[Cloud]:
    import random

    from tests.simulation.stream import StreamDriver

    with Cloud(0, FaultPlan.none()) as running:
        supplier = {"backorders_enabled": True, "next_review_date": "2026-11-23", "lead_time_days": 3}
        assert running.api("PUT", "/v1/suppliers/acme", supplier).ok
        product = {"supplier_id": "acme", "purchase_price": "2.00", "min_stock": 4, "max_stock": 10}
        assert running.api("PUT", "/v1/products/BOOK", product).ok
        order = ORDER | {"id": "B1", "lines": [{"line": 1, "sku": "BOOK", "quantity": 3}]}
        assert running.api("POST", "/v1/orders", order).status == 201
        StreamDriver(running, random.Random(0), FaultPlan.none()).drain()
        assert running.api("POST", "/v1/planning/run").ok
        yield running


def _recommended(cloud: Cloud) -> dict[str, dict]:
    seen = cloud.api("GET", "/v1/purchase-orders?status=recommended")
    return {po["kind"]: po for po in seen.body["purchase_orders"]}


# Bug 5 (seed 1 step 10 at 100 steps, once the buyer's cancels were replay-checked): a PO
# cancel applied once (its answer lost, or the request delivered twice) and delivered
# again is answered 409 "purchase order ... is cancelled and cannot be cancelled", so the
# buyer's client takes an applied cancel for refused. Decision 17: every write is
# idempotent by its natural key or absolute; cancelling a PO is absolute, as cancelling an
# order is (bug 1: a re-delivered cancel is answered 200 "unchanged").
def test_a_redelivered_po_cancel_is_answered_2xx(purchasing: Cloud) -> None:
    po_id = _recommended(purchasing)["backorder"]["id"]
    _crash_after_next_domain_transaction(purchasing)
    assert purchasing.api("POST", f"/v1/purchase-orders/{po_id}/cancel").crashed  # applied, answer lost
    again = purchasing.api("POST", f"/v1/purchase-orders/{po_id}/cancel")
    assert again.ok, (again.status, again.body)
    assert again.body["status"] == "cancelled"


# Bug 6 (seed 8 step 32 at 200 steps: PEAR, whose backorder PO of 5 and regular PO of 5
# were recommended by one run, both planned against incoming 0; the backorder PO was
# placed and received in two receipts, then the regular one was placed): a recommendation
# planned before another PO of its SKU was placed *and received* can still be placed. Its
# lines are checked against the SKU's ``incoming`` (``incoming_seen``), and a receipt
# takes the units off incoming again, so incoming is back at what the line saw while the
# stock on order it did not see has arrived: the SKU is ordered twice for the same
# shortage. A regular recommendation is revised only at the next review, so it stays open
# and placeable all that time. Here: backorder 7 (to the minimum 4) and regular 13 (to the
# maximum 10); the backorder PO is placed and received; placing the regular one brings
# the projected position to 4 + 13 = 17, 7 above the maximum. Placing it while the 7 were
# still incoming was refused, as decision 55 says.
def test_a_recommendation_planned_before_another_po_was_placed_and_received_cannot_be_placed(
    purchasing: Cloud,
) -> None:
    recommended = _recommended(purchasing)
    backorder, regular = recommended["backorder"]["id"], recommended["regular"]["id"]
    assert [(ln["sku"], ln["quantity"]) for ln in recommended["backorder"]["lines"]] == [("BOOK", 7)]
    assert [(ln["sku"], ln["quantity"]) for ln in recommended["regular"]["lines"]] == [("BOOK", 13)]
    assert purchasing.api("POST", f"/v1/purchase-orders/{backorder}/place", {}).ok
    assert purchasing.api("POST", f"/v1/purchase-orders/{regular}/place", {}).status == 409  # 7 incoming since
    receipt = {"id": "r1", "lines": [{"sku": "BOOK", "quantity": 7}]}
    assert purchasing.api("POST", f"/v1/purchase-orders/{backorder}/receipts", receipt).ok  # incoming 0 again
    again = purchasing.api("POST", f"/v1/purchase-orders/{regular}/place", {})
    assert again.status == 409, f"placed: {again.body and again.body.get('lines')}, 13 on top of the 7 received"
