"""How long a product import of 10,000 rows takes through the API handler (decision 61):
the real handler, in this process, against moto with the local cloud's patches (as
``make run`` serves it), the table built from template.yaml. Not a row of ``make bench``
(moto's time, not DynamoDB's): a check that the import's own work fits the API's 30 s.

    PYTHONPATH=.:infra:layers/shared:functions/api:functions/planner \
        .venv/bin/python -m tests.benchmarks.csv_import [--rows N] [--job]

Prints the file's size and the seconds of: a first import (every row new), the same file
again (every row unchanged: reads only), the file with every row changed, and the CSV
export of the whole catalogue. With ``--job`` the API has its plan queue, as deployed: a
file of more than 1,000 changed records is answered 202 and written by the planner
function from the queue (decision 63); each such import is then followed by the job's run.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import boto3
from moto import mock_aws
from moto.core.botocore_stubber import BotocoreStubber

from backorders.adapters.api_keys import add_key
from localcloud.moto_patches import patched_moto
from localcloud.provision import create_table
from localcloud.queues import to_lambda_message
from localcloud.runtime import LambdaContext
from localcloud.template import Template
from tests.support.events import http_event

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = "sku,name,supplier_id,purchase_price,min_stock,max_stock,phased_out,order_multiple,tracked\n"


def catalogue(rows: int, *, min_stock: int) -> str:
    lines = (
        f"SKU-{n:06d},Product number {n},acme,{n % 50 + 1}.25,{min_stock},{min_stock * 5},false,{n % 3 + 1},true\n"
        for n in range(rows)
    )
    return HEADER + "".join(lines)


class MotoClock:
    """Seconds and calls spent in moto (from the request as botocore sends it to the answer
    moto gives back: what DynamoDB does, not what the function does)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls: dict[str, int] = {}
        self._process = BotocoreStubber.process_request

    def __enter__(self) -> MotoClock:
        clock, original = self, self._process

        def process_request(stubber: BotocoreStubber, request: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(stubber, request)
            finally:
                clock.seconds += time.perf_counter() - started
                operation = str(request.headers.get("X-Amz-Target", b"").decode()).rpartition(".")[2] or "other"
                clock.calls[operation] = clock.calls.get(operation, 0) + 1

        BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        BotocoreStubber.process_request = self._process  # type: ignore[method-assign]


def timed(handler: Any, event: dict[str, Any], *, ok: tuple[int, ...] = (200, 202)) -> str:
    # not the template's 30 s: under moto an import would stop at 25 s (IMPORT_MARGIN_MS) and say what it left
    context = LambdaContext(
        function_name="csv-import", memory_limit_in_mb=512, timeout=900, region="us-east-1", account_id="123456789012"
    )
    started = time.perf_counter()
    with MotoClock() as moto:
        answer = handler(event, context)
    seconds = time.perf_counter() - started
    if "statusCode" in answer:
        assert answer["statusCode"] in ok, answer["body"][:500]
    calls = ", ".join(f"{n} {operation}" for operation, n in sorted(moto.calls.items()))
    text = answer.get("body", json.dumps(answer))
    body = text if len(text) < 200 else f"{len(text.encode()) / 1024:,.0f} KB"
    own = seconds - moto.seconds
    return f"{seconds:.1f} s, of which {moto.seconds:.1f} s in moto ({calls}), the handler's own {own:.1f} s: {body}"


def main() -> None:
    parser = argparse.ArgumentParser(prog="csv_import")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--job", action="store_true", help="large imports through the plan queue (as deployed)")
    args = parser.parse_args()
    rows = args.rows
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws(), patched_moto():
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="csv-import-keys", SecretString="{}")["ARN"]
        key = add_key(secrets, arn, "aacme")
        table = create_table(
            boto3.client("dynamodb"), Template.load(f"{ROOT}/template.yaml").tables["Table"], "csv-import"
        )
        os.environ.update(TABLE_NAME=table, API_KEYS_SECRET_ARN=arn)
        sqs = boto3.client("sqs")
        queue = sqs.create_queue(QueueName="csv-import-plan")["QueueUrl"] if args.job else None
        if queue:
            os.environ["PLAN_QUEUE_URL"] = queue
        import api_handler  # after the environment: the handler reads its settings on first use
        import planner_handler

        def run_jobs() -> None:
            """What the planner function does with the queue's messages (one batch each)."""
            arn = f"arn:aws:sqs:us-east-1:123456789012:{queue.rpartition('/')[2]}" if queue else ""
            while queue and (got := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages")):
                event = {"Records": [to_lambda_message(m, arn, "us-east-1") for m in got]}
                print("  the job, from the queue:", timed(planner_handler.lambda_handler, event))
                for m in got:
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

        def send(method: str, path: str, body: str | None = None, **headers: str) -> str:
            return timed(api_handler.lambda_handler, http_event(method, path, body, headers=headers, api_key=key))

        first = catalogue(rows, min_stock=2)
        print(f"{rows:,} rows, {len(first.encode()) / 1024:,.0f} KB")
        for label, text in (
            ("new", first),
            ("unchanged", first),
            ("all changed", catalogue(rows, min_stock=3)),
        ):
            print(
                f"import, every row {label}:",
                send("POST", "/v1/imports/products", text, **{"Content-Type": "text/csv"}),
            )
            run_jobs()
        print("export:", send("GET", "/v1/products", Accept="text/csv"))


if __name__ == "__main__":
    main()
