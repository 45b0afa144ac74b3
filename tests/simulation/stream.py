"""The table stream delivered to the allotter, one invocation per call, by the harness.

It reads moto's stream shard directly: the records ``GetRecords`` would return, without
the botocore round trip, which cost a sixth of a run once webhook deliveries were in the
table (moto serialises every item change, record-log entries included, and botocore
parses it again; the converted records are the same). It turns the records into the
Lambda event shape with the local cloud's own converter (``to_lambda_record``), applies
the template's ``FilterCriteria`` and invokes ``allotter_handler.lambda_handler`` in
batches of at most ``BatchSize`` records (the size varies per batch, seeded). What
follows a batch is the local cloud's own event source mapping logic
(``localcloud.streams.Delivery``): partial batch failures, bisecting (a crash fails an
invocation as an error does), retries and, once ``MaximumRetryAttempts`` are used up,
the on-failure queue (kept in :attr:`StreamDriver.failure_queue`).

Faults (at-least-once delivery): records of earlier batches delivered again inside a
later batch, a batch delivered twice, and a batch delivered in shuffled order.
``MaximumRecordAgeInSeconds`` is not applied (moto stamps records with the wall
clock, which a deterministic run must not read).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from localcloud.filters import compile_filters, matches_any
from localcloud.streams import Batch, Delivery, Outcome, to_lambda_record
from tests.simulation.cloud import REGION, Cloud, template
from tests.simulation.faults import FaultPlan, SimulatedCrash

BATCH_SIZES = (1, 2, 5, 20, 100)


@dataclass
class InFlight(Batch):
    note: str = ""


class StreamDriver:
    def __init__(self, cloud: Cloud, rng: random.Random, plan: FaultPlan) -> None:
        self.cloud = cloud
        self.rng = rng
        self.plan = plan
        props = template()["AllotterFunction"]["Properties"]["Events"]["TableStream"]["Properties"]
        self.batch_size = int(props.get("BatchSize", 100))
        self.sizes = BATCH_SIZES  # the batch size is drawn from these (capped at BatchSize)
        self.filters = compile_filters(props.get("FilterCriteria"))
        assert "ReportBatchItemFailures" in props.get("FunctionResponseTypes", [])
        # the local cloud's delivery rules; a crash fails an invocation as an error does
        self.delivery = Delivery(
            cloud.allotter,
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            report_batch_item_failures=True,
            errors=(Exception, SimulatedCrash),
        )
        self.position = 0  # TRIM_HORIZON: the index in the shard of the next record to read
        self.buffer: deque[dict[str, Any]] = deque()
        self.inflight = self.delivery.pending
        self.recent: deque[dict[str, Any]] = deque(maxlen=50)  # delivered records, for re-delivery
        self.failure_queue: list[dict[str, Any]] = []
        # records given up on whose own work had failed too (the others of a discarded
        # batch were processed by every attempt: the allotter is level-triggered)
        self.lost: list[dict[str, Any]] = []
        # partial_failures, function_errors, crashes, bisected, duplicated, twice, shuffled, error:<name>
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------ reading
    def _shard_records(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The next records of the table's one shard, as moto's ``GetRecords`` has them."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(self.cloud.table).stream_shard
        assert shard is not None, "the table has its stream (template.yaml)"
        records = [item.to_json() for item in shard.items[self.position : self.position + limit]]
        self.position += len(records)
        return records

    def _poll(self) -> None:
        for raw in self._shard_records():
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
            self.inflight.append(InFlight([self.buffer.popleft() for _ in range(min(size, len(self.buffer)))]))
        work = self.inflight.popleft()
        records = list(work.records)
        notes = [work.note] if isinstance(work, InFlight) and work.note else []
        if self.recent and self.rng.random() < self.plan.stream_duplicate_records:
            for _ in range(self.rng.randint(1, 3)):
                again = self.recent[self.rng.randrange(len(self.recent))]
                records.insert(self.rng.randint(0, len(records)), again)
            self.stats["duplicated"] += 1
            notes.append("with re-delivered records")
        if len(records) > 1 and self.rng.random() < self.plan.stream_shuffle:
            self.rng.shuffle(records)
            self.stats["shuffled"] += 1
            notes.append("shuffled")
        outcome = self.delivery.invoke(records)
        shown = f" ({', '.join(notes)})" if notes else ""
        label = f"stream batch of {len(records)}{shown}: {self._count(outcome)}"
        step, after = self.delivery.settle(work, outcome, records)
        if step == "ok":
            self.recent.extend(work.records)
            if self.rng.random() < self.plan.stream_batch_twice:
                self.stats["twice"] += 1
                self.inflight.appendleft(InFlight(list(work.records), note="delivered twice"))
        elif step == "bisected":
            self.stats["bisected"] += 1
            label += ", bisected"
        elif step == "discard":
            self.failure_queue.extend(after.records)
            failed = set(outcome.failed)
            self.lost.extend(r for r in after.records if not failed or r["dynamodb"]["SequenceNumber"] in failed)
        return label

    def _count(self, outcome: Outcome) -> str:
        if outcome.ok:
            return "ok"
        if isinstance(outcome.error, SimulatedCrash):
            self.stats["crashes"] += 1
            return "crashed"
        if outcome.error is not None:  # a function error, as Lambda sees it
            self.stats["function_errors"] += 1
            name = type(outcome.error).__name__
            self.stats[f"error:{name}"] += 1
            return f"function error {name}"
        self.stats["partial_failures"] += 1
        return f"partial failure ({len(outcome.failed)} records)"

    def drain(self, limit: int = 10_000) -> int:
        """Deliver until the stream is idle; returns the number of invocations."""
        count = 0
        while count < limit:
            if self.pump() is None:
                return count
            count += 1
        raise AssertionError(f"the stream did not drain in {limit} invocations")
