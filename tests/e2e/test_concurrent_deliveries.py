"""Webhooks delivered many times at once: an order or a stock movement is stored and
counted once, and every delivery is answered 2xx, ``created`` once and ``duplicate``
for the rest.

Over HTTP the local cloud gives the API function one execution environment, so the
webshop's simultaneous deliveries queue there (as many connections at once as the
webshop opens). On AWS several environments run at once, and two of them can both find
that an order or movement is new and both write it. The last two tests build two such
environments (the services, built as the API function builds its own) against the
local cloud's serialized moto, and hold each one after its "is it new?" read until the
other has read too, so both writes race and the database's conditions decide.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal
from typing import Any

from backorders.bootstrap import Services, build
from backorders.config import Settings
from backorders.domain.model import Customer, Movement, MovementKind, NewLine, Order
from tests.e2e.conftest import SHOP
from tests.support.builders import entered
from tests.support.events import movement_body, order_body, order_line

DELIVERIES = 16  # simultaneous connections of one webshop


def delivered_at_once(e2e: Any, path: str, body: dict[str, Any]) -> list[Any]:
    start = threading.Barrier(DELIVERIES)

    def deliver(_: int) -> Any:
        start.wait(timeout=30)
        return e2e.api("POST", path, body)

    with ThreadPoolExecutor(DELIVERIES) as pool:
        return list(pool.map(deliver, range(DELIVERIES)))


def assert_taken_once(replies: list[Any], taken: str) -> None:
    """One delivery answered 201 ``taken``, every other 200 ``duplicate``."""
    assert all(r.status in (200, 201) for r in replies), [(r.status, r.body) for r in replies if r.status > 201]
    answers = Counter((r.status, r.body["status"]) for r in replies)
    assert answers == {(201, taken): 1, (200, "duplicate"): DELIVERIES - 1}


def test_an_order_delivered_many_times_at_once_is_stored_once(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-DUP-ORDER", {})
    body = order_body("E2E-DUP-1", order_line("E2E-DUP-ORDER", 3), order_line("E2E-DUP-ORDER-2", 1))

    assert_taken_once(delivered_at_once(e2e, "/v1/orders", body), "created")

    e2e.settle()
    order = e2e.order("E2E-DUP-1")
    assert [(ln["line"], ln["quantity"], ln["backordered"]) for ln in order["lines"]] == [(1, 3, 3), (2, 1, 1)]
    assert sum("entered" in entry["message"] for entry in order["history"]) == 1
    assert e2e.balance("E2E-DUP-ORDER")["backordered"] == 3
    assert e2e.balance("E2E-DUP-ORDER-2")["backordered"] == 1


def test_a_movement_delivered_many_times_at_once_is_counted_once(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-DUP-MOVE", {})

    receipt = movement_body("e2e-dup-po", "E2E-DUP-MOVE", 7)
    assert_taken_once(delivered_at_once(e2e, "/v1/stock/movements", receipt), "recorded")

    e2e.settle()
    balance = e2e.balance("E2E-DUP-MOVE")
    assert (balance["on_hand"], balance["available"]) == (7, 7)


# ------------------------------------------------------------------ two environments race


def environments(e2e: Any) -> tuple[Services, Services]:
    """Two API environments' services on the local cloud's table (as ``services()`` builds them)."""
    e2e.settle()  # the cloud has set the functions' environment variables
    return build(Settings.from_env()), build(Settings.from_env())


def held_after_first(services: tuple[Services, ...], read: str) -> None:
    """Each environment, after its first ``read`` of the store, waits until every
    other has made that read too (later reads, as in a retry, go straight through)."""
    together = threading.Barrier(len(services))
    for svc in services:
        original: Callable[..., Any] = getattr(svc.store, read)
        first = threading.Event()

        def held(*args: Any, _original: Callable[..., Any] = original, _first: threading.Event = first) -> Any:
            found = _original(*args)
            if not _first.is_set():
                _first.set()
                together.wait(timeout=30)
            return found

        setattr(svc.store, read, held)


def statuses_of_a_race(e2e: Any, read: str, action: Callable[[Services], Any]) -> list[str]:
    """``action`` run at once in two environments, each held after its first ``read``
    until the other has read too: the sorted statuses they answer (the cloud then settled)."""
    both = environments(e2e)
    held_after_first(both, read)
    with ThreadPoolExecutor(len(both)) as pool:
        statuses = sorted(result.status for result in pool.map(action, both))
    e2e.settle()
    return statuses


def test_two_environments_that_both_find_an_order_new_store_it_once(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-RACE-ORDER", {})
    order = Order(
        shop=SHOP,
        order_id="E2E-RACE-1",
        entered_at=entered(0),
        customer=Customer("cust-42"),
        lines=(NewLine(1, "E2E-RACE-ORDER", 2, Decimal("12.50")),),
    )
    order = replace(order, fingerprint="the same delivery")

    statuses = statuses_of_a_race(e2e, "order_fingerprint", lambda svc: svc.orders.create(order))

    assert statuses == ["created", "duplicate"]
    detail = e2e.order("E2E-RACE-1")
    assert [(ln["quantity"], ln["backordered"]) for ln in detail["lines"]] == [(2, 2)]
    assert sum("entered" in entry["message"] for entry in detail["history"]) == 1
    assert e2e.balance("E2E-RACE-ORDER")["backordered"] == 2


def test_two_environments_that_both_find_a_movement_new_count_it_once(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-RACE-MOVE", {})
    receipt = Movement("e2e-race-po", "E2E-RACE-MOVE", MovementKind.RECEIPT, 4)

    statuses = statuses_of_a_race(e2e, "ledger", lambda svc: svc.stock.record(receipt))

    assert statuses == ["duplicate", "recorded"]
    balance = e2e.balance("E2E-RACE-MOVE")
    assert (balance["on_hand"], balance["available"]) == (4, 4)
