"""Row 4: webhook to allotment latency through the local cloud, with 20 concurrent senders.

The real local cloud (``localcloud.LocalCloud``: template.yaml on a moto server, the
HTTP API, the stream poller feeding the allotter, in this process) is started with a
product and plenty of stock. 20 sender threads POST orders over HTTP as fast as they
are answered. An order's latency runs from sending its POST to the moment the allotter
committed its allotment: the ``at`` of the allotment entry in the order's record log
(``GET /v1/orders/{id}``, read once everything has settled; the allotter takes that
time as it sends the transaction). Nobody polls meanwhile, so the measurement adds no
load to the one-request-at-a-time moto server. The POST's own round trip in the same
run is the yardstick: the ratio is the figure.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from backorders.adapters.api_keys import add_key
from localcloud import LocalCloud
from tests.benchmarks.report import Row
from tests.benchmarks.shop import ROOT, reset_services

SKU = "LATENCY-1"
SENDERS = 20


def _call(base: str, key: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[rank]


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def measure(orders: int, senders: int = SENDERS) -> dict[str, Any]:
    sent: dict[str, float] = {}  # order id -> wall-clock time its POST was sent
    post_rtt: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    # the local cloud installs localcloud.moto_patches itself: moto costs what a request
    # touches, not the size of the table
    with tempfile.TemporaryDirectory() as state:
        cloud = LocalCloud(template=ROOT / "template.yaml", state_dir=Path(state), api_port=0, moto_port=0, fast=True)
        cloud.start()
        try:
            reset_services()  # the functions read TABLE_NAME and the endpoint from this cloud
            for module in ("api_handler", "allotter_handler", "planner_handler"):
                logger = getattr(sys.modules.get(module), "logger", None)
                if logger is not None:  # an INFO line per invocation would bury the table
                    logger.setLevel(logging.WARNING)
            key = add_key(cloud.client("secretsmanager"), cloud.secret_arn("ApiKeysSecret"), "latency")
            base = cloud.api_url
            _call(base, key, "PUT", f"/v1/products/{SKU}", {"name": "Latency test"})
            _call(
                base,
                key,
                "POST",
                "/v1/stock/movements",
                {"id": "stock-1", "sku": SKU, "kind": "receipt", "quantity": 1_000_000},
            )
            cloud.wait_for_streams(timeout=30)

            def sender(n: int) -> None:
                for i in range(n, orders, senders):
                    order_id = f"L{i:05d}"
                    body = {
                        "id": order_id,
                        "entered_at": "2026-11-23T10:00:00Z",
                        "customer": {"id": f"c{i}"},
                        "lines": [{"sku": SKU, "quantity": 1, "unit_price": "9.90"}],
                    }
                    try:
                        wall, started = time.time(), time.perf_counter()
                        _call(base, key, "POST", "/v1/orders", body)
                        rtt = time.perf_counter() - started
                    except (OSError, urllib.error.URLError) as exc:
                        with lock:
                            errors.append(f"{order_id}: {exc!r}")
                        continue
                    with lock:
                        sent[order_id] = wall
                        post_rtt.append(rtt)

            threads = [threading.Thread(target=sender, args=(n,), name=f"sender-{n}") for n in range(senders)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cloud.wait_for_streams(timeout=120)
            wall = time.perf_counter() - started
            allotted: list[float] = []
            for order_id, at in sorted(sent.items()):
                view = _call(base, key, "GET", f"/v1/orders/{order_id}")
                taken = [e["at"] for e in view["history"] if (e.get("delta") or 0) > 0]
                if view["lines"][0]["allotted"] != 1 or not taken:
                    errors.append(f"{order_id}: not allotted")
                    continue
                allotted.append(_epoch(min(taken)) - at)
        finally:
            cloud.stop()
            reset_services()
    return {"post": post_rtt, "allotted": allotted, "errors": errors, "wall": wall, "orders": orders}


def run(*, quick: bool = False) -> list[Row]:
    orders = 40 if quick else 100
    result = measure(orders)
    post, allotted = result["post"], result["allotted"]
    if not allotted:
        return [
            Row(
                4,
                "Webhook to allotment latency (local cloud)",
                "no order allotted",
                "",
                "FAIL",
                str(result["errors"][:3]),
            )
        ]
    p50, p99 = _percentile(allotted, 50), _percentile(allotted, 99)
    post50 = statistics.median(post)
    verdict = "pass" if not result["errors"] else f"FAIL ({len(result['errors'])} orders failed)"
    return [
        Row(
            4,
            f"Webhook to allotment latency through the local cloud, {SENDERS} concurrent senders",
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; POST round trip p50 {post50 * 1000:.0f} ms "
            f"(p50 ratio {p50 / post50:.1f})",
            "measured side by side (the ratio)",
            verdict,
            f"{len(allotted)} of {orders} orders (one line, one unit of one SKU with stock) sent by {SENDERS} threads "
            f"over HTTP to the local cloud (moto server, one request at a time; stream polled every 10 ms, "
            f"batching window capped at 50 ms: `fast=True`); each order timed from sending its POST to the "
            f"allotter's commit of its allotment (the `at` of the order's record-log entry, read after the run, "
            f"so nothing polls meanwhile). POST round trip p99 {_percentile(post, 99) * 1000:.0f} ms; "
            f"{len(allotted) / result['wall']:.1f} orders/s allotted over {result['wall']:.1f} s. These are the "
            f"local cloud's latencies (moto, in-process handlers), "
            f"not AWS's." + (f" Errors: {result['errors'][:3]}" if result["errors"] else ""),
        )
    ]
