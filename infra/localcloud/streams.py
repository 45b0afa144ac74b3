"""DynamoDB stream -> Lambda, as an event source mapping delivers it: :class:`Delivery` is
what Lambda does after one batch (partial failures, bisecting, retries; the simulation uses
it too), :class:`StreamConsumer` polls one stream in a thread (batch size and window,
filters, record age, the SQS on-failure record). In order, one batch at a time: one shard."""

from __future__ import annotations

import base64
import copy
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from .filters import compile_filters, matches_any
from .runtime import failure_record

__all__ = ["Batch", "Delivery", "Outcome", "Poller", "StreamConsumer", "to_lambda_record"]

log = logging.getLogger("localcloud")

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
Record = dict[str, Any]


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_jsonable(item) for item in value]
    return value


def to_lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> Record:
    """A ``get_records`` record (as boto3 returns it) in the shape Lambda delivers."""
    ddb = dict(record.get("dynamodb") or {})
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created_seconds = int(created.timestamp())
    else:
        created_seconds = int(time.time()) if created is None else int(float(created))
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": created_seconds}
    for key in ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
        if key in ddb:
            dynamodb[key] = _jsonable(ddb[key])
    result: Record = {
        "eventID": record.get("eventID") or uuid.uuid4().hex,
        "eventName": record.get("eventName"),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if "userIdentity" in record:
        result["userIdentity"] = record["userIdentity"]
    return result


def _sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


# --------------------------------------------------------------------- one batch


@dataclass
class Batch:
    records: list[Record]
    attempts: int = 0  # failed invocations so far (a bisected half keeps its parent's)


@dataclass(frozen=True)
class Outcome:
    ok: bool = True
    failed: tuple[str, ...] = ()  # the reported itemIdentifiers of a partial batch failure
    error: BaseException | None = None  # what the invocation raised
    message: str = ""


class DeliveryStats(SimpleNamespace):
    """What one delivery has done (``/_local/health`` shows it)."""

    def __init__(self) -> None:
        counters = ("invocations", "records_delivered", "records_filtered_out", "failed_invocations")
        super().__init__(**dict.fromkeys(counters, 0), records_discarded=0, on_failure_messages=0, last_error=None)


@dataclass
class Delivery:
    """Lambda's handling of one shard's batches: invoke, read the response, then retry,
    bisect, move the checkpoint or give up. ``pending`` holds the batches to deliver, the
    next first; ``errors`` are what counts as a failed invocation."""

    invoke_function: Callable[[dict[str, Any]], Any]
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    report_batch_item_failures: bool = False
    errors: tuple[type[BaseException], ...] = (Exception,)
    pending: deque[Batch] = field(default_factory=deque)
    stats: DeliveryStats = field(default_factory=DeliveryStats)

    def invoke(self, records: list[Record]) -> Outcome:
        self.stats.invocations += 1
        self.stats.records_delivered += len(records)
        try:
            result = self.invoke_function({"Records": copy.deepcopy(records)})
        except self.errors as exc:
            outcome = Outcome(ok=False, error=exc, message=repr(exc))
        else:
            outcome = self._response(records, result) if self.report_batch_item_failures else Outcome()
        if not outcome.ok:
            self.stats.failed_invocations += 1
            self.stats.last_error = outcome.message
        return outcome

    @staticmethod
    def _response(records: list[Record], result: Any) -> Outcome:
        failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
        if not failures:
            return Outcome()  # a null, non-object or empty response is a complete success
        if not isinstance(failures, list):
            return Outcome(ok=False, message=f"invalid batchItemFailures {failures!r}")
        known = {_sequence(record) for record in records}
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
            if not isinstance(identifier, str) or identifier not in known:
                # An empty, null or unknown itemIdentifier fails the whole batch.
                return Outcome(ok=False, message=f"invalid batch item failure {item!r}")
        identifiers = tuple(item["itemIdentifier"] for item in failures)
        return Outcome(ok=False, failed=identifiers, message=f"{len(failures)} batch item failure(s)")

    def settle(self, batch: Batch, outcome: Outcome, delivered: list[Record] | None = None) -> tuple[str, Batch]:
        """What comes after ``batch`` (``delivered`` as sent, if it differed): ``("ok", batch)``,
        ``("bisected", batch)`` (both halves pending), ``("retry", next)`` (pending first) or
        ``("discard", next)``, the batch to give up on."""
        if outcome.ok:
            return "ok", batch
        if outcome.failed:  # checkpoint at the lowest failed record; deliver it and all after it
            lowest = min(int(identifier) for identifier in outcome.failed)
            by_sequence = {int(_sequence(record)): record for record in delivered or batch.records}
            again = Batch([by_sequence[n] for n in sorted(by_sequence) if n >= lowest], batch.attempts + 1)
        elif self.bisect_on_error and len(batch.records) > 1:
            middle = len(batch.records) // 2
            halves = batch.records[middle:], batch.records[:middle]
            self.pending.extendleft(Batch(half, batch.attempts) for half in halves)
            return "bisected", batch
        else:
            again = Batch(batch.records, batch.attempts + 1)
        if 0 <= self.maximum_retry_attempts < again.attempts:
            self.stats.records_discarded += len(again.records)
            return "discard", again
        self.pending.appendleft(again)
        return "retry", again


# --------------------------------------------------------------------- the poller


class Poller:
    """A thread that polls an event source and invokes a function, and says when it is
    idle (``LocalCloud.wait_for_streams`` waits on every poller): the stream consumer
    below and the SQS consumer (``queues.py``)."""

    name = "poller"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._poll_seq = self._idle_seq = self._completed_batches = 0
        self._busy = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"localcloud-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("%s did not stop within %.0f s", self.name, timeout)

    def progress(self) -> tuple[int, int, bool]:
        """(polls started, batches completed, busy)."""
        with self._cond:
            return self._poll_seq, self._completed_batches, self._busy

    def wait_idle_after(self, poll_seq: int, deadline: float) -> bool:
        """Wait for a poll that started after ``poll_seq`` to find nothing to do."""
        with self._cond:
            while self._idle_seq <= poll_seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    return False
                self._cond.wait(min(remaining, 0.5))
            return True

    def _polled(self) -> int:
        with self._cond:
            self._poll_seq += 1
            return self._poll_seq

    def _idle(self, seq: int) -> None:
        with self._cond:
            self._idle_seq = seq
            self._cond.notify_all()

    def _deliver(self, batch: list[Any]) -> None:
        with self._cond:
            self._busy = True
        try:
            self._process(batch)
        finally:
            with self._cond:
                self._busy = False
                self._completed_batches += 1
                self._cond.notify_all()

    def _run(self) -> None:
        raise NotImplementedError

    def _process(self, batch: list[Any]) -> None:
        raise NotImplementedError


class StreamConsumer(Poller):
    """Polls one DynamoDB stream and invokes one function with its records, as the event
    source mapping ``props`` (resolved) says; ``fast``: test timings (README.md)."""

    def __init__(
        self,
        name: str,
        props: Mapping[str, Any],
        *,
        invoke: Callable[[dict[str, Any]], Any],
        streams_client: Any,
        send: Callable[[str | None, dict[str, Any]], bool],
        function_arn: str,
        region: str,
        poll_interval: float = 0.25,
        batching_window: float | None = None,
        fast: bool = False,
        discard_iterator: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self.name, self.stream_arn = name, str(props["EventSourceArn"])
        self.starting_position = str(props.get("StartingPosition", "TRIM_HORIZON"))
        self.batch_size = int(props.get("BatchSize", 100))
        self.maximum_record_age = int(props.get("MaximumRecordAgeInSeconds", -1))
        self.on_failure_destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        self.filters = compile_filters(props.get("FilterCriteria"))
        self._window = batching_window_of(props, batching_window, fast)
        report = REPORT_BATCH_ITEM_FAILURES in (props.get("FunctionResponseTypes") or [])
        bisect, retries = (
            bool(props.get("BisectBatchOnFunctionError", False)),
            int(props.get("MaximumRetryAttempts", -1)),
        )
        self.delivery = Delivery(invoke, bisect, retries, report)
        self.stats = self.delivery.stats
        self._streams, self._send, self._function_arn, self._region = streams_client, send, function_arn, region
        self._poll_interval = poll_interval
        self._retry_delay = (lambda attempt: 0.005) if fast else (lambda attempt: min(30.0, 0.5 * 2 ** (attempt - 1)))
        self._discard_iterator = discard_iterator
        self._shard_id = ""
        self._last_read: str | None = None

    def _run(self) -> None:
        iterator: str | None = None
        buffer: list[Record] = []
        first_buffered = 0.0
        while not self._stop.is_set():
            try:
                if iterator is None:
                    iterator = self._open_iterator()
                    if iterator is None:
                        self._stop.wait(self._poll_interval)
                        continue
                seq = self._polled()
                if len(buffer) < self.batch_size:
                    response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                    if self._discard_iterator is not None:
                        self._discard_iterator(iterator)
                    # An idle consumer reopens from the last record read on the next poll, so it
                    # never holds an iterator for long (moto keeps every one it hands out;
                    # moto_patches keeps a cancelled transaction from reaching the stream).
                    iterator = response.get("NextShardIterator") if response.get("Records") else None
                    for raw in response.get("Records", []):
                        record = to_lambda_record(raw, self.stream_arn, self._region)
                        self._last_read = _sequence(record)
                        if matches_any(self.filters, record):
                            buffer.append(record)
                        else:
                            self.stats.records_filtered_out += 1
                if not buffer:
                    self._idle(seq)
                    self._stop.wait(self._poll_interval)
                    continue
                first_buffered = first_buffered or time.monotonic()
                waited = time.monotonic() - first_buffered
                if len(buffer) < self.batch_size and waited < self._window:
                    self._stop.wait(min(self._poll_interval, self._window - waited))
                    continue
                batch, buffer = buffer[: self.batch_size], buffer[self.batch_size :]
                first_buffered = time.monotonic() if buffer else 0.0
                self._deliver(batch)
            except Exception as exc:
                if self._stop.is_set():
                    return
                self.stats.last_error = repr(exc)
                log.exception("stream consumer %s: polling failed; retrying", self.name)
                iterator = None  # reopened after the last record read
                self._stop.wait(max(self._poll_interval, 0.5))

    def _open_iterator(self) -> str | None:
        description = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        shards = description.get("Shards") or []
        if not shards:
            return None
        self._shard_id = shards[0]["ShardId"]
        if self._last_read is None:
            position = {"ShardIteratorType": self.starting_position}
        else:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_read}
        response = self._streams.get_shard_iterator(StreamArn=self.stream_arn, ShardId=self._shard_id, **position)
        return str(response["ShardIterator"])

    def _process(self, records: list[Record]) -> None:
        delivery = self.delivery
        delivery.pending.append(Batch(records))
        while delivery.pending and not self._stop.is_set():
            batch = delivery.pending.popleft()
            if self._too_old(batch.records):
                delivery.stats.records_discarded += len(batch.records)
                self._discard(batch, "RecordAgeExceeded", function_error=False)
                continue
            outcome = delivery.invoke(batch.records)
            step, after = delivery.settle(batch, outcome)
            if step == "bisected":
                log.info("%s: batch of %d failed; bisecting", self.name, len(batch.records))
            elif step == "discard":
                self._discard(after, "RetryAttemptsExhausted", function_error=outcome.error is not None)
            elif step == "retry":
                self._stop.wait(self._retry_delay(after.attempts))
        delivery.pending.clear()  # stopped: what is left is read again by the next start

    def _too_old(self, records: list[Record]) -> bool:
        limit = self.maximum_record_age
        oldest = min(record["dynamodb"]["ApproximateCreationDateTime"] for record in records)
        return limit >= 0 and time.time() - float(oldest) > limit

    def _discard(self, batch: Batch, condition: str, *, function_error: bool) -> None:
        """Lambda's on-failure record for a batch given up on, sent to the SQS destination."""
        records, destination = batch.records, self.on_failure_destination
        first, last = _sequence(records[0]), _sequence(records[-1])
        created = [int(record["dynamodb"]["ApproximateCreationDateTime"]) for record in records]
        info: dict[str, Any] = {"shardId": self._shard_id, "startSequenceNumber": first, "endSequenceNumber": last}
        info |= {
            "approximateArrivalOfFirstRecord": _iso(min(created)),
            "approximateArrivalOfLastRecord": _iso(max(created)),
        }
        info |= {"batchSize": len(records), "streamArn": self.stream_arn}
        message = failure_record(self._function_arn, condition, batch.attempts, function_error, DDBStreamBatchInfo=info)
        sent = self._send(destination, message)
        self.stats.on_failure_messages += sent
        log.log(logging.WARNING if sent else logging.ERROR, "%s: %s for records %s..%s; %s", self.name, condition,
                first, last, f"sent to {destination}" if sent else "no on-failure queue, dropped")  # fmt: skip


def batching_window_of(props: Mapping[str, Any], override: float | None, fast: bool) -> float:
    """A mapping's MaximumBatchingWindowInSeconds, or the local cloud's override (fast: at most 50 ms)."""
    window = float(props.get("MaximumBatchingWindowInSeconds", 0))
    return override if override is not None else min(window, 0.05) if fast else window


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
