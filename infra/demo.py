"""The demo catalogue `make run` starts with (``python -m localcloud --seed demo``): two
suppliers, a few SKUs, some stock, one order that is partly on backorder, and the
backorder PO the planner recommends for it. Everything goes through the real HTTP API;
the local cloud itself knows nothing of Backorders."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from backorders.adapters.api_keys import add_key

SHOP = "demo"

SUPPLIERS = {
    "acme-books": {
        "name": "Acme Books",
        "backorders_enabled": True,
        "fixed_order_cost": "25",
        "threshold_mode": "fixed_cost",
        "lead_time_days": 5,
        "buyer_emails": ["buyer@example.com"],
    },
    "pen-co": {
        "name": "Pen & Co",
        "backorders_enabled": True,
        "minimum_order_value": "50",
        "threshold_mode": "mov",
        "lead_time_days": 10,
        "buyer_emails": ["buyer@example.com"],
    },
}
PRODUCTS = {
    "TEXTBOOK": {"name": "Algebra textbook", "supplier_id": "acme-books", "purchase_price": "18.50", "min_stock": 10},
    "WORKBOOK": {"name": "Algebra workbook", "supplier_id": "acme-books", "purchase_price": "6.00", "min_stock": 20},
    "PEN-BLUE": {"name": "Blue pen", "supplier_id": "pen-co", "purchase_price": "0.40", "min_stock": 100},
    "PEN-RED": {"name": "Red pen", "supplier_id": "pen-co", "purchase_price": "0.40", "phased_out": True},
    "GIFTCARD": {"name": "Gift card", "tracked": False},
}
STOCK = {"TEXTBOOK": 20, "WORKBOOK": 50, "PEN-BLUE": 300}
ORDER = {
    "id": "1001",
    "entered_at": "2026-11-22T09:00:00Z",
    "customer": {"id": "cust-42"},
    "lines": [{"sku": "TEXTBOOK", "quantity": 25, "unit_price": "39.95"}, {"sku": "PEN-BLUE", "quantity": 2}],
}


def call(base: str, key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - our own local API over http
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own local API
        return json.loads(response.read())


def seed(cloud: Any) -> str:
    """Create the demo shop's API key and catalogue; print a curl that works as printed."""
    key = add_key(cloud.client("secretsmanager"), cloud.secret_arn("ApiKeysSecret"), SHOP)
    base = cloud.api_url
    for supplier_id, supplier in SUPPLIERS.items():
        call(base, key, "PUT", f"/v1/suppliers/{supplier_id}", supplier)
    for sku, product in PRODUCTS.items():
        call(base, key, "PUT", f"/v1/products/{sku}", product)
    for sku, units in STOCK.items():
        receipt = {"id": f"demo-{sku}", "sku": sku, "kind": "receipt", "quantity": units}
        call(base, key, "POST", "/v1/stock/movements", receipt)
    call(base, key, "POST", "/v1/orders", ORDER)
    cloud.wait_for_streams(timeout=30)
    # TEXTBOOK is short: a backorder PO. The replan queue may have planned it already; a
    # run now changes nothing then, and makes sure of it otherwise.
    call(base, key, "POST", "/v1/planning/run")
    recommended = call(base, key, "GET", "/v1/purchase-orders?status=recommended")["purchase_orders"]
    print(f"localcloud: demo shop '{SHOP}' API key: {key}")
    print(f"localcloud: the planner recommends {len(recommended)} purchase order(s):")
    for po in recommended:
        lines = ", ".join(f"{ln['quantity']} x {ln['sku']}" for ln in po["lines"])
        passed = po["threshold_passed"]
        print(f"  {po['id']} ({po['kind']}) to {po['supplier_id']}: {lines}, value {po['value']} ({passed})")
    print(f"  curl -s -H 'Authorization: Bearer {key}' '{base}/v1/purchase-orders?status=recommended'")
    print("localcloud: try it (a SKU balance with its demand list):")
    print(f"  curl -s -H 'Authorization: Bearer {key}' {base}/v1/skus/TEXTBOOK")
    print("localcloud: and receive 5 textbooks, which go to order 1001's backorder:")
    print(
        f"  curl -s -X POST -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        f'-d \'{{"id": "po-1", "sku": "TEXTBOOK", "kind": "receipt", "quantity": 5}}\' '
        f"{base}/v1/stock/movements"
    )
    return key
