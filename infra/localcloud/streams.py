"""DynamoDB stream -> Lambda delivery, as an event source mapping does it.

One :class:`StreamConsumer` per DynamoDB ``AWS::Lambda::EventSourceMapping`` of a function. It polls
the table's stream in a background thread (``describe_stream``,
``get_shard_iterator`` with the ``StartingPosition``, ``get_records``), turns moto's
records into the Lambda event shape and invokes the function, honouring:

* ``BatchSize`` and ``MaximumBatchingWindowInSeconds`` (the window can be shortened);
* ``FilterCriteria``: records that match no filter are skipped (and checkpointed);
* ``FunctionResponseTypes: [ReportBatchItemFailures]``: the lowest reported
  sequence number is the checkpoint; every record from it on is delivered again,
  including ones that succeeded. A malformed response fails the whole batch;
* ``BisectBatchOnFunctionError``: a batch whose invocation raised is split in half
  and the halves are retried in order (a split uses no retry attempt). With a
  partial-batch response the batch is split at the reported sequence number;
* ``MaximumRetryAttempts`` and ``MaximumRecordAgeInSeconds``: when exhausted, the
  batch is sent to ``DestinationConfig.OnFailure`` (SQS) as Lambda's on-failure
  record and processing moves past it.

Processing is in order and one batch at a time (moto has one shard).
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .filters import compile_filters, matches_any
from .template import EventSpec

__all__ = ["StreamConsumer", "StreamSourceConfig", "to_lambda_record"]

log = logging.getLogger("localcloud")

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"


@dataclass(frozen=True)
class StreamSourceConfig:
    """One DynamoDB event source mapping of a function, with its properties resolved."""

    function_id: str
    event_name: str
    stream_arn: str
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    batching_window: float = 0.0
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age: int = -1
    report_batch_item_failures: bool = False
    on_failure_destination: str | None = None
    filters: tuple[Any, ...] = ()  # compiled FilterCriteria (filters.compile_filters)
    enabled: bool = True

    @classmethod
    def from_event(cls, function_id: str, event: EventSpec) -> StreamSourceConfig:
        """``event.properties`` must already be resolved (``EventSourceArn`` is the stream ARN)."""
        props = event.properties
        destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return cls(
            function_id=function_id,
            event_name=event.name,
            stream_arn=str(props["EventSourceArn"]),
            starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
            batch_size=int(props.get("BatchSize", 100)),
            batching_window=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            maximum_record_age=int(props.get("MaximumRecordAgeInSeconds", -1)),
            report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES in (props.get("FunctionResponseTypes") or []),
            on_failure_destination=str(destination) if destination else None,
            filters=tuple(compile_filters(props.get("FilterCriteria"))),
            enabled=bool(props.get("Enabled", True)),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | set | tuple):
        return [_jsonable(item) for item in value]
    return value


def to_lambda_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    """A ``get_records`` record (as boto3 returns it) in the shape Lambda delivers."""
    ddb = dict(record.get("dynamodb") or {})
    created = ddb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created_seconds = int(created.timestamp())
    elif created is None:
        created_seconds = int(time.time())
    else:
        created_seconds = int(float(created))
    dynamodb: dict[str, Any] = {"ApproximateCreationDateTime": created_seconds}
    for key in ("Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"):
        if key in ddb:
            dynamodb[key] = _jsonable(ddb[key])
    result: dict[str, Any] = {
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


@dataclass
class _Outcome:
    ok: bool
    failed_index: int | None = None  # partial batch failure: first record to deliver again
    function_error: bool = False
    message: str = ""


@dataclass
class ConsumerStats:
    invocations: int = 0
    records_delivered: int = 0
    records_filtered_out: int = 0
    failed_invocations: int = 0
    records_discarded: int = 0
    on_failure_messages: int = 0
    last_error: str | None = None


def _sequence(record: Mapping[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


class StreamConsumer:
    """Polls one DynamoDB stream and invokes one function with its records."""

    def __init__(
        self,
        config: StreamSourceConfig,
        *,
        invoke: Callable[[dict[str, Any]], Any],
        streams_client: Any,
        sqs_client: Any,
        queue_url_for_arn: Callable[[str], str | None],
        function_arn: str,
        region: str,
        poll_interval: float = 0.25,
        batching_window: float | None = None,
        retry_delay: Callable[[int], float] | None = None,
        discard_iterator: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self.name = f"{config.function_id}.{config.event_name}"
        self._invoke_function = invoke
        self._streams = streams_client
        self._sqs = sqs_client
        self._queue_url_for_arn = queue_url_for_arn
        self._function_arn = function_arn
        self._region = region
        self._poll_interval = poll_interval
        self._window = config.batching_window if batching_window is None else batching_window
        self._retry_delay = retry_delay or (lambda attempt: min(30.0, 0.5 * 2 ** (attempt - 1)))
        self._discard_iterator = discard_iterator
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._poll_seq = 0
        self._idle_seq = 0
        self._completed_batches = 0
        self._busy = False
        self._shard_id = ""
        self._last_read: str | None = None
        self.stats = ConsumerStats()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"localcloud-stream-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("stream consumer %s did not stop within %.0f s", self.name, timeout)

    # ------------------------------------------------------------ quiescence

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

    # ------------------------------------------------------------ polling

    def _run(self) -> None:
        iterator: str | None = None
        buffer: list[dict[str, Any]] = []
        first_buffered = 0.0
        while not self._stop.is_set():
            try:
                if iterator is None:
                    iterator = self._open_iterator()
                    if iterator is None:
                        self._stop.wait(self._poll_interval)
                        continue
                with self._cond:
                    self._poll_seq += 1
                    seq = self._poll_seq
                if len(buffer) < self.config.batch_size:
                    response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                    if self._discard_iterator is not None:
                        self._discard_iterator(iterator)
                    iterator = response.get("NextShardIterator")
                    if not response.get("Records"):
                        # Reopen from the last record read on the next poll, so an idle
                        # consumer never holds an iterator for long (moto keeps every one
                        # it hands out; moto_patches keeps a cancelled transaction from
                        # reaching the stream, also for an iterator held meanwhile).
                        iterator = None
                    for raw in response.get("Records", []):
                        record = to_lambda_record(raw, self.config.stream_arn, self._region)
                        self._last_read = _sequence(record)
                        if matches_any(self.config.filters, record):
                            buffer.append(record)
                        else:
                            self.stats.records_filtered_out += 1
                if not buffer:
                    with self._cond:
                        self._idle_seq = seq
                        self._cond.notify_all()
                    self._stop.wait(self._poll_interval)
                    continue
                if first_buffered == 0.0:
                    first_buffered = time.monotonic()
                waited = time.monotonic() - first_buffered
                if len(buffer) < self.config.batch_size and waited < self._window:
                    self._stop.wait(min(self._poll_interval, self._window - waited))
                    continue
                batch, buffer = buffer[: self.config.batch_size], buffer[self.config.batch_size :]
                first_buffered = time.monotonic() if buffer else 0.0
                with self._cond:
                    self._busy = True
                try:
                    self._process(batch)
                finally:
                    with self._cond:
                        self._busy = False
                        self._completed_batches += 1
                        self._cond.notify_all()
            except Exception as exc:
                if self._stop.is_set():
                    return
                self.stats.last_error = repr(exc)
                log.exception("stream consumer %s: polling failed; retrying", self.name)
                iterator = None  # reopened after the last record read
                self._stop.wait(max(self._poll_interval, 0.5))

    def _open_iterator(self) -> str | None:
        description = self._streams.describe_stream(StreamArn=self.config.stream_arn)["StreamDescription"]
        shards = description.get("Shards") or []
        if not shards:
            return None
        self._shard_id = shards[0]["ShardId"]
        if self._last_read is None:
            position = {"ShardIteratorType": self.config.starting_position}
        else:
            position = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._last_read}
        response = self._streams.get_shard_iterator(
            StreamArn=self.config.stream_arn, ShardId=self._shard_id, **position
        )
        return str(response["ShardIterator"])

    # ------------------------------------------------------------ one batch

    def _process(self, records: list[dict[str, Any]]) -> None:
        work: deque[tuple[list[dict[str, Any]], int]] = deque([(records, 0)])
        while work and not self._stop.is_set():
            batch, failed_attempts = work.popleft()
            if self._too_old(batch):
                self._discard(batch, "RecordAgeExceeded", failed_attempts, function_error=False)
                continue
            outcome = self._invoke(batch)
            if outcome.ok:
                continue
            if outcome.failed_index is not None:
                # Everything before the lowest failed sequence number is checkpointed.
                batch = batch[outcome.failed_index :]
            elif self.config.bisect_on_error and len(batch) > 1:
                middle = len(batch) // 2
                log.info("%s: batch of %d failed; bisecting", self.name, len(batch))
                work.appendleft((batch[middle:], failed_attempts))
                work.appendleft((batch[:middle], failed_attempts))
                continue
            failed_attempts += 1
            limit = self.config.maximum_retry_attempts
            if limit >= 0 and failed_attempts > limit:
                self._discard(batch, "RetryAttemptsExhausted", failed_attempts, outcome.function_error)
                continue
            self._stop.wait(self._retry_delay(failed_attempts))
            work.appendleft((batch, failed_attempts))

    def _too_old(self, batch: list[dict[str, Any]]) -> bool:
        limit = self.config.maximum_record_age
        if limit < 0:
            return False
        oldest = min(record["dynamodb"]["ApproximateCreationDateTime"] for record in batch)
        return time.time() - float(oldest) > limit

    def _invoke(self, batch: list[dict[str, Any]]) -> _Outcome:
        event = {"Records": copy.deepcopy(batch)}
        self.stats.invocations += 1
        self.stats.records_delivered += len(batch)
        try:
            result = self._invoke_function(event)
        except Exception as exc:
            self.stats.failed_invocations += 1
            self.stats.last_error = repr(exc)
            return _Outcome(ok=False, function_error=True, message=repr(exc))
        if not self.config.report_batch_item_failures:
            return _Outcome(ok=True)
        outcome = self._partial_outcome(batch, result)
        if not outcome.ok:
            self.stats.failed_invocations += 1
            self.stats.last_error = outcome.message
        return outcome

    def _partial_outcome(self, batch: list[dict[str, Any]], result: Any) -> _Outcome:
        if not isinstance(result, Mapping):
            return _Outcome(ok=True)  # a null or non-object response is a complete success
        failures = result.get("batchItemFailures")
        if not failures:
            return _Outcome(ok=True)
        positions = {_sequence(record): index for index, record in enumerate(batch)}
        if not isinstance(failures, list):
            return _Outcome(ok=False, message=f"invalid batchItemFailures {failures!r}")
        indexes = []
        for item in failures:
            identifier = item.get("itemIdentifier") if isinstance(item, Mapping) else None
            if not isinstance(identifier, str) or identifier not in positions:
                # An empty, null or unknown itemIdentifier fails the whole batch.
                return _Outcome(ok=False, message=f"invalid batch item failure {item!r}")
            indexes.append(positions[identifier])
        return _Outcome(ok=False, failed_index=min(indexes), message=f"{len(indexes)} batch item failure(s)")

    # ------------------------------------------------------------ giving up

    def _discard(self, batch: list[dict[str, Any]], condition: str, invoke_count: int, function_error: bool) -> None:
        self.stats.records_discarded += len(batch)
        first, last = _sequence(batch[0]), _sequence(batch[-1])
        created = [int(record["dynamodb"]["ApproximateCreationDateTime"]) for record in batch]
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response_context["functionError"] = "Unhandled"
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self._function_arn,
                "condition": condition,
                "approximateInvokeCount": invoke_count,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": self._shard_id,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "approximateArrivalOfFirstRecord": _iso(min(created)),
                "approximateArrivalOfLastRecord": _iso(max(created)),
                "batchSize": len(batch),
                "streamArn": self.config.stream_arn,
            },
        }
        destination = self.config.on_failure_destination
        queue_url = self._queue_url_for_arn(destination) if destination else None
        if queue_url is None:
            log.error(
                "%s: %s for records %s..%s; no SQS on-failure destination, records dropped",
                self.name,
                condition,
                first,
                last,
            )
            return
        body = json.dumps(message)
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        self.stats.on_failure_messages += 1
        log.warning("%s: %s for records %s..%s; sent to %s", self.name, condition, first, last, destination)


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
