"""An in-process shop on moto (``mock_aws``) for the cost benchmarks.

The table is built from template.yaml; the API's use cases run through the real
services (one API Lambda invocation each); the table stream is read after every API
call and fed, filtered and in batches as the template's event source mapping says,
to the real allotter handler; the planner handler runs on the schedules. Every
invocation is counted and timed, without the meter's own reads, so the Lambda bill
can be priced from what ran.

At a webshop's pace (an event every few seconds or minutes) Lambda's one-second
batching window closes long before the next event, so each API call's stream records
form their own batches, and the allotter's writes the next ones: this driver drains
the stream after each call until it is quiet, which is that behaviour.
"""

from __future__ import annotations

import importlib
import logging
import math
import os
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import boto3

from backorders import bootstrap, config
from backorders.bootstrap import Services
from backorders.domain.allotment import AllotmentPlan
from backorders.domain.model import Customer, NewLine, Order, ShipType
from backorders.domain.orders import fingerprint
from backorders.services.allotment import RecomputeResult
from localcloud.filters import compile_filters, matches_any
from localcloud.runtime import LambdaContext
from localcloud.streams import to_lambda_record
from localcloud.template import load_yaml
from tests.benchmarks.meter import Meter
from tests.integration.conftest import create_table, declared_table

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
T = TypeVar("T")


def template() -> dict[str, Any]:
    return load_yaml((ROOT / "template.yaml").read_text())  # type: ignore[no-any-return]


def memory_mb(tpl: dict[str, Any] | None = None) -> int:
    tpl = tpl or template()
    return int(tpl.get("Globals", {}).get("Function", {}).get("MemorySize", 128))


class LambdaLedger:
    """Invocations and billed duration (rounded up to 1 ms each) per function."""

    def __init__(self) -> None:
        self.invocations: Counter[str] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.billed_ms: Counter[str] = Counter()

    def record(self, function: str, seconds: float) -> None:
        self.invocations[function] += 1
        self.seconds[function] += seconds
        self.billed_ms[function] += max(1, math.ceil(seconds * 1000))

    def mean_ms(self, function: str) -> float:
        n = self.invocations[function]
        return 1000 * self.seconds[function] / n if n else 0.0


def _handler_module(code_uri: str, module: str) -> Any:
    path = str(ROOT / code_uri)
    if path not in sys.path:
        sys.path.insert(0, path)
    loaded = importlib.import_module(module)
    logger = getattr(loaded, "logger", None)
    if logger is not None:  # "allotment changed" / "sweep done" at INFO would flood the table output
        logger.setLevel(logging.WARNING)
    return loaded


def reset_services() -> None:
    """Forget the process-wide settings and services (they read TABLE_NAME once)."""
    config.settings.cache_clear()
    bootstrap.services.cache_clear()


class Shop:
    """Must be created and used inside ``mock_aws()``."""

    def __init__(self, meter: Meter | None = None, *, shop: str = "bench") -> None:
        self.meter = meter or Meter()
        self.shop = shop
        self.lambdas = LambdaLedger()
        tpl = template()
        resources = tpl["Resources"]
        self.memory_mb = memory_mb(tpl)
        client = boto3.client("dynamodb", region_name=REGION)
        self.table = create_table(client, declared_table(), f"bench-{uuid.uuid4().hex[:8]}")
        os.environ["TABLE_NAME"] = self.table
        reset_services()
        self.svc: Services = bootstrap.services()
        functions = {name: res["Properties"] for name, res in resources.items() if name.endswith("Function")}
        allotter = functions["AllotterFunction"]
        source = allotter["Events"]["TableStream"]["Properties"]
        self.batch_size = int(source.get("BatchSize", 100))
        self.filters = compile_filters(source.get("FilterCriteria"))
        self.allotter = _handler_module(allotter["CodeUri"], allotter["Handler"].split(".")[0])
        planner = functions["PlannerFunction"]
        self.planner = _handler_module(planner["CodeUri"], planner["Handler"].split(".")[0])
        # the stream, read from now on
        self.stream_arn = client.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        # the regional endpoint: botocore would pick an account-based one from the ARN,
        # which mock_aws does not route
        self.streams = boto3.client(
            "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )
        shard = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
        self._iterator = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType="LATEST"
        )["ShardIterator"]
        self.pending: set[tuple[str, str, int]] = set()  # pending shipments seen on the stream
        self.released: set[tuple[str, str, int]] = set()
        self.records_seen = 0
        self.records_delivered = 0
        self._sku_changes: Counter[str] = Counter()  # stream records about each SKU's balance or lines
        self._quiet: dict[str, tuple[int, list[Any], float]] = {}  # sku -> (changes seen, charges, seconds)
        self._replayed = 0.0
        self.memo_hits = 0
        self._tag_use_cases()

    def close(self) -> None:
        os.environ.pop("TABLE_NAME", None)
        reset_services()

    # -------------------------------------------------------------- invocations
    def _timed(self, function: str, call: Callable[[], T]) -> T:
        overhead, replayed = self.meter.overhead(), self._replayed
        started = time.perf_counter()
        try:
            return call()
        finally:
            elapsed = time.perf_counter() - started - (self.meter.overhead() - overhead)
            self.lambdas.record(function, elapsed + (self._replayed - replayed))

    def api(self, route: str, call: Callable[[], T]) -> T:
        """One API request (one ApiFunction invocation), then whatever the stream triggers."""
        with self.meter.tag(route):
            result = self._timed("ApiFunction", call)
        self.pump()
        return result

    def schedule(self, job: str) -> dict[str, Any]:
        """One planner run. Its sweep recomputes every SKU with backordered lines; a
        recompute that found nothing to change, of a SKU whose balance and lines have
        not changed since (no stream record about them), reads exactly the same items
        again: such a recompute is not re-run but its units and duration are charged
        again (``memo_hits``), which keeps a day of 288 sweeps affordable to simulate."""
        context = self._context("PlannerFunction")
        recompute = self.svc.allotter.recompute

        def remembered(sku: str, *, event: str) -> Any:
            seen = self._sku_changes[sku]
            known = self._quiet.get(sku)
            if known is not None and known[0] == seen:
                with self.meter.tag("recompute"):
                    self.meter.replay(known[1])
                self._replayed += known[2]
                self.memo_hits += 1
                return RecomputeResult(sku, AllotmentPlan(sku, (), 0), 1)
            overhead, started = self.meter.overhead(), time.perf_counter()
            with self.meter.recording() as charges:
                result = recompute(sku, event=event)
            seconds = time.perf_counter() - started - (self.meter.overhead() - overhead)
            if result.plan.changes:
                self._quiet.pop(sku, None)
            else:
                self._quiet[sku] = (seen, charges, seconds)
            return result

        self.svc.allotter.recompute = remembered  # type: ignore[method-assign]
        try:
            with self.meter.tag("planner"):
                result: dict[str, Any] = self._timed(
                    "PlannerFunction", lambda: self.planner.lambda_handler({"job": job}, context)
                )
        finally:
            self.svc.allotter.recompute = recompute  # type: ignore[method-assign]
        self.pump()
        return result

    def _context(self, function: str) -> LambdaContext:
        return LambdaContext(
            function_name=f"bench-{function}",
            memory_limit_in_mb=self.memory_mb,
            timeout=30,
            region=REGION,
            account_id=ACCOUNT,
        )

    def _tag_use_cases(self) -> None:
        """Name what the functions spend: recomputes and pending-shipment syncs (allotter),
        and the purchase planner the planner function runs after its sweep."""
        allotter, shipments, meter = self.svc.allotter, self.svc.shipments, self.meter
        recompute, sync, plan = allotter.recompute, shipments.sync_pending, self.svc.planner.run

        def tagged_recompute(sku: str, *, event: str) -> Any:
            with meter.tag("recompute"):
                return recompute(sku, event=event)

        def tagged_sync(shop: str, order_id: str) -> Any:
            with meter.tag("shipment sync"):
                return sync(shop, order_id)

        def tagged_plan(**kwargs: Any) -> Any:
            with meter.tag("purchase planning"):
                return plan(**kwargs)

        allotter.recompute = tagged_recompute  # type: ignore[method-assign]
        shipments.sync_pending = tagged_sync  # type: ignore[method-assign]
        self.svc.planner.run = tagged_plan  # type: ignore[method-assign]

    # -------------------------------------------------------------- the stream
    def _read_stream(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        while True:
            response = self.streams.get_records(ShardIterator=self._iterator, Limit=1000)
            self._iterator = response.get("NextShardIterator") or self._iterator
            batch = response.get("Records") or []
            records.extend(to_lambda_record(r, self.stream_arn, REGION) for r in batch)
            if len(batch) < 1000:  # moto hands out everything there is, up to Limit
                return records

    def pump(self) -> None:
        """Deliver the stream to the allotter until nothing new arrives."""
        while True:
            records = self._read_stream()
            if not records:
                return
            self.records_seen += len(records)
            self._watch(records)
            wanted = [r for r in records if matches_any(self.filters, r)]
            self.records_delivered += len(wanted)
            for start in range(0, len(wanted), self.batch_size):
                event = {"Records": wanted[start : start + self.batch_size]}
                context = self._context("AllotterFunction")
                result = self._timed("AllotterFunction", lambda e=event, c=context: self.allotter.lambda_handler(e, c))
                if result and result.get("batchItemFailures"):
                    raise RuntimeError(f"allotter reported failed records: {result['batchItemFailures']}")

    def _watch(self, records: list[dict[str, Any]]) -> None:
        """Keep track of pending and released shipments (what a warehouse would be told),
        and of which SKUs' balance or lines changed."""
        for record in records:
            ddb = record["dynamodb"]
            sk = ddb["Keys"]["sk"]["S"]
            if sk == "SKU":
                self._sku_changes[ddb["Keys"]["pk"]["S"].removeprefix("SKU#")] += 1
            elif sk.startswith("LINE#"):
                for image in (ddb.get("NewImage"), ddb.get("OldImage")):
                    if image and "sku" in image:
                        self._sku_changes[image["sku"]["S"]] += 1
            if not sk.startswith("SHIPMENT#"):
                continue
            image = ddb.get("NewImage") or ddb.get("OldImage") or {}
            ref = (image["shop"]["S"], image["order_id"]["S"], int(sk.split("#")[1]))
            status = (ddb.get("NewImage") or {}).get("status", {}).get("S")
            self.pending.discard(ref)
            self.released.discard(ref)
            if status == "pending":
                self.pending.add(ref)
            elif status == "released":
                self.released.add(ref)

    # -------------------------------------------------------------- building blocks
    def order(
        self,
        order_id: str,
        lines: list[tuple[str, int]],
        *,
        entered_at: str,
        priority: int = 0,
        ship_type: str = "partial",
        customer: str = "cust-1",
    ) -> None:
        body = {"id": order_id, "lines": lines, "priority": priority, "ship_type": ship_type, "customer": customer}
        order = Order(
            shop=self.shop,
            order_id=order_id,
            entered_at=entered_at,
            customer=Customer(customer),
            priority=priority,
            ship_type=ShipType(ship_type),
            policy=None,
            lines=tuple(NewLine(i, sku, qty, Decimal("19.90")) for i, (sku, qty) in enumerate(lines, 1)),
            fingerprint=fingerprint(body),
        )
        self.api("intake", lambda: self.svc.orders.create(order))

    @contextmanager
    def phase(self) -> Iterator[dict[str, Any]]:
        """Usage by tag of what happens inside the block."""
        before = self.meter.tagged()
        out: dict[str, Any] = {}
        yield out
        after = self.meter.tagged()
        for tag, usage in after.items():
            out[tag] = usage.minus(before[tag]) if tag in before else usage
