"""Row 1: request units per order line end to end, next to the lowest figure the data
model allows (computed by hand in docs/benchmarks.md, "The minimum per order line").

N orders of two lines (two SKUs with stock, one unit each) go through intake, the
allotment the stream triggers (recompute and pending-shipment sync), release and
shipment, each API call followed by the allotter invocations it triggers (``shop.py``).
Notifications are not built yet: 0 units.

The products have a supplier with backorders on, a purchase price and a minimum stock,
as a shop that purchases through the service has them. After the shipments one scheduled
planner run (the frequent job: the allotment sweep, then the purchase planner) is metered
on its own: it runs every 5 minutes whatever the orders, so it is reported next to the
per-line figure (its units over this scenario's lines), not added to it.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from moto import mock_aws

from backorders.domain.model import Movement, MovementKind, Product, Supplier
from localcloud.moto_patches import patched_moto
from tests.benchmarks.day_bench import load_rates
from tests.benchmarks.meter import Meter, Usage, metered, moto_images
from tests.benchmarks.report import Row
from tests.benchmarks.shop import Shop

SKUS = [f"SKU-{c}" for c in "ABCDEFGH"]
LINES_PER_ORDER = 2
SUPPLIER = Supplier("acme", "Acme", {"backorders_enabled": True, "threshold_mode": "none", "lead_time_days": 3})

# The hand computation in docs/benchmarks.md, per order line (a 2-line order / 2).
MINIMUM = {
    "intake": (0.0, 7.0),  # (RRU, WRU incl. index writes)
    "allotment": (2.0, 7.0),
    "pending shipment": (0.5, 2.0),
    "release": (0.5, 7.0),
    "ship": (1.0, 7.0),
    "notifications": (0.0, 0.0),
}
MIN_READ = sum(r for r, _ in MINIMUM.values())
MIN_WRITE = sum(w for _, w in MINIMUM.values())


def measure(orders: int) -> tuple[Usage, Counter[str], dict[str, dict[str, Usage]], int]:
    """Returns the usage and the calls of the order lines' life (without the planner
    run), usage by tag for each phase, and the number of order lines."""
    phases: dict[str, dict[str, Usage]] = {}
    with mock_aws(), patched_moto():
        meter = Meter()
        with metered(meter, images=moto_images):
            with meter.paused():
                shop = Shop(meter)
                shop.api("setup", lambda: shop.svc.catalogue.save_supplier(SUPPLIER))
                for sku in SKUS:
                    product = Product(sku, name=sku, supplier_id="acme", purchase_price=Decimal("4.20"), min_stock=5)
                    shop.api("setup", lambda p=product: shop.svc.catalogue.save_product(p))
                    shop.api(
                        "setup",
                        lambda s=sku: shop.svc.stock.record(Movement(f"in-{s}", s, MovementKind.RECEIPT, 10_000)),
                    )
            try:
                with shop.phase() as phases["intake"]:
                    for i in range(orders):
                        lines = [(SKUS[i % len(SKUS)], 1), (SKUS[(i + 3) % len(SKUS)], 1)]
                        shop.order(f"E{i:04d}", lines, entered_at=f"2026-11-23T10:{i // 60:02d}:{i % 60:02d}.000000Z")
                assert len(shop.pending) == orders, f"expected {orders} pending shipments, got {len(shop.pending)}"
                with shop.phase() as phases["release"]:
                    for ref in sorted(shop.pending):
                        shop.api("release", lambda r=ref: shop.svc.shipments.release(*r))
                assert len(shop.released) == orders
                with shop.phase() as phases["ship"]:
                    for ref in sorted(shop.released):
                        shop.api("ship", lambda r=ref: shop.svc.shipments.ship(*r))
                lines_usage, lines_calls = meter.total.copy(), meter.calls
                with shop.phase() as phases["planner"]:
                    shop.schedule("frequent")
            finally:
                shop.close()
    return lines_usage, lines_calls, phases, orders * LINES_PER_ORDER


def _per_line(usage: Usage, lines: int) -> str:
    return f"{usage.read / lines:g} RRU + {usage.total_write / lines:g} WRU"


def run(*, quick: bool = False) -> list[Row]:
    orders = 5 if quick else 20
    usage, calls, phases, lines = measure(orders)
    planner = phases.pop("planner")
    planned = sum((u.read for u in planner.values()), 0.0), sum((u.total_write for u in planner.values()), 0.0)
    planner_calls = sum(u.calls for u in planner.values())
    sweep, purchasing = planner.get("planner", Usage()), planner.get("purchase planning", Usage())
    read, write = usage.read / lines, usage.total_write / lines
    steps = []
    for phase, tags in phases.items():
        parts = [f"{tag} {_per_line(u, lines)}" for tag, u in tags.items() if u.calls]
        steps.append(f"{phase} phase: " + "; ".join(parts))
    index = usage.index_write / lines
    rates = load_rates()["dynamodb"]
    rru, wru = rates["usd_per_million_read_request_units"], rates["usd_per_million_write_request_units"]
    dollars = (read * rru + write * wru) / (MIN_READ * rru + MIN_WRITE * wru)
    detail = (
        f"{orders} orders of {LINES_PER_ORDER} lines (two SKUs in stock), each API call followed by the "
        f"allotter invocations its stream records trigger; per order line: " + " | ".join(steps) + ". "
        f"Of the writes {index:g} WRU/line are index writes; notifications 0 (not built). "
        f"Minimum per line (docs/benchmarks.md): "
        + ", ".join(f"{step} {r:g} RRU + {w:g} WRU" for step, (r, w) in MINIMUM.items())
        + ". What the implementation adds is itemised in docs/benchmarks.md. DynamoDB calls per line: "
        + ", ".join(f"{op} {n / lines:g}" for op, n in sorted(calls.items()))
        + f". Not in the figure: one scheduled planner run after the shipments costs {planned[0]:g} RRU + "
        f"{planned[1]:g} WRU in {planner_calls} calls, {planned[0] / lines:g} RRU per line of this scenario: the "
        f"sweep {sweep.read:g} RRU (the backlog index and the balances of the SKUs whose lines entered "
        f"backordered, which the daily run takes out; none needs a recompute), purchase planning "
        f"{purchasing.read:g} RRU (the planning index, which lists only the supplier: nothing is backordered or "
        f"at its minimum, and the supplier's backorder slot). Row 3 is a run with backorders; row 7 prices 289 "
        f"runs in a day"
    )
    return [
        Row(
            1,
            "Request units per order line, end to end (intake, allotment, shipment sync, release, ship)",
            f"{read:g} RRU + {write:g} WRU per line (x{read / MIN_READ:.2f} and x{write / MIN_WRITE:.2f} the minimum)",
            f"minimum the data model allows: {MIN_READ:g} RRU + {MIN_WRITE:g} WRU",
            f"x{dollars:.2f} the minimum in dollars",
            detail,
        )
    ]
