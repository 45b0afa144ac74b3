"""Row 8: request units per order line of an order that arrives as a Shopify webhook
(receiving: the delivery stored once; applying it on the stream: read back, the order
read, the order written, the delivery settled), next to the same orders through the
native API's intake (``POST /v1/orders``), on moto in-process and metered.

Both drive the same shop (``shop.py``); after intake each stream is drained through the
real allotter handler, whose recomputes and shipment syncs are the same for both and
are left out of both figures: the row is what a webhook costs over the native intake.
The Shopify payload is the documented order (``tests/fixtures/webshops``), with 2 lines.
"""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from moto import mock_aws

from backorders.domain.model import Movement, MovementKind, Product
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.integrations import ShopifyIntegration
from localcloud.moto_patches import patched_moto
from tests.benchmarks.meter import Meter, Usage, metered, moto_images
from tests.benchmarks.report import Row
from tests.benchmarks.shop import Shop
from tests.support.webshops import SHOPIFY_DOMAIN, SHOPIFY_SECRET, payload, shopify_body, shopify_headers

SKUS = ("IPOD2008PINK", "IPOD2008BLACK")
LINES_PER_ORDER = 2
INTAKE_TAGS = ("intake", "webhook", "apply delivery")


def _shopify_order(n: int) -> dict[str, Any]:
    order = payload("shopify-orders-create.json")
    order["id"] = 9_000_000_000_000_000 + n
    order["line_items"] = [copy.deepcopy(line) for line in order["line_items"] if line["sku"] in SKUS]
    for i, line in enumerate(order["line_items"]):
        line["id"] = 8_000_000_000_000_000 + 10 * n + i
        line["current_quantity"] = line["quantity"] = 1
    return order


def _intake(usage: dict[str, Usage]) -> Usage:
    total = Usage()
    for tag in INTAKE_TAGS:
        if tag in usage:
            total.add(usage[tag])
    return total


def measure(orders: int) -> tuple[Usage, Usage, int]:
    """Intake usage of ``orders`` native orders and of as many Shopify deliveries, and
    the body size of one delivery."""
    with mock_aws(), patched_moto():
        os.environ["INTEGRATION_SECRETS_PREFIX"] = "bench/integrations/"
        meter = Meter()
        with metered(meter, images=moto_images):
            with meter.paused():
                shop = Shop(meter)
                shop.svc.integrations.save(shop.shop, ShopifyIntegration(SHOPIFY_DOMAIN, SHOPIFY_SECRET))
                for sku in SKUS:
                    shop.api("setup", lambda s=sku: shop.svc.catalogue.save_product(Product(s, name=s)))
                    shop.api("setup", lambda s=sku: shop.svc.stock.record(Movement(f"in-{s}", s, MovementKind.RECEIPT,
                                                                                   10_000)))  # fmt: skip
                sync = shop.svc.webshop_sync
                apply = sync.apply

                def tagged_apply(shop_id: str, key: str) -> str:
                    with meter.tag("apply delivery"):
                        return apply(shop_id, key)

                sync.apply = tagged_apply  # type: ignore[method-assign]
            try:
                with shop.phase() as native:
                    for i in range(orders):
                        shop.order(f"N{i:04d}", [(SKUS[0], 1), (SKUS[1], 1)], entered_at="2026-11-30T17:53:11.000000Z")
                size, receive = 0, shop.svc.webhooks.receive
                with shop.phase() as hooks:
                    for i in range(orders):
                        body = shopify_body(_shopify_order(i))
                        size = len(body)
                        headers = shopify_headers(body, "orders/create")
                        shop.api("webhook", lambda b=body, h=headers: receive(Platform.SHOPIFY, shop.shop, h, b))
            finally:
                shop.close()
                os.environ.pop("INTEGRATION_SECRETS_PREFIX", None)
    return _intake(native), _intake(hooks), size


def run(*, quick: bool = False) -> list[Row]:
    orders = 5 if quick else 20
    native, hooks, size = measure(orders)
    lines = orders * LINES_PER_ORDER

    def per_line(usage: Usage) -> str:
        return f"{usage.read / lines:g} RRU + {usage.total_write / lines:g} WRU"

    ratio = (hooks.read + hooks.total_write) / max(native.read + native.total_write, 1e-9)
    detail = (
        f"{orders} Shopify orders/create deliveries of {LINES_PER_ORDER} lines ({size:,} bytes each, the documented "
        f"payload; stored zlib-compressed), received (verify with the cached secret, one conditional put) and applied "
        f"on the stream (read the delivery, the order partition, the order's transaction as the native intake writes "
        f"it, the delivery settled), against {orders} native orders of the same lines; the allotment both trigger is "
        f"the same and left out. Calls: {hooks.calls / orders:g} DynamoDB calls per delivery, "
        f"{native.calls / orders:g} per native order"
    )
    return [
        Row(
            8,
            "Request units per order line arriving by Shopify webhook (store + apply), vs the native intake",
            f"{per_line(hooks)} per line vs {per_line(native)} (x{ratio:.2f} in request units)",
            "measured side by side (the ratio)",
            f"x{ratio:.2f}",
            detail,
        )
    ]


if __name__ == "__main__":
    print(json.dumps([row.__dict__ for row in run(quick=True)], indent=2, default=str))
