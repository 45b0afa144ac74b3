"""Through the local cloud (template.yaml on moto, every function real), over HTTP
only: many webshop threads writing one SKU at once never over-allot and end at the
allotment rule's fixed point; a record the allotter cannot process ends in the failure
queue without holding up the stream; and a webshop's day - orders, receipts,
priorities, returns, cancellations, shipments, the scheduled sweep - follows the
rules of allotment, every write reaching the allotter through the table stream.

One cloud per module (and so per xdist worker): the tests use their own SKUs and
order ids and run in any order. The local cloud gives each function one execution
environment, so the webshop threads' requests queue at the API function and race the
allotter, which recomputes the SKU from the stream meanwhile; two API invocations
racing each other are the simulation's business (its interleaving and conflict faults).
"""

from __future__ import annotations

import gzip
import http.client
import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from tests.support.events import movement_body, order_body, order_line

SEED_DEMO = True  # the README's curl reads the demo shop of `make run`

# ------------------------------------------------------------------ concurrency

THREADS = 16
ORDERS = 20
RECEIPTS = 8
RESENDS = 8


def test_concurrent_orders_and_receipts_for_one_sku_never_over_allot_and_end_at_the_rules_fixed_point(e2e):
    rng = random.Random(20261122)
    e2e.api.ok("PUT", "/v1/products/HOT", {"name": "Hot item"})
    minutes = rng.sample(range(10_000), ORDERS)  # entry times unrelated to arrival order
    orders = [order_body(f"HOT-{i:03d}", order_line("HOT", rng.randint(1, 3)), minute=m) for i, m in enumerate(minutes)]
    receipts = [movement_body(f"HOT-PO-{i:03d}", "HOT", rng.randint(1, 4)) for i in range(RECEIPTS)]
    requests = [("/v1/orders", o) for o in orders] + [("/v1/stock/movements", r) for r in receipts]
    requests += rng.sample(requests, RESENDS)  # webhooks delivered twice
    rng.shuffle(requests)

    with ThreadPoolExecutor(THREADS) as pool:
        replies = list(pool.map(lambda req: (req[1]["id"], e2e.api("POST", *req)), requests))
    assert {reply.status for _, reply in replies} <= {200, 201}, [r.body for _, r in replies if r.status > 201]
    created = Counter(key for key, reply in replies if reply.status == 201)
    assert set(created.values()) == {1} and len(created) == ORDERS + RECEIPTS  # each taken exactly once

    e2e.settle()
    received = sum(r["quantity"] for r in receipts)
    ordered = sum(o["lines"][0]["quantity"] for o in orders)
    balance = e2e.balance("HOT")
    assert balance["on_hand"] == received
    assert 0 <= balance["allotted"] <= balance["on_hand"]
    assert balance["available"] == balance["on_hand"] - balance["allotted"] >= 0
    assert balance["backordered"] == ordered - balance["allotted"]

    with ThreadPoolExecutor(THREADS) as pool:
        details = dict(zip([o["id"] for o in orders], pool.map(e2e.order, [o["id"] for o in orders]), strict=True))
    for order_id, detail in details.items():
        (line,) = detail["lines"]
        states = (line["shipped"], line["allotted"], line["backordered"], line["cancelled"])
        assert min(states) >= 0 and sum(states) == line["quantity"], order_id  # each unit in exactly one state
        pending = [s for s in detail["shipments"] if s["status"] == "pending"]
        assert sum(ln["units"] for s in pending for ln in s["lines"]) == line["allotted"], order_id
    allotted = {order_id: detail["lines"][0]["allotted"] for order_id, detail in details.items()}
    assert sum(allotted.values()) == balance["allotted"]
    # One priority, split lines: allotted units never move between them (stable allotments),
    # so which orders hold them depends on arrival; but no line waits while units are free.
    assert balance["allotted"] == min(received, ordered)
    assert balance["available"] == 0 or balance["backordered"] == 0


# ------------------------------------------------------------------ poison records


def _failure_messages(e2e: Any) -> list[dict[str, Any]]:
    sqs = e2e.cloud.client("sqs")
    queue = e2e.cloud.queue_url("AllotterFailureQueue")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def _waiting_failures(e2e: Any) -> int:
    attributes = e2e.cloud.client("sqs").get_queue_attributes(
        QueueUrl=e2e.cloud.queue_url("AllotterFailureQueue"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def _stream_keys(e2e: Any, info: dict[str, Any]) -> list[tuple[str, str]]:
    """The keys of the stream records a failure message names."""
    streams = e2e.cloud.client("dynamodbstreams")
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    last = int(info["endSequenceNumber"])
    return [
        (r["dynamodb"]["Keys"]["pk"]["S"], r["dynamodb"]["Keys"]["sk"]["S"])
        for r in records
        if int(r["dynamodb"]["SequenceNumber"]) <= last
    ]


def test_a_poison_record_goes_to_the_failure_queue_and_the_stream_moves_on(e2e):
    e2e.settle()
    assert _waiting_failures(e2e) == 0  # nothing else failed so far
    table = e2e.cloud.table_name("Table")
    ddb = e2e.cloud.client("dynamodb")
    # an order line the allotter cannot read (quantity is text), in POISON-SKU's demand list
    line = {
        "pk": {"S": "ORDER#shop-e2e#POISON"},
        "sk": {"S": "LINE#0001"},
        "item_type": {"S": "LINE"},
        "shop": {"S": "shop-e2e"},
        "order_id": {"S": "POISON"},
        "line_no": {"N": "1"},
        "sku": {"S": "POISON-SKU"},
        "quantity": {"S": "lots"},
        "unit_price": {"S": "1"},
        "priority": {"N": "0"},
        "entered_at": {"S": "2026-11-22T10:00:00.000000Z"},
        "policy": {"S": "split"},
        "demand_pk": {"S": "SKU#POISON-SKU"},
        "demand_sk": {"S": "09999#2026-11-22T10:00:00.000000Z#shop-e2e#POISON#0001"},
    }
    ddb.put_item(TableName=table, Item={"pk": {"S": "SKU#POISON-SKU"}, "sk": {"S": "SKU"}, "sku": {"S": "POISON-SKU"}})
    ddb.put_item(TableName=table, Item=line)
    e2e.settle()

    messages = _failure_messages(e2e)
    assert messages, "the poison records were not sent to AllotterFailureQueue"
    retries = _stream_source(e2e)["MaximumRetryAttempts"]
    discarded = []
    for message in messages:
        assert {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"} <= set(message)
        assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
        assert message["requestContext"]["functionArn"].endswith("-AllotterFunction")
        assert message["requestContext"]["approximateInvokeCount"] == retries + 1
        info = message["DDBStreamBatchInfo"]
        assert info["streamArn"] == e2e.cloud.stream_arn("Table")
        assert info["batchSize"] >= 1
        discarded += _stream_keys(e2e, info)
    # only the poison was given up on, nothing written before or after it
    assert set(discarded) <= {("SKU#POISON-SKU", "SKU"), ("ORDER#shop-e2e#POISON", "LINE#0001")}
    assert ("ORDER#shop-e2e#POISON", "LINE#0001") in discarded

    # the stream moved on: an ordinary order and receipt afterwards are allotted
    e2e.api.ok("PUT", "/v1/products/E2E-AFTER-POISON", {})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-AFTER-POISON", order_line("E2E-AFTER-POISON", 2)))
    e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-after-poison", "E2E-AFTER-POISON", 2))
    e2e.settle()
    assert e2e.line("E2E-AFTER-POISON")["allotted"] == 2
    assert _waiting_failures(e2e) == 0


# ------------------------------------------------------------------ a webshop's day


def test_the_readme_curl_shows_the_demo_textbook_balance_and_a_receipt_fills_the_backorder(e2e):
    (po,) = e2e.demo.ok("GET", "/v1/purchase-orders?status=recommended")["purchase_orders"]
    assert (po["kind"], po["supplier_id"], po["threshold_passed"]) == ("backorder", "acme-books", "fixed_cost 25")
    assert [(ln["sku"], ln["quantity"]) for ln in po["lines"]] == [("TEXTBOOK", 15)]  # -5 up to the minimum of 10
    balance = e2e.demo.ok("GET", "/v1/skus/TEXTBOOK")
    assert (balance["on_hand"], balance["allotted"], balance["backordered"]) == (20, 20, 5)
    assert [(d["order_id"], d["allotted"], d["backordered"]) for d in balance["demand"]] == [("1001", 20, 5)]

    # the README's second curl: 5 textbooks arrive and go to order 1001's backorder
    e2e.demo.ok("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 5))
    e2e.settle()
    balance = e2e.demo.ok("GET", "/v1/skus/TEXTBOOK")
    assert (balance["on_hand"], balance["allotted"], balance["backordered"]) == (25, 25, 0)


def test_a_backorder_po_is_recommended_once_and_its_receipt_fills_the_backorder(e2e):
    e2e.api.ok("PUT", "/v1/suppliers/e2e-supplier", {"backorders_enabled": True, "lead_time_days": 3})
    e2e.api.ok("PUT", "/v1/products/E2E-PO", {"supplier_id": "e2e-supplier", "purchase_price": "2.50"})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-PO-1", order_line("E2E-PO", 2)))
    e2e.settle()  # the replan queue has planned the supplier: the schedules find nothing more to do
    (po,) = e2e.api.ok("GET", "/v1/purchase-orders?supplier=e2e-supplier&status=recommended")["purchase_orders"]
    po_id = po["id"]
    for _ in range(2):  # a schedule delivered twice
        planned = e2e.cloud.fire_schedule("PlannerFunction", "Frequent")["planning"]
        assert (planned["recommended"], planned["updated"]) == ([], [])
    placed = e2e.api.ok("POST", f"/v1/purchase-orders/{po_id}/place", {})
    assert [(ln["sku"], ln["quantity"]) for ln in placed["lines"]] == [("E2E-PO", 2)]
    receipt = {"id": "delivery-1", "lines": [{"sku": "E2E-PO", "quantity": 2}]}
    assert e2e.api.ok("POST", f"/v1/purchase-orders/{po_id}/receipts", receipt)["status"] == "received"
    e2e.settle()
    order = e2e.order("E2E-PO-1")
    assert (order["lines"][0]["allotted"], order["lines"][0]["backordered"]) == (2, 0)


def test_a_backorder_is_replanned_through_the_queue_without_waiting_for_a_schedule(e2e):
    e2e.api.ok("PUT", "/v1/suppliers/e2e-queue", {"backorders_enabled": True})
    e2e.api.ok("PUT", "/v1/products/E2E-Q", {"supplier_id": "e2e-queue", "purchase_price": "1.00", "min_stock": 1})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-Q-1", order_line("E2E-Q", 2)))
    e2e.settle()  # the stream, the allotter, its replan request and the planner on the queue
    (po,) = e2e.api.ok("GET", "/v1/purchase-orders?supplier=e2e-queue")["purchase_orders"]
    assert (po["status"], po["lines"][0]["quantity"]) == ("recommended", 3)
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-Q-2", order_line("E2E-Q", 1)))
    e2e.settle()
    (po,) = e2e.api.ok("GET", "/v1/purchase-orders?supplier=e2e-queue")["purchase_orders"]
    assert po["lines"][0]["quantity"] == 4  # updated in place


def test_an_order_and_a_receipt_reach_the_allotter_and_the_shipment_ships(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-BOOK", {"name": "Geometry"})
    for path, body in (
        ("/v1/orders", order_body("E2E-1", order_line("E2E-BOOK", 3))),
        ("/v1/stock/movements", movement_body("e2e-po-1", "E2E-BOOK", 5)),
    ):
        reply = e2e.api("POST", path, body)
        assert (reply.status, reply.headers["content-type"]) == (201, "application/json")
    e2e.settle()

    order = e2e.order("E2E-1")
    assert (order["lines"][0]["allotted"], order["lines"][0]["backordered"]) == (3, 0)
    assert order["shipments"] == [
        {"shipment": 1, "status": "pending", "lines": [{"line": 1, "sku": "E2E-BOOK", "units": 3}]}
    ]
    assert any("went to order E2E-1" in entry["message"] for entry in order["history"])

    released = e2e.api.ok("POST", "/v1/orders/E2E-1/shipments/1/release")
    assert (released["status"], released["state"]) == ("released", "released")
    assert e2e.line("E2E-1")["locked"] == 3
    shipped = e2e.api.ok("POST", "/v1/orders/E2E-1/shipments/1/ship")
    assert (shipped["status"], shipped["state"]) == ("shipped", "shipped")
    e2e.settle()

    line = e2e.line("E2E-1")
    assert (line["shipped"], line["allotted"], line["locked"], line["backordered"]) == (3, 0, 0, 0)
    balance = e2e.balance("E2E-BOOK")
    assert (balance["on_hand"], balance["allotted"], balance["available"]) == (2, 0, 2)
    assert [s["status"] for s in e2e.order("E2E-1")["shipments"]] == ["shipped"]


def test_a_later_order_with_higher_priority_takes_the_units_over_http(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-PRIO", {})
    e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-prio-po", "E2E-PRIO", 10))
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-REGULAR", order_line("E2E-PRIO", 10), minute=0))
    e2e.settle()
    assert e2e.line("E2E-REGULAR")["allotted"] == 10

    e2e.api.ok("POST", "/v1/orders", order_body("E2E-VIP", order_line("E2E-PRIO", 6), minute=30, priority=1))
    e2e.settle()
    assert e2e.line("E2E-VIP")["allotted"] == 6
    regular = e2e.order("E2E-REGULAR")
    assert (regular["lines"][0]["allotted"], regular["lines"][0]["backordered"]) == (4, 6)
    assert [s["lines"][0]["units"] for s in regular["shipments"] if s["status"] == "pending"] == [4]
    assert any("taken back" in e["message"] and "E2E-VIP" in e["message"] for e in regular["history"])


def test_units_in_a_released_shipment_are_not_taken_by_a_higher_priority(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-LOCK", {})
    e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-lock-po", "E2E-LOCK", 4))
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-LOCKED", order_line("E2E-LOCK", 4), minute=0))
    e2e.settle()
    e2e.api.ok("POST", "/v1/orders/E2E-LOCKED/shipments/1/release")
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-URGENT", order_line("E2E-LOCK", 2), minute=9, priority=9))
    e2e.settle()
    assert e2e.line("E2E-LOCKED")["allotted"] == 4
    assert (e2e.line("E2E-URGENT")["allotted"], e2e.line("E2E-URGENT")["backordered"]) == (0, 2)


def test_returned_stock_goes_to_the_oldest_waiting_line_over_http(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-RET", {})
    # the newer order arrives first: entry time decides, not arrival
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-NEWER", order_line("E2E-RET", 1), minute=20))
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-OLDEST", order_line("E2E-RET", 1), minute=10))
    e2e.settle()
    e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-ret-1", "E2E-RET", 1, kind="return"))
    e2e.settle()
    assert (e2e.line("E2E-OLDEST")["allotted"], e2e.line("E2E-NEWER")["allotted"]) == (1, 0)


def test_cancelling_an_order_frees_its_units_for_the_next_order_over_http(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-CAN", {})
    e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-can-po", "E2E-CAN", 3))
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-FIRST", order_line("E2E-CAN", 3), minute=0))
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-SECOND", order_line("E2E-CAN", 2), minute=1))
    e2e.settle()
    assert e2e.line("E2E-SECOND")["allotted"] == 0

    assert e2e.api.ok("POST", "/v1/orders/E2E-FIRST/cancel", {})["status"] == "cancelled"
    e2e.settle()
    first, second = e2e.line("E2E-FIRST"), e2e.line("E2E-SECOND")
    assert (first["cancelled"], first["allotted"]) == (3, 0)
    assert (second["allotted"], second["backordered"]) == (2, 0)
    assert e2e.order("E2E-FIRST")["shipments"] == []  # its pending shipment was dropped


def test_the_frequent_sweep_changes_nothing_once_everything_has_converged(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-SWEEP", {})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-WAITING", order_line("E2E-SWEEP", 2)))
    e2e.settle()
    report = e2e.cloud.fire_schedule("PlannerFunction", "Frequent")
    assert report["job"] == "frequent"
    assert report["skus"] >= 1  # at least E2E-SWEEP has a backordered line
    assert report["changed"] == 0
    assert e2e.line("E2E-WAITING")["backordered"] == 2
    e2e.settle()
    again = e2e.cloud.fire_schedule("PlannerFunction", "Frequent")  # a schedule delivered twice
    assert (again["changed"], again["cleared"]) == (0, 0)
    assert e2e.line("E2E-WAITING")["backordered"] == 2


def test_the_frequent_sweep_allots_stock_the_stream_never_announced(e2e):
    e2e.api.ok("PUT", "/v1/products/E2E-DRIFT", {})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-DRIFTING", order_line("E2E-DRIFT", 2)))
    e2e.settle()
    # stock that appears in a write the allotter ignores (as if its record had been lost)
    e2e.cloud.client("dynamodb").update_item(
        TableName=e2e.cloud.table_name("Table"),
        Key={"pk": {"S": "SKU#E2E-DRIFT"}, "sk": {"S": "SKU"}},
        UpdateExpression="ADD on_hand :n, available :n, version :one SET writer = :allotter",
        ExpressionAttributeValues={":n": {"N": "2"}, ":one": {"N": "1"}, ":allotter": {"S": "allotter"}},
    )
    e2e.settle()
    assert e2e.line("E2E-DRIFTING")["allotted"] == 0

    first = e2e.cloud.fire_schedule("PlannerFunction", "Frequent")
    assert first["changed"] == 1
    assert e2e.line("E2E-DRIFTING")["allotted"] == 2
    e2e.settle()
    assert e2e.cloud.fire_schedule("PlannerFunction", "Frequent")["changed"] == 0


# ------------------------------------------------------------------ the stream after a cancelled transaction
# These run the local cloud as shipped (the conftest's LiveStreamReads workaround off).


def _cancelled_transaction(e2e: Any, *written: str) -> None:
    """A transaction that lost a race: it puts ``written`` SKU items, then fails a
    condition on the last one, so it is cancelled and nothing is written."""
    table = e2e.cloud.table_name("Table")
    items = [{"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "SKU"}, "sku": {"S": sku}} for sku in written]
    puts: list[dict[str, Any]] = [{"Put": {"TableName": table, "Item": item}} for item in items[:-1]]
    puts.append({"Put": {"TableName": table, "Item": items[-1], "ConditionExpression": "attribute_not_exists(pk)"}})
    with pytest.raises(ClientError, match="TransactionCanceled"):
        e2e.cloud.client("dynamodb").transact_write_items(TransactItems=puts)


def test_the_stream_keeps_flowing_after_a_cancelled_transaction(e2e, live_stream_reads):
    e2e.api.ok("PUT", "/v1/products/E2E-TX", {})
    e2e.settle()
    with live_stream_reads.off():
        _cancelled_transaction(e2e, "E2E-TX")
        e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-tx-po", "E2E-TX", 1))
        e2e.api.ok("POST", "/v1/orders", order_body("E2E-TX-1", order_line("E2E-TX", 1)))
        e2e.settle()
        assert e2e.line("E2E-TX-1")["allotted"] == 1


def test_a_transaction_cancelled_while_the_allotter_is_busy_does_not_hide_later_writes(e2e, live_stream_reads):
    e2e.api.ok("PUT", "/v1/products/E2E-BUSY", {})
    e2e.api.ok("POST", "/v1/orders", order_body("E2E-BUSY-1", order_line("E2E-BUSY", 1)))
    e2e.settle()
    allotter = e2e.cloud.function("AllotterFunction").handler
    busy, go_on = threading.Event(), threading.Event()

    def held_allotter(event: dict[str, Any], context: Any) -> Any:
        busy.set()
        go_on.wait(10)
        return allotter(event, context)

    table = e2e.cloud.table_name("Table")
    ddb = e2e.cloud.client("dynamodb")
    try:
        with live_stream_reads.off():
            e2e.cloud.override_handler("AllotterFunction", held_allotter)
            try:
                # one full batch of records the allotter ignores, written at once: the
                # consumer reads them in one go, invokes the allotter right away and holds
                # that read's shard iterator meanwhile
                batch = _stream_source(e2e)["BatchSize"]
                fillers = [_ignored_sku_item(f"E2E-FILLER-{n}") for n in range(batch)]
                ddb.transact_write_items(TransactItems=[{"Put": {"TableName": table, "Item": i}} for i in fillers])
                assert busy.wait(10)
                _cancelled_transaction(e2e, "E2E-PHANTOM-1", "E2E-PHANTOM-2", "E2E-BUSY")
                e2e.api.ok("POST", "/v1/stock/movements", movement_body("e2e-busy-po", "E2E-BUSY", 1))
            finally:
                go_on.set()
                e2e.cloud.override_handler("AllotterFunction", None)
            e2e.settle()
            assert e2e.line("E2E-BUSY-1")["allotted"] == 1
    finally:  # leave E2E-BUSY converged for the sweep tests, whatever happened
        e2e.api.ok("PUT", "/v1/products/E2E-BUSY", {})
        e2e.settle()


def _stream_source(e2e: Any) -> dict[str, Any]:
    """The allotter's event source mapping, as template.yaml declares it."""
    return dict(e2e.cloud.template.functions["AllotterFunction"].events["TableStream"].properties)


# ------------------------------------------------------------------ the API's description


def test_the_openapi_document_and_swagger_ui_are_served_without_a_key_over_http(e2e):
    parts = urlsplit(e2e.cloud.api_url)
    answers = {}
    for path in ("/openapi.json", "/docs", "/docs/swagger-ui-bundle.min.js", "/docs/swagger-ui.min.css"):
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Accept-Encoding": "gzip"})  # no Authorization
            response = connection.getresponse()
            raw = response.read()
            encoding = response.getheader("Content-Encoding")
            answers[path] = (
                response.status,
                response.getheader("Content-Type"),
                gzip.decompress(raw) if encoding else raw,
            )
        finally:
            connection.close()
    assert {path: status for path, (status, _, _) in answers.items()} == dict.fromkeys(answers, 200)
    spec = json.loads(answers["/openapi.json"][2])
    assert "/v1/orders/{order_id}" in spec["paths"]
    assert answers["/docs"][1] == "text/html"
    assert answers["/docs/swagger-ui-bundle.min.js"][1].startswith("text/javascript")
    assert answers["/docs/swagger-ui.min.css"][1].startswith("text/css")


def _ignored_sku_item(sku: str) -> dict[str, Any]:
    """A SKU item the allotter's own writer wrote: its record passes the stream filter
    but asks for nothing."""
    return {"pk": {"S": f"SKU#{sku}"}, "sk": {"S": "SKU"}, "sku": {"S": sku}, "writer": {"S": "allotter"}}


def test_a_shops_integration_is_stored_as_the_stacks_own_secret(e2e):
    body = {"shop_domain": "e2e-shop.myshopify.com", "webhook_secret": "shpss_e2e-secret-4711"}
    saved = e2e.api.ok("PUT", "/v1/shop/integrations/shopify", body)
    assert saved["shopify"]["webhook_secret"] is True and "shpss_e2e-secret-4711" not in json.dumps(saved)
    names = [s["Name"] for s in e2e.cloud.client("secretsmanager").list_secrets()["SecretList"]]
    assert f"{e2e.cloud.template.stack_name}/integrations/shop-e2e/shopify" in names  # INTEGRATION_SECRETS_PREFIX
    shown = e2e.api.ok("GET", "/v1/shop/integrations")
    assert (shown["shopify"]["configured"], shown["woocommerce"]["configured"]) == (True, False)
