"""SQS -> Lambda, as an event source mapping delivers it: long-poll the queue, gather up
to BatchSize messages within the batching window, invoke with Lambda's SQS event, then
delete what succeeded (all, or all but the reported ``batchItemFailures``). What is not
deleted comes back after the queue's visibility timeout, and moto's RedrivePolicy moves
it to the dead-letter queue after maxReceiveCount receives, as SQS does."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any

from .streams import REPORT_BATCH_ITEM_FAILURES, Poller, batching_window_of

__all__ = ["SqsConsumer", "to_lambda_message"]

log = logging.getLogger("localcloud")
_NO_LISTS: dict[str, list[Any]] = {"stringListValues": [], "binaryListValues": []}


def to_lambda_message(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A ReceiveMessage message (as boto3 returns it) in the shape Lambda delivers."""
    body = str(message.get("Body", ""))
    attributes = {
        name: str(message.get("Attributes", {}).get(name, ""))
        for name in ("ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp")
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": attributes,
        "messageAttributes": {
            name: {
                **{k[0].lower() + k[1:]: v for k, v in value.items()},
                "stringListValues": [],
                "binaryListValues": [],
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class SqsConsumer(Poller):
    """Polls one queue of the stack and invokes one function, as the mapping ``props`` says."""

    def __init__(
        self,
        name: str,
        props: Mapping[str, Any],
        *,
        invoke: Callable[[dict[str, Any]], Any],
        sqs_client: Any,
        queue_url: str,
        region: str,
        poll_interval: float = 0.25,
        batching_window: float | None = None,
        fast: bool = False,
    ) -> None:
        super().__init__()
        self.name, self.queue_arn, self.queue_url = name, str(props["EventSourceArn"]), queue_url
        self.batch_size = int(props.get("BatchSize", 10))
        self.report = REPORT_BATCH_ITEM_FAILURES in (props.get("FunctionResponseTypes") or [])
        self._window = batching_window_of(props, batching_window, fast)
        self._invoke, self._sqs, self._region, self._poll_interval = invoke, sqs_client, region, poll_interval
        self.stats = SimpleNamespace(invocations=0, messages_delivered=0, messages_failed=0, last_error=None)

    def _receive(self, wanted: int) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(10, wanted),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [to_lambda_message(m, self.queue_arn, self._region) for m in answer.get("Messages", [])]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                seq = self._polled()
                batch = self._receive(self.batch_size)
                if not batch:
                    self._idle(seq)
                    self._stop.wait(self._poll_interval)
                    continue
                deadline = time.monotonic() + self._window
                while len(batch) < self.batch_size and time.monotonic() < deadline and not self._stop.is_set():
                    more = self._receive(self.batch_size - len(batch))
                    batch.extend(more)
                    if not more:
                        self._stop.wait(min(self._poll_interval, max(0.0, deadline - time.monotonic())))
                self._deliver(batch)
            except Exception as exc:
                if self._stop.is_set():
                    return
                self.stats.last_error = repr(exc)
                log.exception("%s: polling failed; retrying", self.name)
                self._stop.wait(max(self._poll_interval, 0.5))

    def _process(self, batch: list[dict[str, Any]]) -> None:
        self.stats.invocations += 1
        self.stats.messages_delivered += len(batch)
        try:
            result = self._invoke({"Records": batch})
        except Exception as exc:
            self.stats.messages_failed += len(batch)
            self.stats.last_error = repr(exc)
            return  # nothing deleted: every message comes back after the visibility timeout
        failures = (result or {}).get("batchItemFailures") if self.report and isinstance(result, Mapping) else None
        failed = {str(item.get("itemIdentifier")) for item in failures or [] if isinstance(item, Mapping)}
        if failures and not failed <= {m["messageId"] for m in batch}:
            failed = {m["messageId"] for m in batch}  # an unknown identifier fails the whole batch
        self.stats.messages_failed += len(failed)
        done = [m for m in batch if m["messageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(n), "ReceiptHandle": m["receiptHandle"]} for n, m in enumerate(done[start : start + 10])
            ]
            self._sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
