"""The planner's queue (SQS, template.yaml ``PlanQueue``): the allotter asks for suppliers
to be replanned (decision 56) and the API hands over large imports (decision 63); the
planner function takes both in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from backorders.domain.errors import Throttled

BATCH = 10  # SendMessageBatch's limit


class ReplanQueue:
    def __init__(self, url: str, *, region: str) -> None:
        self.url, self.region = url, region
        self._client: Any = None

    def _sqs(self) -> Any:
        if self._client is None:
            import boto3  # on first use: a recompute that asks for nothing pays no import

            # the endpoint is boto3's own choice: AWS, or AWS_ENDPOINT_URL(_SQS) locally
            self._client = boto3.client("sqs", region_name=self.region)
        return self._client

    def request(self, suppliers: Iterable[str]) -> None:
        """One message per supplier; raises when SQS did not take every one."""
        wanted = sorted(set(suppliers))
        for start in range(0, len(wanted), BATCH):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps({"supplier": supplier})}
                for n, supplier in enumerate(wanted[start : start + BATCH])
            ]
            answer = self._sqs().send_message_batch(QueueUrl=self.url, Entries=entries)
            if failed := answer.get("Failed"):
                if all(f.get("SenderFault") is False for f in failed):
                    raise Throttled("the replan queue refused requests for now, retry")
                raise RuntimeError(f"the replan queue refused {len(failed)} request(s): {failed[0].get('Code')}")

    def start_import(self, job_id: str) -> None:
        self._sqs().send_message(QueueUrl=self.url, MessageBody=json.dumps({"import": job_id}))


def imports_of(event: dict[str, Any]) -> dict[str, str]:
    """An SQS event's import jobs as message id -> job id."""
    return _named(event, "import")


def suppliers_of(event: dict[str, Any]) -> dict[str, str]:
    """An SQS event's replan requests as message id -> supplier."""
    return _named(event, "supplier")


def _named(event: dict[str, Any], name: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for record in event.get("Records") or []:
        try:
            value = json.loads(record.get("body") or "{}").get(name)
        except (ValueError, AttributeError):
            value = None
        if isinstance(value, str) and value:
            found[str(record.get("messageId"))] = value
    return found
