"""Row 4: webhook to allotment latency through the local cloud, with 20 concurrent senders.

The real local cloud (``localcloud.LocalCloud``: template.yaml on a moto server, the
HTTP API, the stream poller feeding the allocator, in this process) is started with a
product and plenty of stock. 20 sender threads POST orders over HTTP; for each order
the time from sending the POST to the moment ``GET /v1/orders/{id}`` shows the line
allotted (polled every 5 ms) is taken, next to the POST's own round trip in the same
run: the ratio is the figure (how much the asynchronous allotment adds to a request).
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
from pathlib import Path
from typing import Any

from localcloud import LocalCloud
from localcloud.apikeys import add_key
from tests.benchmarks.fastmoto import fast_moto
from tests.benchmarks.report import Row
from tests.benchmarks.shop import ROOT, reset_services

SKU = "LATENCY-1"
SENDERS = 20
POLL = 0.005
ORDER_TIMEOUT = 30.0


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


def measure(orders: int, senders: int = SENDERS) -> dict[str, Any]:
    post_rtt: list[float] = []
    allotted: list[float] = []
    errors: list[str] = []
    polls = [0]
    lock = threading.Lock()
    # fast_moto: the moto server runs in this process, one request at a time, so the
    # same patches apply (see fastmoto.py); without them moto's whole-table sorts and
    # serializer make the emulator, not the service, the figure.
    with tempfile.TemporaryDirectory() as state, fast_moto():
        cloud = LocalCloud(template=ROOT / "template.yaml", state_dir=Path(state), api_port=0, moto_port=0, fast=True)
        cloud.start()
        try:
            reset_services()  # the functions read TABLE_NAME and the endpoint from this cloud
            for module in ("api_handler", "allocator_handler", "planner_handler"):
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
                        started = time.perf_counter()
                        _call(base, key, "POST", "/v1/orders", body)
                        posted = time.perf_counter()
                        while True:
                            view = _call(base, key, "GET", f"/v1/orders/{order_id}")
                            with lock:
                                polls[0] += 1
                            if view["lines"][0]["allotted"] == 1:
                                done = time.perf_counter()
                                break
                            if time.perf_counter() - started > ORDER_TIMEOUT:
                                raise TimeoutError(f"order {order_id} not allotted after {ORDER_TIMEOUT:.0f} s")
                            time.sleep(POLL)
                    except (OSError, urllib.error.URLError, TimeoutError, KeyError) as exc:
                        with lock:
                            errors.append(f"{order_id}: {exc!r}")
                        continue
                    with lock:
                        post_rtt.append(posted - started)
                        allotted.append(done - started)

            threads = [threading.Thread(target=sender, args=(n,), name=f"sender-{n}") for n in range(senders)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
        finally:
            cloud.stop()
            reset_services()
    return {"post": post_rtt, "allotted": allotted, "errors": errors, "wall": wall, "orders": orders, "polls": polls[0]}


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
            f"batching window capped at 50 ms: `fast=True`); each order timed from sending the POST until "
            f"GET /v1/orders/{{id}} (polled every {POLL * 1000:.0f} ms) shows the line allotted. POST round trip "
            f"p99 {_percentile(post, 99) * 1000:.0f} ms; {len(allotted) / result['wall']:.1f} orders/s allotted "
            f"over {result['wall']:.1f} s, with {result['polls']:,} GETs polling meanwhile (the moto server "
            f"serves one request at a time, so the pollers queue with the allocator's own calls). These are the "
            f"local cloud's latencies (moto, in-process handlers), "
            f"not AWS's." + (f" Errors: {result['errors'][:3]}" if result["errors"] else ""),
        )
    ]
