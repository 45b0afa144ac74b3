"""Storage and mail faults, injected below the production code at the botocore boundary.

:class:`StorageFaults` wraps ``botocore.client.BaseClient._make_api_call`` (every
boto3 and pynamodb call goes through it) for the length of a run. With seeded
probabilities it

* **throttles** a DynamoDB read or write before it reaches moto (``ThrottlingException``,
  as if botocore's own retries were exhausted): nothing is written (the webhook function
  and the catch-up store deliveries with ``PutItem``, which is throttled for them too);
* **crashes after a write**: performs the write, then raises :class:`SimulatedCrash`,
  as if the Lambda died before it saw the answer. This is "a crash between two writes":
  the allotter committed its release transaction but not its take transaction; the
  API committed an order but the webshop saw a 502;
* makes a **conditional check fail**: before a transaction, it performs a harmless
  concurrent write (``ADD version 1`` on a SKU or line item the transaction conditions
  on, as a concurrent recompute would), so the transaction's version condition fails
  and the code's retry path runs;
* **interleaves** another actor at the storage boundary: before a read or a transaction
  of the API or the planner, one allotter batch runs; before one of the allotter, one
  pending webshop request is delivered. That is how concurrent Lambdas meet in
  production, replayed deterministically;
* checks, after every write that touches a SKU balance, that ``available`` is still
  ``on_hand - allotted >= 0`` ("never negative, not even for a moment");
* lets an ``observe`` hook see every DynamoDB call a Lambda makes, before it and, when it
  succeeds, its answer (``invariants.OrderingWatch`` records what each planning read saw
  and checks every purchase order placement against it);
* fails SES sends (``ses_failure``). Notifications are not built yet, so nothing
  sends mail today; the switch is here so the notifier issue only has to turn it on.

``SimulatedCrash`` derives from ``BaseException``: production code that catches
``Exception`` (the API's error mapper, the allotter's per-SKU guard) cannot swallow
it, just as it could not swallow a real crash. The harness catches it at the Lambda
invocation boundary.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

THROTTLED_OPERATIONS = frozenset({"TransactWriteItems", "UpdateItem", "GetItem", "Query"})
PUT_THROTTLED_ACTORS = frozenset({"webhooks", "catchup"})  # they store deliveries with PutItem
WRITE_OPERATIONS = frozenset({"TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem"})
SES_SEND_OPERATIONS = frozenset({"SendEmail", "SendRawEmail", "SendTemplatedEmail", "SendBulkTemplatedEmail"})


class SimulatedCrash(BaseException):
    """The Lambda died here (after its write, before it saw the answer)."""


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities per call (storage) or per delivery (network, stream)."""

    # network between webshop and API
    duplicate_delivery: float = 0.08
    hold_back: float = 0.10  # deliver later, out of order
    lost_response: float = 0.06  # processed, but the webshop sees a failure and re-sends
    # webhooks (the same network for duplicates, held-back deliveries and lost answers)
    webhook_drop: float = 0.08  # Shopify gives up on a delivery: it never arrives
    webhook_unavailable: float = 0.04  # API Gateway answers 429 or 503 before the function runs
    # storage (DynamoDB)
    throttle: float = 0.03
    crash_after_write: float = 0.03
    conflict: float = 0.06
    interleave: float = 0.08
    # table stream -> allotter
    stream_duplicate_records: float = 0.15
    stream_batch_twice: float = 0.10
    stream_shuffle: float = 0.25
    # SES (no notifier yet: nothing sends mail)
    ses_failure: float = 0.0

    @classmethod
    def none(cls) -> FaultPlan:
        return cls(**{f.name: 0.0 for f in fields(cls)})

    def without(self, *names: str) -> FaultPlan:
        return type(self)(**{f.name: (0.0 if f.name in names else getattr(self, f.name)) for f in fields(self)})


@dataclass
class FaultStats:
    throttled: int = 0
    crashed_after_write: int = 0
    conflicts: int = 0
    interleaved: int = 0
    ses_failed: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)


def _client_error(code: str, operation: str, message: str = "simulated") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {}}, operation)


class StorageFaults:
    """The wrapper around ``BaseClient._make_api_call``; active inside :meth:`installed`."""

    def __init__(self, plan: FaultPlan, rng: random.Random) -> None:
        self.plan = plan
        self.rng = rng
        self.stats = FaultStats()
        self.enabled = False
        self.actor: str | None = None  # "api", "allotter", "planner", "webhooks", "catchup" while one runs
        self.commits = 0  # successful writes to the domain table while the current actor ran
        self.domain_table = ""  # set by the harness; other tables (idempotency) are bookkeeping
        self.violations: list[str] = []
        self.interleave_with: Callable[[str], None] | None = None  # set by the harness
        # set by the harness: called before each DynamoDB call of a Lambda; what it returns
        # is called with the answer once the call succeeded
        self.observe: Callable[[str, dict[str, Any]], Callable[[Any], None] | None] | None = None
        # one-shot faults for regression tests: a throttle before a call, a crash after a write
        self.throttle_when: Callable[[str, dict[str, Any]], bool] | None = None
        self.crash_when: Callable[[str, dict[str, Any]], bool] | None = None
        self._original = botocore.client.BaseClient._make_api_call
        self._depth = 0  # > 0 while the harness itself calls (no faults)

    # ------------------------------------------------------------ switching
    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        faults = self

        def _make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            return faults._call(client, operation, params)

        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]
        try:
            yield
        finally:
            botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Calls made by the harness (invariant reads, stream reads) see no faults."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    @contextlib.contextmanager
    def acting(self, actor: str) -> Iterator[None]:
        outer, outer_commits = self.actor, self.commits
        self.actor, self.commits = actor, 0
        try:
            yield
        finally:
            self.actor, self.commits = outer, outer_commits

    def raw(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        """The unwrapped call."""
        return self._original(client, operation, params)

    # ------------------------------------------------------------ the wrapper
    def _roll(self, p: float) -> bool:
        return p > 0 and self.rng.random() < p

    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        if self._depth or self.actor is None:
            return self._checked(client, service, operation, params)
        if not self.enabled:
            if self.throttle_when is not None and self.throttle_when(operation, params):
                self.throttle_when = None
                raise _client_error("ThrottlingException", operation, "planned throttling")
            result = self._checked(client, service, operation, params)
            if operation in WRITE_OPERATIONS and self._writes_domain(params):
                self.commits += 1
            if self.crash_when is not None and operation in WRITE_OPERATIONS and self.crash_when(operation, params):
                self.crash_when = None
                raise SimulatedCrash(f"{self.actor} crashed after {operation} (planned)")
            return result
        if service in ("ses", "sesv2") and operation in SES_SEND_OPERATIONS and self._roll(self.plan.ses_failure):
            self.stats.ses_failed += 1
            raise _client_error("Throttling", operation, "simulated SES failure")
        if service != "dynamodb":
            return self._original(client, operation, params)
        throttled = operation in THROTTLED_OPERATIONS or (operation == "PutItem" and self.actor in PUT_THROTTLED_ACTORS)
        if throttled and self._roll(self.plan.throttle):
            self._count("throttle:" + operation)
            self.stats.throttled += 1
            raise _client_error("ThrottlingException", operation, "simulated throttling")
        if operation == "TransactWriteItems" or operation in ("GetItem", "Query"):
            # another Lambda runs between this one's reads, or between its reads and its write
            chance = self.plan.interleave if operation == "TransactWriteItems" else self.plan.interleave / 4
            if self.interleave_with is not None and self._roll(chance):
                self.stats.interleaved += 1
                self.interleave_with(self.actor)
        if operation == "TransactWriteItems" and self._roll(self.plan.conflict):
            self._concurrent_write(client, params)
        result = self._checked(client, service, operation, params)
        if operation in WRITE_OPERATIONS:
            if self._writes_domain(params):
                self.commits += 1
            if self._roll(self.plan.crash_after_write):
                self._count("crash:" + operation)
                self.stats.crashed_after_write += 1
                raise SimulatedCrash(f"{self.actor} crashed after {operation}")
        return result

    def _checked(self, client: Any, service: str, operation: str, params: dict[str, Any]) -> Any:
        seen = None
        if service == "dynamodb" and self.observe is not None and self.actor is not None and not self._depth:
            seen = self.observe(operation, params)
        result = self._original(client, operation, params)
        if seen is not None:
            seen(result)
        if service == "dynamodb" and operation in WRITE_OPERATIONS:
            self._check_balances(client, operation, params)
        return result

    def _writes_domain(self, params: dict[str, Any]) -> bool:
        tables = {next(iter(e.values())).get("TableName") for e in params.get("TransactItems", [])}
        tables.add(params.get("TableName"))
        return self.domain_table in tables

    def _count(self, key: str) -> None:
        self.stats.by_operation[key] = self.stats.by_operation.get(key, 0) + 1

    # ------------------------------------------------------------ concurrent writer
    def _concurrent_write(self, client: Any, params: dict[str, Any]) -> None:
        """Bump the version of one conditioned SKU or line item, changing nothing else."""
        targets = []
        for entry in params.get("TransactItems", []):
            op_type, op = next(iter(entry.items()))
            if "ConditionExpression" not in op:
                continue
            key = op["Key"] if op_type != "Put" else {"pk": op["Item"]["pk"], "sk": op["Item"]["sk"]}
            sk = key["sk"]["S"]
            if sk == "SKU" or sk.startswith("LINE#"):
                targets.append((op["TableName"], key))
        if not targets:
            return
        table, key = targets[self.rng.randrange(len(targets))]
        try:
            self._original(
                client,
                "UpdateItem",
                {
                    "TableName": table,
                    "Key": key,
                    "UpdateExpression": "ADD #v :one",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {"#v": "version"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                },
            )
            self.stats.conflicts += 1
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    # ------------------------------------------------------------ "not even for a moment"
    def _check_balances(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        keys = []
        if operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                op = next(iter(entry.values()))
                key = op.get("Key") or {"pk": op["Item"]["pk"], "sk": op["Item"]["sk"]}
                if key["sk"]["S"] == "SKU":
                    keys.append((op["TableName"], key))
        elif params.get("Key", {}).get("sk", {}).get("S") == "SKU":
            keys.append((params["TableName"], params["Key"]))
        for table, key in keys:
            item = self._original(client, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True})
            attrs = item.get("Item") or {}
            if "on_hand" not in attrs:
                continue
            n = {name: int(attrs.get(name, {"N": "0"})["N"]) for name in ("on_hand", "allotted", "available", "locked")}
            problems = []
            if n["available"] != n["on_hand"] - n["allotted"]:
                problems.append("stored available != on_hand - allotted")
            counted = attrs.get("tracked", {}).get("BOOL", True)  # untracked products have no stock to protect
            if n["available"] < 0 and counted:
                problems.append("available < 0")
            if (n["on_hand"] < 0 and counted) or n["locked"] < 0 or n["locked"] > n["allotted"]:
                problems.append("on_hand < 0 or locked outside 0..allotted")
            if problems:
                self.violations.append(f"after {operation} by {self.actor}: {key['pk']['S']} {n}: {problems}")
