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
