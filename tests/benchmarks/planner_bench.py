"""Row 3: what one purchase planner run reads per backordered SKU, on a catalogue of
100,000 SKUs of which 1 % are backordered, next to the same run on 10,000 SKUs with the
same backordered SKUs (the reads must not grow with the catalogue).

One table on moto in-process (``mock_aws``, the local cloud's moto patches), built so that
every item the planner reads is one the services wrote or an exact copy of one:

- ``SUPPLIERS`` suppliers with backorders on (threshold ``none``), through the catalogue
  service; per supplier two template products saved through it (a purchase price, a
  minimum of 5), one of them then given 20 units by a receipt (stock service) and
  recomputed (allotter), which leaves it unlisted (20 > 5);
- the 1,000 backordered SKUs: copies of their supplier's first template, then orders of
  20 lines (``OrderService.create``) that backorder 2 units of each, then the allotter's
  recompute of each SKU (what the stream triggers), which lists it in the ``planning``
  index under its supplier exactly as in production;
- the in-stock SKUs: copies of their supplier's second template.

A copy is put straight into moto's store with its key, ``sku``, ``name`` and
``last_event`` replaced: 0.05 ms a SKU, where ``BatchWriteItem`` takes 1.6 ms and the
catalogue service's UpdateItem 45 ms (moto's request handling and expression parsing), so
100,000 SKUs take seconds. Copies carry no ledger entries (the planner reads none) and
make no stream records (nothing reads the stream here).

A first planner run then recommends and dates every waiting line (its dating pass,
metered apart and reported beside the figure), and its recommendations are cancelled.
The catalogue is first grown to 10,000 SKUs and measured, then to 100,000 and measured
again: each time ``Planner.run`` (what ``POST /v1/planning/run`` and both schedules run
after the allotment sweep) twice, metered (``meter.py``). The first run recommends one PO
per supplier, the second finds them up to date (the steady state of a run every 5
minutes). Between the two sizes the buyer cancels the recommendations, so the big
catalogue's first run recommends again. The row's figure is the larger of the two runs.
The sweep is not measured here: it recomputes each backordered SKU (row 2 is a
recompute's reads), and moto scans the whole table for every index query, which at
100,000 SKUs would take minutes for 1,000 recomputes.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from backorders.bootstrap import build
from backorders.config import Settings
from backorders.domain.model import Customer, Movement, MovementKind, NewLine, Order, Product, ShipType, Supplier
from backorders.domain.orders import fingerprint
from localcloud.moto_patches import patched_moto
from tests.benchmarks.meter import Meter, metered, moto_images
from tests.benchmarks.report import Row
from tests.integration.conftest import create_table, declared_table

REGION = "us-east-1"
SUPPLIERS = 20
BACKORDERED = 1_000
LINES_PER_ORDER = 20
TARGET = 1.2  # items read per backordered SKU
RATIO = 1.1  # the big catalogue's reads over the small one's


@dataclass
class Measured:
    catalogue: int
    backordered: int
    first: Meter
    steady: Meter
    recommended: int

    @property
    def worst(self) -> Meter:
        return max(self.first, self.steady, key=lambda m: m.items_read)

    def per_sku(self, meter: Meter) -> float:
        return meter.items_read / self.backordered


def _sku(i: int) -> str:
    return f"SKU-{i:06d}"


def _supplier(i: int) -> str:
    return f"sup-{i % SUPPLIERS:02d}"


def _product(sku: str, supplier_id: str) -> Product:
    return Product(sku, name=f"Product {sku}", supplier_id=supplier_id, purchase_price=Decimal("4.20"), min_stock=5)


class Catalogue:
    """The bench's table and services; ``grow`` adds in-stock SKUs."""

    def __init__(self, backordered: int) -> None:
        client = boto3.client("dynamodb", region_name=REGION)
        self.table = create_table(client, declared_table(), f"bench-plan-{time.monotonic_ns()}")
        self.svc = build(Settings(table_name=self.table, region=REGION))
        self.backordered = backordered
        self.size = 0
        svc = self.svc
        for n in range(SUPPLIERS):
            settings = {"backorders_enabled": True, "threshold_mode": "none", "lead_time_days": 5}
            svc.catalogue.save_supplier(Supplier(_supplier(n), f"Supplier {n}", settings))
            svc.catalogue.save_product(_product(f"NEW-{n:02d}", _supplier(n)))
            svc.catalogue.save_product(_product(f"STOCKED-{n:02d}", _supplier(n)))
            svc.stock.record(Movement("in-1", f"STOCKED-{n:02d}", MovementKind.RECEIPT, 20))
            svc.allotter.recompute(f"STOCKED-{n:02d}", event="bench setup")
        for i in range(backordered):
            self._copy(f"NEW-{i % SUPPLIERS:02d}", _sku(i))
        for first in range(0, backordered, LINES_PER_ORDER):
            skus = [_sku(i) for i in range(first, min(first + LINES_PER_ORDER, backordered))]
            order_id = f"B{first // LINES_PER_ORDER:05d}"
            body = {"id": order_id, "lines": [(sku, 2) for sku in skus]}
            svc.orders.create(
                Order(
                    shop="bench",
                    order_id=order_id,
                    entered_at="2026-11-23T09:00:00.000000Z",
                    customer=Customer("cust-1"),
                    priority=0,
                    ship_type=ShipType.PARTIAL,
                    policy=None,
                    lines=tuple(NewLine(n, sku, 2, Decimal("19.90")) for n, sku in enumerate(skus, 1)),
                    fingerprint=fingerprint(body),
                )
            )
        for i in range(backordered):
            result = svc.allotter.recompute(_sku(i), event="bench setup")
            assert result.backordered_after == 2, result
        self.size = backordered
        # The first run also dates every waiting line (the planner's dating pass, once per
        # change of a SKU's balance or arrivals); in production the replan queue runs it for
        # each supplier soon after its lines go on backorder. Metered apart, then the buyer
        # cancels its recommendations, so both sizes are measured from the same state.
        with metered(images=moto_images) as self.dating:
            report = svc.planner.run()
        assert report.dated == backordered, report.as_dict()
        for po_id in report.recommended:
            svc.purchase_orders.cancel(po_id)

    def grow(self, size: int) -> None:
        """In-stock SKUs up to ``size`` in all."""
        for i in range(self.size, size):
            self._copy(f"STOCKED-{i % SUPPLIERS:02d}", _sku(i))
        self.size = size
        skus = sum(1 for item in self._items() if item.range_key.value == "SKU" and "-" in item.attrs["sku"].value)
        templates = 2 * SUPPLIERS
        assert skus == size + templates, f"{skus - templates} SKUs, wanted {size}"

    def _store(self) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(self.table)

    def _items(self) -> Any:
        for partition in self._store().items.values():
            yield from partition.values()

    def _copy(self, template: str, sku: str) -> None:
        """A copy of the template's SKU item as ``sku`` (key, ``sku``, ``name``, ``last_event``)."""
        from moto.dynamodb.models.dynamo_type import DynamoType

        store = self._store()
        range_key = DynamoType({"S": "SKU"})
        source = store.items[DynamoType({"S": f"SKU#{template}"})][range_key]
        assert source.attrs.get("plan_pk") is None, "a template SKU must not be listed for planning"
        item = copy.deepcopy(source)
        key = DynamoType({"S": f"SKU#{sku}"})
        item.hash_key = key
        replaced = {"pk": key, "sku": DynamoType({"S": sku}), "name": DynamoType({"S": f"Product {sku}"})}
        replaced["last_event"] = DynamoType({"S": f"product {sku} updated"})
        for name, value in replaced.items():
            # dict.__setitem__: moto checked the template's size when it was written
            dict.__setitem__(item.attrs, name, value)
        store.items[key][range_key] = item

    def measure(self) -> Measured:
        svc = self.svc
        with metered(images=moto_images) as first:
            report = svc.planner.run()
        assert len(report.recommended) == SUPPLIERS and report.skus_read == self.backordered, report.as_dict()
        with metered(images=moto_images) as steady:
            again = svc.planner.run()
        assert not (again.recommended or again.updated or again.withdrawn), again.as_dict()
        assert report.dated == 0, report.as_dict()  # dated once, before (the balances did not change)
        for po_id in report.recommended:  # the buyer cancels them: the next size's first run recommends again
            svc.purchase_orders.cancel(po_id)
        return Measured(self.size, self.backordered, first, steady, len(report.recommended))


def _describe(m: Measured, meter: Meter) -> str:
    calls = ", ".join(f"{op} {n}" for op, n in sorted(meter.calls.items()))
    return f"{meter.items_read:,} items ({m.per_sku(meter):.3f} per backordered SKU), {meter.read_units:g} RRU; {calls}"


def run(*, quick: bool = False) -> list[Row]:
    big_n, small_n = (20_000, 2_000) if quick else (100_000, 10_000)
    started = time.perf_counter()
    with mock_aws(), patched_moto():
        catalogue = Catalogue(BACKORDERED)
        built = time.perf_counter() - started
        catalogue.grow(small_n)
        small = catalogue.measure()
        catalogue.grow(big_n)
        big = catalogue.measure()
    worst, ratio = big.per_sku(big.worst), big.worst.items_read / small.worst.items_read
    ok = max(worst, small.per_sku(small.worst)) <= TARGET and ratio <= RATIO
    dating = catalogue.dating
    steady_supplier_items = big.steady.items_read - BACKORDERED
    detail = (
        f"{BACKORDERED:,} backordered SKUs ({BACKORDERED / big_n:.0%} of {big_n:,}, {BACKORDERED / small_n:.0%} of "
        f"{small_n:,}) over {SUPPLIERS} suppliers with backorders on, every other SKU in stock above its minimum "
        f"(not listed). {big_n:,} SKUs: first run (recommends {big.recommended} POs) {_describe(big, big.first)}; "
        f"steady run (nothing to change) {_describe(big, big.steady)}. {small_n:,} SKUs: first run "
        f"{_describe(small, small.first)}; steady run {_describe(small, small.steady)}. A run reads the planning "
        f"index (each listed SKU, each supplier, each slot that holds an open recommendation) and then, per "
        f"supplier, its slot and its open PO (strongly consistent gets): {steady_supplier_items} of the steady "
        f"run's items are the suppliers' ({steady_supplier_items / SUPPLIERS:g} per supplier with an open "
        f"recommendation), so 1.2 items per backordered SKU holds while suppliers with an open recommendation "
        f"are at most {0.2 / (steady_supplier_items / SUPPLIERS):.0%} of the backordered SKUs. Built in "
        f"{built:.0f} s (1,000 backordered SKUs through the services), grown by copies in seconds. Not in "
        f"the figure: the run before, which also dated the {BACKORDERED:,} SKUs' waiting lines (each SKU read "
        f"again strongly consistent, its waiting lines, and one transaction writing their dates): "
        f"{dating.items_read:,} items ({dating.items_read / BACKORDERED:.2f} per backordered SKU), "
        f"{dating.read_units:g} RRU, {dating.write_units:g} WRU; it is paid once per change of a SKU's "
        f"balance or arrivals, whatever the catalogue's size."
    )
    return [
        Row(
            3,
            f"Planner items read per backordered SKU, {big_n:,} SKU catalogue, vs {small_n:,}",
            f"{worst:.3f} items per backordered SKU ({big.worst.read_units / BACKORDERED:.3f} RRU); "
            f"{big.worst.items_read:,} vs {small.worst.items_read:,} items (ratio {ratio:.2f})",
            f"<= {TARGET} items per backordered SKU; ratio <= {RATIO}",
            "pass" if ok else "FAIL",
            detail,
        )
    ]
