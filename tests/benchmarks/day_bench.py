"""The price of a day of a webshop: a seeded, generated day driven through the real
services, allotter and planner on moto in-process, metered, and priced with the rates
in ``rates.toml``.

DynamoDB: request units from the meter (``meter.py``), including index writes.
Lambda: one request per API call, per allotter batch (up to the template's BatchSize
of filtered stream records) and per planner run (every 5 minutes, and daily); duration
is each invocation's wall time measured in-process against moto, without the meter's
own reads, rounded up to 1 ms, at the template's MemorySize on arm64. moto answers in
the same few milliseconds as DynamoDB does from inside a region, so that is the
assumption: real durations of the same order. Cold starts (init) are not billed here.
SES: 0 emails (notifications are not built yet). Not priced: storage, point-in-time
recovery, the HTTP API's per-request charge, CloudWatch logs, X-Ray traces; stream
reads by Lambda are free.

Purchasing: the SKUs come from three suppliers with backorders on (thresholds none,
fixed cost, MOV; the first one's review is due, so the day's first planner run makes its
regular order), with purchase prices, minimum and
maximum stock and some order multiples, so every planner run plans (backorder POs, and
the regular order at the review). A buyer places every open recommendation at 10:00 and
15:00 and receives what it placed in full four hours later; each is one API call.
"""

from __future__ import annotations

import math
import random
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from moto import mock_aws

from backorders.domain.errors import DomainError
from backorders.domain.model import Movement, MovementKind, Product, Supplier
from backorders.domain.purchasing import PoStatus
from localcloud.moto_patches import patched_moto
from tests.benchmarks.meter import Meter, metered, moto_images
from tests.benchmarks.report import Row
from tests.benchmarks.shop import LambdaLedger, Shop

RATES = Path(__file__).with_name("rates.toml")
DAY = datetime(2026, 11, 23, tzinfo=UTC)
# A day of 2,000 orders takes ~10 minutes to simulate on moto on a 2-core machine; make
# bench prices a smaller shop's day in its 5-minute budget (``--day-orders 2000`` for more).
DEFAULT_ORDERS = 500
# The services run on the wall clock, not on the simulated day: a review date long past is
# due at the first planner run, whatever the date the benchmark runs on.
REVIEW_DUE = "2000-01-01"
SECONDS = 24 * 3600


# ---------------------------------------------------------------------- the day


@dataclass(frozen=True, order=True)
class Event:
    at: int  # second of the day
    seq: int
    kind: str  # order | receipt | return | cancel | wave | frequent | daily | place | po receipt
    args: tuple[Any, ...] = ()


@dataclass
class Day:
    skus: list[str]
    opening_stock: dict[str, int]
    events: list[Event]
    suppliers: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)

    @property
    def order_lines(self) -> int:
        return sum(len(e.args[1]) for e in self.events if e.kind == "order")

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)


def _daytime(rng: random.Random) -> int:
    """A second of the day, busier from 08:00 to 22:00 than at night."""
    while True:
        at = rng.randrange(SECONDS)
        if 8 * 3600 <= at < 22 * 3600 or rng.random() < 0.3:
            return at


def generate_day(*, seed: int = 2026, orders: int = 2_000, skus: int = 50) -> Day:
    """Orders of 1-4 lines (50/30/15/5 %) of 1-3 units over ``skus`` SKUs with skewed
    popularity; opening stock short of the day's demand for most SKUs; receipts, 1 %
    of lines returned, 2 % of orders cancelled; a warehouse wave every 30 minutes from
    07:00 to 21:00 (ship what was released, release what is pending); the planner's
    5-minute sweep and its daily run at 06:00; the buyer placing the open recommendations
    at 10:00 and 15:00 and receiving them at 14:00 and 19:00; three suppliers and each
    SKU's purchasing settings (minimum about 10 % of its day's demand, maximum 30 % more)."""
    rng = random.Random(seed)
    names = [f"SKU-{i:02d}" for i in range(skus)]
    weights = [1 / (rank + 1) ** 0.9 for rank in range(skus)]
    share = {n: w / sum(weights) for n, w in zip(names, weights, strict=True)}
    mean_lines, mean_units = 1.75, 1.3
    demand = {n: orders * mean_lines * mean_units * share[n] for n in names}
    opening = {n: round(demand[n] * rng.uniform(0.2, 1.0)) for n in names}
    events: list[Event] = []
    seq = iter(range(10**9))
    for i in range(orders):
        n_lines = rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        chosen: list[str] = []
        while len(chosen) < n_lines:
            sku = rng.choices(names, weights=weights)[0]
            if sku not in chosen:
                chosen.append(sku)
        lines = tuple((sku, rng.choices((1, 2, 3), weights=(75, 20, 5))[0]) for sku in chosen)
        at = _daytime(rng)
        order_id = f"W{i + 1:05d}"
        priority = 1 if rng.random() < 0.05 else 0
        ship_type = "complete" if rng.random() < 0.2 else "partial"
        events.append(Event(at, next(seq), "order", (order_id, lines, priority, ship_type, f"c{rng.randrange(1500)}")))
        if rng.random() < 0.02:
            later = at + rng.randrange(600, 6 * 3600)
            if later < SECONDS:
                events.append(Event(later, next(seq), "cancel", (order_id,)))
    for j in range(max(1, orders // 65)):  # about 30 purchase receipts for 2,000 orders
        sku = rng.choices(names, weights=weights)[0]
        units = max(5, round(demand[sku] * rng.uniform(0.3, 0.8)))
        events.append(Event(rng.randrange(7 * 3600, 18 * 3600), next(seq), "receipt", (f"PO-{j + 1:04d}", sku, units)))
    lines_total = sum(len(e.args[1]) for e in events if e.kind == "order")
    for k in range(max(1, lines_total // 100)):
        sku = rng.choices(names, weights=weights)[0]
        events.append(Event(_daytime(rng), next(seq), "return", (f"RET-{k + 1:04d}", sku, 1)))
    for at in range(7 * 3600, 21 * 3600 + 1, 1800):
        events.append(Event(at, next(seq), "wave"))
    for at in range(0, SECONDS, 300):
        events.append(Event(at, next(seq), "frequent"))
    events.append(Event(6 * 3600, next(seq), "daily"))
    for hour in (10, 15):  # the buyer places what is recommended, and receives it four hours later
        events.append(Event(hour * 3600 + 60, next(seq), "place"))
        events.append(Event((hour + 4) * 3600 + 60, next(seq), "po receipt"))
    suppliers = {
        "sup-0": {"backorders_enabled": True, "threshold_mode": "none", "next_review_date": REVIEW_DUE},
        "sup-1": {"backorders_enabled": True, "threshold_mode": "fixed_cost", "fixed_order_cost": "25"},
        "sup-2": {"backorders_enabled": True, "threshold_mode": "mov", "minimum_order_value": "40"},
    }
    products = {}
    for i, name in enumerate(names):
        minimum = max(1, round(demand[name] * 0.1))
        products[name] = Product(
            name,
            name=name,
            supplier_id=f"sup-{i % 3}",
            purchase_price=Decimal(rng.choice(["1.85", "4.20", "9.90"])),
            min_stock=minimum,
            max_stock=minimum + max(2, round(demand[name] * 0.3)),
            order_multiple=6 if i % 5 == 4 else None,
        )
    return Day(names, opening, sorted(events), suppliers, products)


# ---------------------------------------------------------------------- running it


@dataclass
class DayResult:
    day: Day
    meter: Meter
    lambdas: LambdaLedger
    memory_mb: int
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    memo_hits: int = 0
    placed: list[str] = field(default_factory=list)  # purchase orders placed, not received yet
    purchasing: Counter[str] = field(default_factory=Counter)  # POs recommended, placed, received


def _stamp(at: int) -> str:
    return (DAY + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def simulate(day: Day) -> DayResult:
    started = time.perf_counter()
    with mock_aws(), patched_moto():
        meter = Meter()
        with metered(meter, images=moto_images):
            with meter.paused():  # the catalogue and opening stock are yesterday's
                shop = Shop(meter)
                for supplier_id, terms in day.suppliers.items():
                    supplier = Supplier(supplier_id, supplier_id, terms)
                    shop.api("setup", lambda s=supplier: shop.svc.catalogue.save_supplier(s))
                for sku in day.skus:
                    product = day.products.get(sku) or Product(sku, name=sku)
                    shop.api("setup", lambda p=product: shop.svc.catalogue.save_product(p))
                    if day.opening_stock[sku] <= 0:
                        continue
                    shop.api(
                        "setup",
                        lambda s=sku: shop.svc.stock.record(
                            Movement(f"open-{s}", s, MovementKind.RECEIPT, day.opening_stock[s])
                        ),
                    )
            shop.lambdas = LambdaLedger()
            result = DayResult(day, meter, shop.lambdas, shop.memory_mb)
            try:
                for event in day.events:
                    _play(shop, event, result)
            finally:
                result.memo_hits = shop.memo_hits
                shop.close()
    result.seconds = time.perf_counter() - started
    return result


def _play(shop: Shop, event: Event, result: DayResult) -> None:
    svc = shop.svc
    if event.kind == "order":
        order_id, lines, priority, ship_type, customer = event.args
        shop.order(
            order_id,
            list(lines),
            entered_at=_stamp(event.at),
            priority=priority,
            ship_type=ship_type,
            customer=customer,
        )
    elif event.kind in ("receipt", "return"):
        movement_id, sku, units = event.args
        kind = MovementKind.RECEIPT if event.kind == "receipt" else MovementKind.RETURN
        shop.api(event.kind, lambda: svc.stock.record(Movement(movement_id, sku, kind, units)))
    elif event.kind == "cancel":
        (order_id,) = event.args
        shop.api("cancel", lambda: svc.orders.cancel(shop.shop, order_id))
    elif event.kind == "wave":
        for ref in sorted(shop.released):
            try:
                shop.api("ship", lambda r=ref: svc.shipments.ship(*r))
            except DomainError as exc:
                result.failures[f"ship: {type(exc).__name__}"] += 1
        for ref in sorted(shop.pending):
            try:
                shop.api("release", lambda r=ref: svc.shipments.release(*r))
            except DomainError as exc:
                result.failures[f"release: {type(exc).__name__}"] += 1
    elif event.kind in ("frequent", "daily"):
        report = shop.schedule(event.kind)
        result.purchasing["recommended"] += len(report["planning"]["recommended"])
    elif event.kind == "place":
        for po in svc.purchase_orders.list(status=PoStatus.RECOMMENDED):
            try:
                shop.api("place", lambda p=po.po_id: svc.purchase_orders.place(p))
            except DomainError as exc:
                result.failures[f"place: {type(exc).__name__}"] += 1
                continue
            result.placed.append(po.po_id)
            result.purchasing["placed"] += 1
    elif event.kind == "po receipt":
        for po_id in result.placed:
            po = svc.purchase_orders.get(po_id)
            arrived = {line.sku: line.outstanding for line in po.lines if line.outstanding}
            shop.api("po receipt", lambda p=po_id, a=arrived: svc.purchase_orders.receive(p, "delivery-1", a))
            result.purchasing["received"] += 1
        result.placed.clear()
    else:
        raise ValueError(event.kind)


# ---------------------------------------------------------------------- pricing


def load_rates(path: Path = RATES) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


@dataclass(frozen=True)
class Bill:
    dynamodb_reads: float
    dynamodb_writes: float
    lambda_requests: float
    lambda_duration: float
    ses: float
    rates_taken: str

    @property
    def total(self) -> float:
        return self.dynamodb_reads + self.dynamodb_writes + self.lambda_requests + self.lambda_duration + self.ses


def price(result: DayResult, rates: dict[str, Any], *, emails: int = 0) -> Bill:
    ddb, lam, ses = rates["dynamodb"], rates["lambda"], rates["ses"]
    gb = result.memory_mb / 1024
    billed_seconds = sum(result.lambdas.billed_ms.values()) / 1000
    return Bill(
        dynamodb_reads=result.meter.read_units * ddb["usd_per_million_read_request_units"] / 1e6,
        dynamodb_writes=result.meter.write_units * ddb["usd_per_million_write_request_units"] / 1e6,
        lambda_requests=sum(result.lambdas.invocations.values()) * lam["usd_per_million_requests"] / 1e6,
        lambda_duration=billed_seconds * gb * lam["usd_per_gb_second_arm64"],
        ses=emails * ses["usd_per_thousand_emails"] / 1000,
        rates_taken=str(rates.get("taken", "?")),
    )


def _usd(value: float) -> str:
    if value == 0:
        return "$0"
    digits = max(2, 2 - math.floor(math.log10(abs(value))) + 1)
    return f"${value:.{digits}f}"


def describe(result: DayResult, bill: Bill) -> tuple[str, str]:
    day, meter, lambdas = result.day, result.meter, result.lambdas
    lines = day.order_lines
    measured = f"{_usd(bill.total)}/day, {_usd(bill.total / lines)}/order line"
    by_tag = sorted(meter.by_tag.items(), key=lambda kv: -(kv[1].read * 0.125 + kv[1].total_write * 0.625))
    tags = ", ".join(f"{tag} {u.read:,.0f} RRU + {u.total_write:,.0f} WRU" for tag, u in by_tag)
    indexes = ", ".join(
        f"{target.split('/', 1)[1]} {u.index_write:,.0f}"
        for target, u in sorted(meter.by_target.items(), key=lambda kv: -kv[1].index_write)
        if "/" in target and u.index_write
    )
    invocations = ", ".join(
        f"{fn} {n:,} x {lambdas.mean_ms(fn):.0f} ms" for fn, n in sorted(lambdas.invocations.items())
    )
    detail = (
        f"seeded day: {day.count('order'):,} orders, {lines:,} lines over {len(day.skus)} SKUs, "
        f"{day.count('receipt')} receipts, {day.count('return')} returns, {day.count('cancel')} cancellations, "
        f"{day.count('wave')} warehouse waves (release, then ship at the next wave), "
        f"{day.count('frequent') + day.count('daily')} planner runs; purchasing: {len(day.suppliers)} suppliers, "
        f"{result.purchasing['recommended']} POs recommended, {result.purchasing['placed']} placed at 10:00 and 15:00, "
        f"{result.purchasing['received']} received in full four hours later. "
        f"DynamoDB {meter.read_units:,.0f} RRU ({_usd(bill.dynamodb_reads)}) + {meter.write_units:,.0f} WRU "
        f"of which {meter.index_write_units:,.0f} index writes ({indexes}) ({_usd(bill.dynamodb_writes)}); "
        f"by step: {tags}. "
        f"Lambda {sum(lambdas.invocations.values()):,} requests ({_usd(bill.lambda_requests)}): {invocations} "
        f"at {result.memory_mb} MB arm64 ({_usd(bill.lambda_duration)}; duration measured in-process against "
        f"moto, assumed close to DynamoDB's latency). SES 0 emails ({_usd(bill.ses)}: notifications not built). "
        f"Rates of {bill.rates_taken} from tests/benchmarks/rates.toml (check the live price pages before quoting); "
        f"storage, PITR, HTTP API requests and logs not priced."
    )
    if result.failures:
        detail += f" Rejected calls: {dict(result.failures)}."
    return measured, detail


def run(*, quick: bool = False, orders: int | None = None) -> list[Row]:
    n = orders or (100 if quick else DEFAULT_ORDERS)
    day = generate_day(orders=n)
    result = simulate(day)
    bill = price(result, load_rates())
    measured, detail = describe(result, bill)
    return [
        Row(
            7,
            f"Price of a day of a webshop ({n:,} orders)",
            measured,
            "priced from measured units and invocations",
            "info",
            detail + f" Simulated in {result.seconds:.0f} s.",
        )
    ]
