"""Benchmarks of the allotment engine (issue: allotment engine).

- allotter reads per stock event on one SKU with 10,000 vs 10 waiting lines;
- pure allotment throughput on 1,000,000 lines.
"""

from __future__ import annotations

import time
from decimal import Decimal

import boto3
from moto import mock_aws

from backorders.adapters.dynamodb.models import LineItem, SkuItem, sku_pk
from backorders.bootstrap import build
from backorders.config import Settings
from backorders.domain.allotment import plan_allotment
from backorders.domain.model import LinePolicy, Movement, MovementKind, OrderLine, Product, SkuBalance
from backorders.services.commit import CHANGES_PER_TRANSACTION
from localcloud.moto_patches import patched_moto
from tests.benchmarks.meter import Meter, metered, moto_images
from tests.benchmarks.report import Row
from tests.integration.conftest import create_table, declared_table
from tests.support.builders import entered


def _waiting_lines(n: int) -> list[OrderLine]:
    return [
        OrderLine("bench", f"O{i:06d}", 1, "HOT", 1, Decimal("9.99"), 0, entered(i), LinePolicy.SPLIT, "c")
        for i in range(n)
    ]


def reads_per_stock_event(backlog: int, receipt: int = 5) -> Meter:
    """Receive ``receipt`` units for a SKU with ``backlog`` waiting lines; meter the
    movement and the recompute the stream then triggers."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    name = create_table(client, declared_table(), f"bench-{backlog}-{time.monotonic_ns()}")
    svc = build(Settings(table_name=name, region="us-east-1"))
    svc.catalogue.save_product(Product("HOT"))
    with LineItem.batch_write() as batch:
        for line in _waiting_lines(backlog):
            batch.save(LineItem.from_domain(line, writer="bench", event="setup", at=svc.clock()))
    SkuItem(pk=sku_pk("HOT"), sk="SKU").update(actions=[SkuItem.backordered.add(backlog)])
    with metered(images=moto_images) as meter:
        svc.stock.record(Movement("PO-1", "HOT", MovementKind.RECEIPT, receipt))
        result = svc.allotter.recompute("HOT", event="receipt PO-1")
    assert len(result.plan.changes) == min(receipt, backlog)
    return meter


def pure_allotment(n: int) -> tuple[float, float, int]:
    """Lines per second of ``plan_allotment`` alone, and of planning plus reading every
    change as a ``LineChange``, 40 at a time as the writer does (best of 3 each)."""
    lines = [
        OrderLine("s", f"O{i:07d}", 1, "SKU", 1 + i % 3, Decimal(1), i % 3, "2026-11-22T10:00:00.000000Z",
                  LinePolicy.SPLIT if i % 5 else LinePolicy.WHOLE)
        for i in range(n)
    ]  # fmt: skip
    lines.sort(key=lambda ln: ln.key)
    balance = SkuBalance("SKU", on_hand=int(n * 1.5), known=True)
    best_plan = best_read = float("inf")
    changes = 0
    for _ in range(3):
        start = time.perf_counter()
        plan = plan_allotment(balance, lines, lambda: iter(()))
        planned = time.perf_counter()
        net = 0
        for first in range(0, len(plan.changes), CHANGES_PER_TRANSACTION):
            for change in plan.changes[first : first + CHANGES_PER_TRANSACTION]:
                net += change.delta
        read = time.perf_counter()
        assert 0 < net <= balance.on_hand  # every change read, none handing out more than there is
        best_plan = min(best_plan, planned - start)
        best_read = min(best_read, read - start)
        changes = len(plan.changes)
    return n / best_plan, n / best_read, changes


def run(*, quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    big = 1_000 if quick else 10_000
    with mock_aws(), patched_moto():
        small_m = reads_per_stock_event(10)
        big_m = reads_per_stock_event(big)
    ratio = big_m.read_units / small_m.read_units
    rows.append(
        Row(
            2,
            f"Allotter reads per stock event, {big:,} vs 10 waiting lines",
            f"{big_m.read_units:g} RRU vs {small_m.read_units:g} RRU (ratio {ratio:.2f})",
            "ratio <= 1.5",
            "pass" if ratio <= 1.5 else "FAIL",
            f"a 5-unit receipt plus the recompute it triggers; items read {big_m.items_read} vs "
            f"{small_m.items_read}; calls {dict(big_m.calls)} vs {dict(small_m.calls)}",
        )
    )
    n = 100_000 if quick else 1_000_000
    rate, with_reading, changes = pure_allotment(n)
    rows.append(
        Row(
            6,
            f"Pure allotment throughput, {n:,} lines",
            f"{rate:,.0f} lines/s planned; {with_reading:,.0f} lines/s with every change read",
            ">= 500,000 lines/s",
            "pass" if min(rate, with_reading) >= 500_000 else "FAIL",
            f"best of 3 runs of plan_allotment over lines in allotment order (split and whole, priorities 0-2), "
            f"{changes:,} lines changed; the second figure also reads every change as a LineChange, "
            f"{CHANGES_PER_TRANSACTION} at a time as the allotter's writer does",
        )
    )
    return rows
