"""Order edits through the real API handler: a new priority, a new quantity, units
forced onto backorder, and units cancelled under an ``Idempotency-Key``. Each answer
is checked against the line states and the SKU counters it leaves, and every refused
edit against the table: it writes nothing.

These rules hold before and after the allotment-stability decision of 2026-12-01:
only a strictly higher priority takes allotted units here, and freed units go to
waiting lines.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import OTHER_SHOP, SHOP
from tests.support.events import movement_body, order_body, order_line


def stocked(api: Any, units: int) -> None:
    api("PUT", "/v1/products/TEXTBOOK", {"name": "Algebra textbook"})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", units))


def ordered(api: Any, order_id: str, quantity: int, *, minute: int = 0, **fields: Any) -> None:
    body = order_body(order_id, order_line("TEXTBOOK", quantity), minute=minute, **fields)
    assert api("POST", "/v1/orders", body).status == 201


def state(api: Any, order_id: str) -> tuple[int, int, int, int, int]:
    """(quantity, allotted, backordered, cancelled, forced) of the order's line 1."""
    line = api("GET", f"/v1/orders/{order_id}").body["lines"][0]
    return line["quantity"], line["allotted"], line["backordered"], line["cancelled"], line["forced_backorder"]


def counters(api: Any) -> tuple[int, int, int, int]:
    """(on_hand, allotted, available, backordered) of TEXTBOOK."""
    balance = api("GET", "/v1/skus/TEXTBOOK").body
    return balance["on_hand"], balance["allotted"], balance["available"], balance["backordered"]


def released(api: Any, order_id: str) -> None:
    """The order's pending shipment (as the allotter keeps it) released to the warehouse."""
    api.svc.shipments.sync_pending(SHOP, order_id)
    assert api("POST", f"/v1/orders/{order_id}/shipments/1/release").status == 200


def assert_refused(api: Any, status: int, field: str, method: str, path: str, body: Any, **kw: Any) -> None:
    stored = api.items()
    reply = api(method, path, body, **kw)
    assert (reply.status, reply.body["field"]) == (status, field), reply.body
    assert api.items() == stored


def order_812(api: Any, *, quantity: int, on_hand: int, **fields: Any) -> Any:
    """Order 812 for ``quantity`` textbooks, allotted all it can get of ``on_hand``."""
    stocked(api, on_hand)
    ordered(api, "812", quantity, **fields)
    api.settle("TEXTBOOK")
    allotted = min(quantity, on_hand)
    assert state(api, "812") == (quantity, allotted, quantity - allotted, 0, 0)
    return api


def order_813_waits(api: Any, quantity: int) -> None:
    """Order 813, entered after 812, waiting on backorder for ``quantity`` textbooks."""
    ordered(api, "813", quantity, minute=5)
    api.settle("TEXTBOOK")
    assert state(api, "813") == (quantity, 0, quantity, 0, 0)


@pytest.fixture
def holding(api):  # type: ignore[no-untyped-def]
    """Order 812 holding all 4 textbooks there are."""
    return order_812(api, quantity=4, on_hand=4)


# ------------------------------------------------------------------ priority


def test_a_raised_priority_takes_units_from_a_lower_priority_order(holding):
    # Given 4 textbooks, all held by order 812, and order 813 waiting for 2
    api = holding
    order_813_waits(api, 2)
    # When order 813 is given priority 1
    reply = api("PATCH", "/v1/orders/813", {"priority": 1})
    assert (reply.status, reply.body) == (200, {"status": "changed", "order_id": "813", "priority": 1})
    order = api("GET", "/v1/orders/813").body
    assert (order["priority"], order["lines"][0]["priority"]) == (1, 1)
    assert state(api, "813") == (2, 0, 2, 0, 0)  # the allotter moves the units, not the edit
    # Then the allotter hands it 2 of order 812's units
    api.settle("TEXTBOOK")
    assert state(api, "813") == (2, 2, 0, 0, 0)
    assert state(api, "812") == (4, 2, 2, 0, 0)
    assert counters(api) == (4, 4, 0, 2)


def test_the_same_priority_again_writes_nothing(api):
    order_812(api, quantity=6, on_hand=4, priority=2)
    before = api.items()
    reply = api("PATCH", "/v1/orders/812", {"priority": 2})
    assert (reply.status, reply.body["status"]) == (200, "unchanged")
    assert api.items() == before, "not even the order header's version"


@pytest.mark.parametrize(
    ("path", "body", "shop", "status", "field"),
    [
        pytest.param("/v1/orders/812", {"priority": 10_000}, SHOP, 422, "priority", id="priority out of range"),
        pytest.param("/v1/orders/812", {"priority": "1"}, SHOP, 422, "priority", id="priority as text"),
        pytest.param("/v1/orders/999", {"priority": 1}, SHOP, 404, "order_id", id="unknown order"),
        pytest.param("/v1/orders/812", {"priority": 1}, OTHER_SHOP, 404, "order_id", id="another shop's order"),
    ],
)
def test_a_refused_priority_change_writes_nothing(api, path, body, shop, status, field):
    order_812(api, quantity=6, on_hand=4)
    assert_refused(api, status, field, "PATCH", path, body, shop=shop)


# ------------------------------------------------------------------ quantity


def test_a_smaller_quantity_gives_the_surplus_back_to_the_next_waiting_order(holding):
    # Given 4 textbooks held by order 812 and order 813 waiting for 3
    api = holding
    order_813_waits(api, 3)
    # When order 812 wants only 1
    reply = api("PATCH", "/v1/orders/812/lines/1", {"quantity": 1})
    assert (reply.status, reply.body) == (200, {"status": "changed", "order_id": "812", "line": 1})
    # Then it keeps 1 and 3 are free at once; the allotter gives them to order 813
    assert state(api, "812") == (1, 1, 0, 0, 0)
    assert counters(api) == (4, 1, 3, 3)
    api.settle("TEXTBOOK")
    assert state(api, "813") == (3, 3, 0, 0, 0)
    assert counters(api) == (4, 4, 0, 0)


def test_a_larger_quantity_waits_on_backorder_for_the_extra_units(holding):
    api = holding
    assert api("PATCH", "/v1/orders/812/lines/1", {"quantity": 7}).body["status"] == "changed"
    api.settle("TEXTBOOK")
    assert state(api, "812") == (7, 4, 3, 0, 0)
    assert counters(api) == (4, 4, 0, 3)


def test_the_same_quantity_again_writes_nothing(holding):
    api = holding
    stored = api.items()
    reply = api("PATCH", "/v1/orders/812/lines/1", {"quantity": 4})
    assert (reply.status, reply.body["status"]) == (200, "unchanged")
    assert api.items() == stored


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        pytest.param("/v1/orders/812/lines/1", {"quantity": 3}, 409, "quantity", id="below the released units"),
        pytest.param("/v1/orders/812/lines/1", {"quantity": 0}, 422, "quantity", id="zero"),
        pytest.param("/v1/orders/812/lines/2", {"quantity": 5}, 404, "line", id="no such line"),
        pytest.param("/v1/orders/999/lines/1", {"quantity": 5}, 404, "order_id", id="no such order"),
    ],
)
def test_a_refused_quantity_change_writes_nothing(holding, path, body, status, field):
    api = holding
    # Given order 812 whose 4 units are in a released shipment
    released(api, "812")
    assert_refused(api, status, field, "PATCH", path, body)


# ------------------------------------------------------------------ forced backorder


def test_forced_units_go_back_to_stock_and_stay_on_backorder_after_a_recompute(holding):
    # Given order 812 holding all 4 of its textbooks
    api = holding
    # When 3 of its units are forced onto backorder
    reply = api("POST", "/v1/orders/812/lines/1/force-backorder", {"units": 3})
    assert (reply.status, reply.body) == (200, {"status": "changed", "order_id": "812", "line": 1})
    # Then it keeps 1, the 3 are free stock, and the allotter does not hand them back
    forced = (state(api, "812"), counters(api))
    assert forced == ((4, 1, 3, 0, 3), (4, 1, 3, 3))
    api.settle("TEXTBOOK")
    assert (state(api, "812"), counters(api)) == forced


def test_forcing_without_units_holds_every_open_unit_on_backorder(holding):
    api = holding
    assert api("POST", "/v1/orders/812/lines/1/force-backorder", {}).status == 200
    assert state(api, "812") == (4, 0, 4, 0, 4)
    assert counters(api) == (4, 0, 4, 4)


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        pytest.param("/v1/orders/812/lines/1/force-backorder", {"units": 5}, 409, "units", id="more than the line"),
        pytest.param("/v1/orders/812/lines/1/force-backorder", {"units": -1}, 422, "units", id="negative"),
        pytest.param("/v1/orders/812/lines/2/force-backorder", {"units": 1}, 404, "line", id="no such line"),
    ],
)
def test_a_refused_forced_backorder_writes_nothing(holding, path, body, status, field):
    api = holding
    assert_refused(api, status, field, "POST", path, body)


# ------------------------------------------------------------------ cancelling some units


def cancel_units(api: Any, units: int, key: str | None, order_id: str = "812") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api("POST", f"/v1/orders/{order_id}/cancel", {"line": 1, "units": units}, headers=headers)


@pytest.fixture
def waiting(api):  # type: ignore[no-untyped-def]
    """Order 812 for 5 textbooks: 3 allotted (all there is), 2 on backorder."""
    return order_812(api, quantity=5, on_hand=3)


def test_cancelled_units_come_off_the_backorder_first_then_off_the_allotment(waiting):
    api = waiting
    reply = cancel_units(api, 3, "cancel-1")
    assert (reply.status, reply.body) == (200, {"status": "cancelled", "order_id": "812", "lines": 1})
    assert state(api, "812") == (5, 2, 0, 3, 0)
    assert counters(api) == (3, 2, 1, 0)


def test_a_retried_cancel_with_the_same_key_is_counted_once_and_writes_nothing(waiting):
    api = waiting
    assert cancel_units(api, 2, "cancel-1").body["status"] == "cancelled"
    stored = api.items()
    retry = cancel_units(api, 2, "cancel-1")
    assert (retry.status, retry.body["status"]) == (200, "unchanged")
    assert api.items() == stored
    assert state(api, "812") == (5, 3, 0, 2, 0)
    assert counters(api) == (3, 3, 0, 0)


def test_another_key_cancels_again(waiting):
    api = waiting
    cancel_units(api, 2, "cancel-1")
    assert cancel_units(api, 2, "cancel-2").body["status"] == "cancelled"
    assert state(api, "812") == (5, 1, 0, 4, 0)
    assert counters(api) == (3, 1, 2, 0)


def test_reusing_a_key_with_other_content_is_a_conflict_and_writes_nothing(waiting):
    api = waiting
    cancel_units(api, 2, "cancel-1")
    assert_refused(
        api, 409, "idempotency-key", "POST", "/v1/orders/812/cancel", {"line": 1, "units": 1},
        headers={"Idempotency-Key": "cancel-1"},
    )  # fmt: skip
    assert state(api, "812") == (5, 3, 0, 2, 0)


@pytest.mark.parametrize(
    ("units", "key", "status", "field"),
    [
        pytest.param(1, None, 422, "idempotency-key", id="without a key"),
        pytest.param(1, "", 422, "idempotency-key", id="with an empty key"),
        pytest.param(6, "cancel-1", 409, "units", id="more units than are open"),
        pytest.param(0, "cancel-1", 422, "units", id="zero units"),
    ],
)
def test_a_refused_partial_cancel_writes_nothing(waiting, units, key, status, field):
    api = waiting
    headers = {"Idempotency-Key": key} if key is not None else {}
    assert_refused(api, status, field, "POST", "/v1/orders/812/cancel", {"line": 1, "units": units}, headers=headers)


def test_a_key_refused_once_can_still_be_used_for_its_first_successful_cancel(waiting):
    # a refused request stores no key: the same key with a valid body then applies once
    api = waiting
    assert cancel_units(api, 6, "cancel-1").status == 409
    assert cancel_units(api, 1, "cancel-1").body["status"] == "cancelled"
    assert cancel_units(api, 1, "cancel-1").body["status"] == "unchanged"
    assert state(api, "812") == (5, 3, 1, 1, 0)
