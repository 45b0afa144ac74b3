"""The template's schedules firing on their own in the local cloud (``--schedule-speed``),
running the real sweep and planner: what only a scheduled run of every supplier finds
is found without anyone firing it."""

from __future__ import annotations

import time

from tests.support.events import order_body, order_line

# rate(5 minutes) fires every half second; the daily cron every 2.4 minutes
SCHEDULE_SPEED = 600
WAIT_SECONDS = 30.0


def test_a_supplier_set_up_after_its_backordered_product_gets_its_po_from_the_schedule(e2e):
    # the product names a supplier that does not exist yet: the allotter lists the SKU under
    # it and asks to replan it, and that run finds no supplier to plan for
    e2e.api.ok("PUT", "/v1/products/E2E-LATE", {"supplier_id": "e2e-late", "purchase_price": "4.00", "min_stock": 2})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-LATE-1", order_line("E2E-LATE", 3)))
    e2e.settle()
    # a supplier write is no SKU change, so nothing asks to replan it: the frequent schedule does
    e2e.api.ok("PUT", "/v1/suppliers/e2e-late", {"backorders_enabled": True, "lead_time_days": 4})
    deadline, found = time.monotonic() + WAIT_SECONDS, []
    while time.monotonic() < deadline and not found:
        time.sleep(0.2)
        found = e2e.api.ok("GET", "/v1/purchase-orders?supplier=e2e-late")["purchase_orders"]
    assert [(po["kind"], po["status"]) for po in found] == [("backorder", "recommended")], found
    assert [(ln["sku"], ln["quantity"]) for ln in found[0]["lines"]] == [("E2E-LATE", 5)]  # -3 up to minimum 2
    time.sleep(2)  # several more scheduled runs: still the one recommendation, unchanged
    again = e2e.api.ok("GET", "/v1/purchase-orders?supplier=e2e-late")["purchase_orders"]
    assert [(po["id"], po["lines"]) for po in again] == [(found[0]["id"], found[0]["lines"])]
    # and the waiting line got its expected date from the supplier's lead time
    assert e2e.line("E2E-LATE-1")["expected_source"] == "lead_time"
