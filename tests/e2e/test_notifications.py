"""Issue 12's "Done when", through the local cloud over HTTP: an order goes on backorder, a
receipt fills it, and a planner run recommends a PO; each brings its buyer or customer
email into the local cloud's outbox (``/_local/emails``, ``.eml`` files a mail program
opens), once (a PO the receipt and the cancel changed is sent again, as updated). A
second customer's "cancel" link cancels her backordered units, only after the
confirmation page's POST, and only once."""

from __future__ import annotations

import email
import email.policy
import http.client
import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from tests.e2e.conftest import E2E

GRACE = 61  # seconds: a new order's lines are looked at once the allotter had its minute


def request(e2e: E2E, method: str, path: str, form: str | None = None) -> tuple[int, str]:
    """A browser's request (no API key)."""
    parts = urlsplit(e2e.cloud.api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
    try:
        connection.request(method, path, body=form.encode() if form is not None else None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def outbox(e2e: E2E) -> list[dict[str, Any]]:
    status, body = request(e2e, "GET", "/_local/emails")
    assert status == 200
    return json.loads(body)  # type: ignore[no-any-return]


def to(e2e: E2E, address: str) -> list[dict[str, Any]]:
    return [m for m in outbox(e2e) if address in m["to"]]


def body_of(message: dict[str, Any], subtype: str = "plain") -> str:
    with open(message["path"], "rb") as handle:
        parsed = email.message_from_binary_file(handle, policy=email.policy.default)
    part = parsed.get_body(preferencelist=(subtype,))  # type: ignore[attr-defined]
    return "" if part is None else str(part.get_content())


def header_of(message: dict[str, Any], name: str) -> str:
    with open(message["path"], "rb") as handle:
        return str(email.message_from_binary_file(handle, policy=email.policy.default)[name])


def notify(e2e: E2E) -> dict[str, Any]:
    result: dict[str, Any] = e2e.cloud.fire_schedule("NotifierFunction", "EveryMinute")
    return result


def test_backorder_fill_and_purchase_order_emails_once_each_and_a_cancel_link(e2e: E2E) -> None:
    api = e2e.api
    api.ok("PUT", "/v1/shop", {"notify_customers": True, "combine_minutes": 0, "name": "E2E Books",
                               "contact_email": "shop@e2e.example", "time_zone": "Europe/Amsterdam",
                               "locale": "en_GB"})  # fmt: skip
    api.ok("PUT", "/v1/suppliers/acme", {"name": "Acme", "backorders_enabled": True,
                                         "buyer_emails": ["purchasing@acme.example"]})  # fmt: skip
    api.ok("PUT", "/v1/products/NOTE-1", {"name": "Notebook <A5>", "supplier_id": "acme", "purchase_price": "2.00"})
    for order_id, customer in (("n-1", "alice"), ("n-2", "bob")):
        api.ok("POST", "/v1/orders", {
            "id": order_id, "entered_at": "2026-11-22T10:00:00Z",
            "customer": {"id": customer, "email": f"{customer}@example.com", "name": customer.title()},
            "lines": [{"line": 1, "sku": "NOTE-1", "quantity": 2, "unit_price": "5.00"}],
        })  # fmt: skip
    e2e.settle()
    e2e.cloud.fire_schedule("PlannerFunction", "Frequent")  # a planner run: the backorder PO
    e2e.settle()
    notify(e2e)
    (po,) = to(e2e, "purchasing@acme.example")
    assert "Acme" in po["subject"] and "4" in body_of(po)
    assert "Notebook &lt;A5&gt;" in body_of(po, "html")

    time.sleep(GRACE)  # the orders' lines are told once the allotter had its pass
    notify(e2e)
    (alice,) = to(e2e, "alice@example.com")
    (bob,) = to(e2e, "bob@example.com")
    assert "n-1" in alice["subject"] and "backorder" in alice["subject"].lower()

    api.ok("POST", "/v1/stock/movements", {"id": "rc-1", "sku": "NOTE-1", "kind": "receipt", "quantity": 2})
    e2e.settle()
    notify(e2e)
    alice_now = to(e2e, "alice@example.com")
    assert len(alice_now) == 2 and "complete" in alice_now[1]["subject"].lower()

    cancel = urlsplit(
        re.search(r'href="([^"]*/choices/[^"]+)"[^>]*>[^<]*[Cc]ancel', body_of(bob, "html")).group(1)
    ).path  # type: ignore[union-attr]
    status, page = request(e2e, "GET", cancel)
    assert status == 200 and "<form" in page.lower()
    assert e2e.line("n-2")["cancelled"] == 0  # opening the link changes nothing
    status, page = request(e2e, "POST", cancel, "confirm=yes")
    assert status == 200
    assert (e2e.line("n-2")["cancelled"], e2e.line("n-2")["backordered"]) == (2, 0)
    assert request(e2e, "POST", cancel, "confirm=yes")[0] == 409
    e2e.settle()
    notify(e2e)
    notify(e2e)  # a second run sends nothing again
    assert len(to(e2e, "shop@e2e.example")) == 1
    assert len(to(e2e, "alice@example.com")) == 2
    later = to(e2e, "purchasing@acme.example")[1:]  # the receipt and the cancel changed what to order
    assert all(m["subject"].startswith("Updated") for m in later)
    ids = [header_of(m, "X-Backorders-Notification") for m in outbox(e2e)]
    assert len(ids) == len(set(ids)) and all(m["path"].endswith(".eml") for m in outbox(e2e))
