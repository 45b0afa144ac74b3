"""The table stream delivered to the allocator, one invocation per call, by the harness.

It reads moto's stream with the ``dynamodbstreams`` client, turns the records into the
Lambda event shape with the local cloud's own converter (``to_lambda_record``), applies
the template's ``FilterCriteria`` and invokes ``allocator_handler.lambda_handler`` as
the event source mapping of template.yaml would:

* batches of at most ``BatchSize`` records (the size varies per batch, seeded);
* ``ReportBatchItemFailures``: the lowest failed sequence number is the checkpoint and
  every record from it on is delivered again, including ones that succeeded;
* ``BisectBatchOnFunctionError``: a batch whose invocation failed (a crash, or powertools
  raising because every record failed) is split in half, without using a retry;
* ``MaximumRetryAttempts``: then the batch goes to the on-failure queue (kept in
  :attr:`StreamDriver.failure_queue`) and the shard moves on.

Faults (at-least-once delivery): records of earlier batches delivered again inside a
later batch, a batch delivered twice, and a batch delivered in shuffled order.
``MaximumRecordAgeInSeconds`` is not applied (moto stamps records with the wall
clock, which a deterministic run must not read).
"""

from __future__ import annotations

import copy
import random
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import boto3

from localcloud.filters import compile_filters, matches_any
from localcloud.streams import to_lambda_record
from tests.simulation.cloud import REGION, Cloud, template
from tests.simulation.faults import FaultPlan, SimulatedCrash

BATCH_SIZES = (1, 2, 5, 20, 100)


def _seq(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


@dataclass
class InFlight:
    records: list[dict[str, Any]]
    failed_attempts: int = 0
    note: str = ""


@dataclass
class StreamStats:
    invocations: int = 0
    records: int = 0
    partial_failures: int = 0
    function_errors: int = 0
    crashes: int = 0
    bisected: int = 0
    duplicated: int = 0
    twice: int = 0
    shuffled: int = 0
    discarded_records: int = 0
    errors: dict[str, int] = field(default_factory=dict)


class StreamDriver:
    def __init__(self, cloud: Cloud, rng: random.Random, plan: FaultPlan) -> None:
        self.cloud = cloud
        self.rng = rng
        self.plan = plan
        props = template()["AllocatorFunction"]["Properties"]["Events"]["TableStream"]["Properties"]
        self.batch_size = int(props.get("BatchSize", 100))
        self.sizes = BATCH_SIZES  # the batch size is drawn from these (capped at BatchSize)
        self.retry_limit = int(props.get("MaximumRetryAttempts", -1))
        self.bisect = bool(props.get("BisectBatchOnFunctionError", False))
        self.filters = compile_filters(props.get("FilterCriteria"))
        assert "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        with cloud.faults.suspended():
            # botocore now addresses streams as <account>.streams-ddb.<region>, which moto
            # 5.2 does not route in-process: name the classic endpoint.
            self.client = boto3.client(
                "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
            )
            shards = self.client.describe_stream(StreamArn=cloud.stream_arn)["StreamDescription"]["Shards"]
            self.shard_id = shards[0]["ShardId"]
            self.iterator = self.client.get_shard_iterator(
                StreamArn=cloud.stream_arn, ShardId=self.shard_id, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        self.buffer: deque[dict[str, Any]] = deque()
        self.inflight: deque[InFlight] = deque()
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)  # delivered records, for re-delivery
        self.failure_queue: list[dict[str, Any]] = []
        # records given up on whose own work had failed too (the others of a discarded
        # batch were processed by every attempt: the allocator is level-triggered)
        self.lost: list[dict[str, Any]] = []
        self.stats = StreamStats()

    # ------------------------------------------------------------ reading
    def _poll(self) -> None:
        with self.cloud.faults.suspended():
            response = self.client.get_records(ShardIterator=self.iterator, Limit=1000)
        self.iterator = response["NextShardIterator"]
        for raw in response.get("Records", []):
            record = to_lambda_record(raw, self.cloud.stream_arn, REGION)
            record["dynamodb"]["ApproximateCreationDateTime"] = 0  # moto's wall clock; unused by the handler
            record["eventID"] = f"ev-{record['dynamodb']['SequenceNumber']}"
            if matches_any(self.filters, record):
                self.buffer.append(record)

    def idle(self) -> bool:
        if self.inflight or self.buffer:
            return False
        self._poll()
        return not self.buffer

    # ------------------------------------------------------------ one invocation
    def pump(self) -> str | None:
        """Deliver one batch; returns a line for the trace, or None when there was nothing."""
        if not self.inflight:
            if not self.buffer:
                self._poll()
            if not self.buffer:
                return None
            size = min(self.batch_size, self.rng.choice(self.sizes))
            batch = [self.buffer.popleft() for _ in range(min(size, len(self.buffer)))]
            self.inflight.append(InFlight(batch))
        work = self.inflight.popleft()
        records = list(work.records)
        notes = [work.note] if work.note else []
        if self.recent and self.rng.random() < self.plan.stream_duplicate_records:
            for _ in range(self.rng.randint(1, 3)):
                again = self.recent[self.rng.randrange(len(self.recent))]
                records.insert(self.rng.randint(0, len(records)), again)
            self.stats.duplicated += 1
            notes.append("with re-delivered records")
        if len(records) > 1 and self.rng.random() < self.plan.stream_shuffle:
            self.rng.shuffle(records)
            self.stats.shuffled += 1
            notes.append("shuffled")
        outcome = self._invoke(records)
        label = f"stream batch of {len(records)}{' (' + ', '.join(notes) + ')' if notes else ''}: {outcome}"
        if outcome == "ok":
            self.recent.extend(work.records)
            if self.rng.random() < self.plan.stream_batch_twice:
                self.stats.twice += 1
                self.inflight.appendleft(InFlight(list(work.records), note="delivered twice"))
            return label
        if outcome.startswith("partial"):
            failed = self._last_failed
            lowest = min(failed)
            by_seq = {_seq(r): r for r in records}
            rest = [by_seq[s] for s in sorted(by_seq) if s >= lowest]
            self._retry(InFlight(rest, work.failed_attempts + 1), failed=set(failed))
            return label
        # the invocation failed as a whole
        if self.bisect and len(work.records) > 1:
            middle = len(work.records) // 2
            self.stats.bisected += 1
            self.inflight.appendleft(InFlight(work.records[middle:], work.failed_attempts))
            self.inflight.appendleft(InFlight(work.records[:middle], work.failed_attempts))
            return label + ", bisected"
        self._retry(InFlight(work.records, work.failed_attempts + 1))
        return label

    def _retry(self, work: InFlight, failed: set[int] | None = None) -> None:
        if 0 <= self.retry_limit < work.failed_attempts:
            self.failure_queue.extend(work.records)
            self.lost.extend(r for r in work.records if failed is None or _seq(r) in failed)
            self.stats.discarded_records += len(work.records)
            return
        self.inflight.appendleft(work)

    def _invoke(self, records: list[dict[str, Any]]) -> str:
        self.stats.invocations += 1
        self.stats.records += len(records)
        try:
            result = self.cloud.allocator({"Records": copy.deepcopy(records)})
        except SimulatedCrash:
            self.stats.crashes += 1
            return "crashed"
        except Exception as exc:  # a function error, as Lambda sees it
            self.stats.function_errors += 1
            name = type(exc).__name__
            self.stats.errors[name] = self.stats.errors.get(name, 0) + 1
            return f"function error {name}"
        failures = (result or {}).get("batchItemFailures") or []
        if not failures:
            return "ok"
        self.stats.partial_failures += 1
        self._last_failed = [int(f["itemIdentifier"]) for f in failures]
        return f"partial failure ({len(failures)} records)"

    def drain(self, limit: int = 10_000) -> int:
        """Deliver until the stream is idle; returns the number of invocations."""
        count = 0
        while count < limit:
            if self.pump() is None:
                return count
            count += 1
        raise AssertionError(f"the stream did not drain in {limit} invocations")
