"""A capacity meter: DynamoDB request units counted the way on-demand billing counts
them, from each request and response, because moto reports no consumed capacity.

It wraps botocore's ``BaseClient._make_api_call``, which boto3 and pynamodb both go
through. The rules (DynamoDB Developer Guide: "Item sizes and formats", "Read and write
operations", "Global secondary indexes: provisioned throughput considerations",
"Transactions: capacity management"; DynamoDB on-demand pricing page):

Item size: the sum over attributes of the UTF-8 bytes of the name plus the value:
strings their UTF-8 bytes; numbers 1 byte per two significant digits (leading and
trailing zeroes trimmed) plus 1; binary the raw bytes; null and Boolean 1 byte; a list
or map 3 bytes plus, per element, 1 byte and its size (a map element also its name);
sets the sum of their elements.

Reads (4 KB units): GetItem rounds the item up to 4 KB; BatchGetItem rounds each item
on its own; Query and Scan round the *sum* of the items they evaluated, once per
response (an index query counts the projected index entries); eventually consistent
reads cost half, transactional reads twice; a read that finds nothing still costs the
minimum (1, or 0.5 eventually consistent, 2 transactional). Requesting fewer
attributes or a count changes nothing: the meter re-reads what was evaluated.

Writes (1 KB units): PutItem, UpdateItem and DeleteItem bill the larger of the item
before and after (a delete: the deleted item; nothing there: 1 unit); BatchWriteItem
rounds each item on its own; a transactional write costs twice, and a ConditionCheck
in a transaction costs like a transactional write of the item it checks; a failed
conditional write still costs: the existing item's size, or 1 unit when there is none
(a cancelled transaction: every action at twice that). To know the sizes the meter
reads each written item before and after the write itself, through the unwrapped
call (not counted; this makes metered runs slower, nothing else).

Index writes (1 KB units, never doubled): for each global secondary index of the table
(read once with DescribeTable): an item that enters or leaves the index costs one
write of its index entry; one whose index key changes costs two (delete the old entry,
put the new one); one that stays with a changed projection costs one (the larger
entry); an index entry is the projected attributes: the whole item for ``ALL``, the
table and index keys for ``KEYS_ONLY``, plus the named attributes for ``INCLUDE``.

Usage is kept in total, by operation, by table or ``table/index``, and by a tag the
caller sets (``with meter.tag("intake"):``); all under one lock, because the local
cloud calls handlers from several threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

KB = 1024
Item = Mapping[str, Any]  # attribute name -> AttributeValue ({"S": ...}, {"N": ...}, ...)

READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
FAILED_WRITE_CODES = frozenset({"ConditionalCheckFailedException", "TransactionCanceledException"})
_NARROWING = ("FilterExpression", "ProjectionExpression", "AttributesToGet", "QueryFilter", "ScanFilter", "Select")


# ---------------------------------------------------------------------- sizes


def number_size(raw: str) -> int:
    """1 byte per two significant digits, plus 1 (leading and trailing zeroes trimmed)."""
    mantissa = raw.strip().lower().lstrip("+-").split("e")[0]
    digits = mantissa.replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Size of one attribute value (without its name)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        return number_size(raw)
    if kind == "B":
        return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw).encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: v}) for v in raw)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Item | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def read_units(size: int, *, consistent: bool = True, transactional: bool = False) -> float:
    """Read request units of one read of ``size`` bytes (a miss is ``size`` 0)."""
    units = max(1, math.ceil(size / (4 * KB)))
    if transactional:
        return 2 * units
    return units if consistent else units / 2


def write_units(size: int, *, transactional: bool = False) -> int:
    units = max(1, math.ceil(size / KB))
    return 2 * units if transactional else units


# ---------------------------------------------------------------------- schemas


@dataclass(frozen=True)
class IndexSchema:
    name: str
    keys: tuple[str, ...]  # hash key, then range key if any
    projection: str = "ALL"  # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes: frozenset[str] = frozenset()

    def entry(self, item: Item | None, table_keys: Sequence[str]) -> dict[str, Any] | None:
        """The item's entry in this index, or None when it is not in it (sparse)."""
        if not item or any(k not in item for k in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        wanted = {*self.keys, *table_keys}
        if self.projection == "INCLUDE":
            wanted |= self.non_key_attributes
        return {k: v for k, v in item.items() if k in wanted}

    def key_of(self, entry: Item) -> tuple[Any, ...]:
        return tuple(_plain(entry[k]) for k in self.keys)


@dataclass(frozen=True)
class TableSchema:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[IndexSchema, ...] = ()

    @classmethod
    def from_description(cls, description: Mapping[str, Any]) -> TableSchema:
        table = description.get("Table", description)

        def keys(schema: Sequence[Mapping[str, str]]) -> tuple[str, ...]:
            ordered = sorted(schema, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
            return tuple(k["AttributeName"] for k in ordered)

        indexes = tuple(
            IndexSchema(
                name=gsi["IndexName"],
                keys=keys(gsi["KeySchema"]),
                projection=gsi.get("Projection", {}).get("ProjectionType", "ALL"),
                non_key_attributes=frozenset(gsi.get("Projection", {}).get("NonKeyAttributes", ())),
            )
            for gsi in table.get("GlobalSecondaryIndexes", ())
        )
        return cls(table["TableName"], keys(table["KeySchema"]), indexes)

    def key(self, item: Item) -> dict[str, Any]:
        return {k: item[k] for k in self.keys}

    def index(self, name: str) -> IndexSchema | None:
        return next((i for i in self.indexes if i.name == name), None)


def index_write_units(index: IndexSchema, table_keys: Sequence[str], before: Item | None, after: Item | None) -> int:
    """Write units an index takes for one base-table write (never doubled)."""
    old, new = index.entry(before, table_keys), index.entry(after, table_keys)
    if old is None and new is None:
        return 0
    if old is None:
        return write_units(item_size(new))  # enters the index
    if new is None:
        return write_units(item_size(old))  # leaves the index
    if index.key_of(old) != index.key_of(new):
        return write_units(item_size(old)) + write_units(item_size(new))  # delete + put
    if _plain_item(old) == _plain_item(new):
        return 0
    return write_units(max(item_size(old), item_size(new)))  # projected attributes changed


def _plain(value: Any) -> Any:
    """A hashable, comparable form of an AttributeValue (numbers compared as numbers)."""
    if isinstance(value, Mapping):
        ((kind, raw),) = value.items()
        if kind == "N":
            return ("N", _number(raw))
        if kind == "NS":
            return ("NS", frozenset(_number(v) for v in raw))
        if kind in ("SS", "BS"):
            return (kind, frozenset(raw))
        if kind == "L":
            return ("L", tuple(_plain(v) for v in raw))
        if kind == "M":
            return ("M", _plain_item(raw))
        return (kind, raw)
    return value


def _number(raw: str) -> Any:
    from decimal import Decimal

    return Decimal(raw).normalize()


def _plain_item(item: Item) -> frozenset[tuple[str, Any]]:
    return frozenset((k, _plain(v)) for k, v in item.items())


def _table_name(name_or_arn: str) -> str:
    return name_or_arn.rsplit("table/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn


# ---------------------------------------------------------------------- usage


@dataclass
class Usage:
    calls: int = 0
    read: float = 0.0  # read request units
    write: float = 0.0  # write request units of base-table items
    index_write: float = 0.0  # write request units of index entries
    items_read: int = 0

    @property
    def total_write(self) -> float:
        return self.write + self.index_write

    def add(self, other: Usage) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def copy(self) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) for f in fields(self)})

    def minus(self, other: Usage) -> Usage:
        return Usage(**{f.name: getattr(self, f.name) - getattr(other, f.name) for f in fields(self)})


@dataclass(frozen=True)
class WriteImage:
    """One item a write touched: its table, and the item before and after."""

    table: str
    before: Item | None
    after: Item | None
    action: str = "Put"  # Put | Update | Delete | ConditionCheck


@dataclass
class Meter:
    schemas: dict[str, TableSchema] = field(default_factory=dict)
    total: Usage = field(default_factory=Usage)
    by_operation: defaultdict[str, Usage] = field(default_factory=lambda: defaultdict(Usage))
    by_target: defaultdict[str, Usage] = field(default_factory=lambda: defaultdict(Usage))
    by_tag: defaultdict[str, Usage] = field(default_factory=lambda: defaultdict(Usage))

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._local = threading.local()

    # -------------------------------------------------------------- totals (compatible names)
    @property
    def read_units(self) -> float:
        return self.total.read

    @property
    def write_units(self) -> float:
        """Base-table and index writes."""
        return self.total.total_write

    @property
    def index_write_units(self) -> float:
        return self.total.index_write

    @property
    def items_read(self) -> int:
        return self.total.items_read

    @property
    def calls(self) -> Counter[str]:
        with self._lock:
            return Counter({op: u.calls for op, u in self.by_operation.items()})

    # -------------------------------------------------------------- tags and pauses (per thread)
    @contextmanager
    def tag(self, name: str) -> Iterator[None]:
        """Also count what this thread does inside the block under ``name`` (innermost wins)."""
        previous = getattr(self._local, "tag", None)
        self._local.tag = name
        try:
            yield
        finally:
            self._local.tag = previous

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Do not count what this thread does inside the block (bookkeeping reads)."""
        previous = getattr(self._local, "paused", False)
        self._local.paused = True
        try:
            yield
        finally:
            self._local.paused = previous

    @property
    def is_paused(self) -> bool:
        return bool(getattr(self._local, "paused", False))

    def overhead(self) -> float:
        """Seconds this thread spent in the meter's own (uncounted) calls."""
        return float(getattr(self._local, "overhead", 0.0))

    def _add_overhead(self, seconds: float) -> None:
        self._local.overhead = self.overhead() + seconds

    def tagged(self) -> dict[str, Usage]:
        with self._lock:
            return {k: v.copy() for k, v in self.by_tag.items()}

    # -------------------------------------------------------------- accounting
    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str | None, Usage]]]:
        """Collect what this thread is charged inside the block, for ``replay``."""
        charges: list[tuple[str, str | None, Usage]] = []
        previous = getattr(self._local, "recording", None)
        self._local.recording = charges
        try:
            yield charges
        finally:
            self._local.recording = previous

    def replay(self, charges: list[tuple[str, str | None, Usage]]) -> None:
        """Charge again what a recorded block was charged (under the current tag): for a
        benchmark that skips re-running a read-only step whose inputs did not change."""
        for operation, target, usage in charges:
            self._add(operation, target, usage)

    def _add(self, operation: str, target: str | None, usage: Usage) -> None:
        tag = getattr(self._local, "tag", None)
        recording = getattr(self._local, "recording", None)
        with self._lock:
            self.total.add(usage)
            self.by_operation[operation].add(usage)
            if target is not None:
                self.by_target[target].add(usage)
            if tag is not None:
                self.by_tag[tag].add(usage)
        if recording is not None:
            recording.append((operation, target, usage))

    def _charge(
        self,
        operation: str,
        target: str,
        *,
        read: float = 0.0,
        write: float = 0.0,
        index_write: float = 0.0,
        items_read: int = 0,
    ) -> None:
        self._add(operation, target, Usage(0, read, write, index_write, items_read))

    def _count_call(self, operation: str) -> None:
        self._add(operation, None, Usage(calls=1))

    def schema(self, table: str) -> TableSchema | None:
        with self._lock:
            return self.schemas.get(_table_name(table))

    def add_schema(self, schema: TableSchema) -> None:
        with self._lock:
            self.schemas[schema.name] = schema

    # -------------------------------------------------------------- observe (pure: no I/O)
    def observe(
        self,
        operation: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any] | None = None,
        *,
        images: Sequence[WriteImage] = (),
        error: str | None = None,
        evaluated: Any = None,
    ) -> None:
        """Count one call from its request and response.

        ``images``: for writes, the items touched before and after, in request order.
        ``error``: the error code when the call failed (failed conditional writes and
        cancelled transactions still cost; other errors cost nothing).
        ``evaluated``: for reads whose response hides what was read (filters,
        projections, counts), the items DynamoDB evaluated: an item (GetItem), a list
        (Query, Scan), ``{table: [items]}`` (BatchGetItem) or a list per action
        (TransactGetItems).
        """
        self._count_call(operation)
        response = response or {}
        if error is not None and error not in FAILED_WRITE_CODES:
            return
        if operation in READS:
            self._observe_read(operation, params, response, evaluated)
        elif operation in WRITES:
            self._observe_write(operation, params, images, failed=error is not None)

    def _observe_read(
        self, operation: str, params: Mapping[str, Any], response: Mapping[str, Any], evaluated: Any
    ) -> None:
        if operation == "GetItem":
            item = evaluated if evaluated is not None else response.get("Item")
            self._charge(
                operation,
                _table_name(params["TableName"]),
                read=read_units(item_size(item), consistent=bool(params.get("ConsistentRead"))),
                items_read=1 if item else 0,
            )
        elif operation in ("Query", "Scan"):
            items = list(evaluated if evaluated is not None else response.get("Items") or [])
            table = _table_name(params["TableName"])
            index_name = params.get("IndexName")
            target = table
            if index_name:
                target = f"{table}/{index_name}"
                schema = self.schema(table)
                index = schema.index(index_name) if schema else None
                if index is not None and schema is not None:
                    items = [e for e in (index.entry(i, schema.keys) for i in items) if e is not None]
            size = sum(item_size(i) for i in items)
            self._charge(
                operation,
                target,
                read=read_units(size, consistent=bool(params.get("ConsistentRead"))),
                items_read=len(items),
            )
        elif operation == "BatchGetItem":
            found: Mapping[str, Any] = evaluated if evaluated is not None else response.get("Responses") or {}
            unprocessed = response.get("UnprocessedKeys") or {}
            for table_ref, request in (params.get("RequestItems") or {}).items():
                table = _table_name(table_ref)
                schema = self.schema(table)
                consistent = bool(request.get("ConsistentRead"))
                skipped = {_key_id(k) for k in (unprocessed.get(table_ref) or {}).get("Keys", [])}
                by_key = {}
                for item in found.get(table_ref, []):
                    key = schema.key(item) if schema else {}
                    by_key[_key_id(key)] = item
                for key in request.get("Keys", []):
                    if _key_id(key) in skipped:
                        continue
                    item = by_key.get(_key_id(key))
                    self._charge(
                        operation,
                        table,
                        read=read_units(item_size(item), consistent=consistent),
                        items_read=1 if item else 0,
                    )
        elif operation == "TransactGetItems":
            answers = evaluated if evaluated is not None else [r.get("Item") for r in response.get("Responses") or []]
            for i, entry in enumerate(params.get("TransactItems", [])):
                item = answers[i] if i < len(answers) else None
                self._charge(
                    operation,
                    _table_name(entry["Get"]["TableName"]),
                    read=read_units(item_size(item), transactional=True),
                    items_read=1 if item else 0,
                )

    def _observe_write(
        self, operation: str, params: Mapping[str, Any], images: Sequence[WriteImage], *, failed: bool
    ) -> None:
        transactional = operation == "TransactWriteItems"
        for image in images:
            table = _table_name(image.table)
            before_size = item_size(image.before)
            if failed:
                # nothing was written: the existing item's size, or 1 unit when none
                self._charge(operation, table, write=write_units(before_size, transactional=transactional))
                continue
            if image.action == "ConditionCheck":
                self._charge(operation, table, write=write_units(before_size, transactional=True))
                continue
            size = max(before_size, item_size(image.after))
            self._charge(operation, table, write=write_units(size, transactional=transactional))
            schema = self.schema(table)
            for index in schema.indexes if schema else ():
                units = index_write_units(index, schema.keys if schema else (), image.before, image.after)
                if units:
                    self._charge(operation, f"{table}/{index.name}", index_write=units)

    # -------------------------------------------------------------- live calls
    def call(
        self, client: Any, original: Callable[..., Any], operation: str, params: dict[str, Any], reader: ImageReader
    ) -> Any:
        """Make the call and count it (the wrapper around ``_make_api_call``)."""
        if (operation not in READS and operation not in WRITES) or self.is_paused:
            return original(client, operation, params)

        def raw(op: str, p: dict[str, Any]) -> Any:
            started = time.perf_counter()
            try:
                return original(client, op, p)
            finally:
                self._add_overhead(time.perf_counter() - started)

        for table in _tables_of(operation, params):
            if self.schema(table) is None:
                self.add_schema(TableSchema.from_description(raw("DescribeTable", {"TableName": table})))
        if operation in READS:
            try:
                response = original(client, operation, params)
            except ClientError as exc:
                self.observe(operation, params, exc.response, error=_code(exc))
                raise
            self.observe(operation, params, response, evaluated=self._evaluated(raw, operation, params, response))
            return response
        with self._write_lock:  # before, write, after: no other metered write in between
            targets = self._targets(operation, params)
            started = time.perf_counter()
            befores = [reader(client, original, table, key) for table, key, _ in targets]
            self._add_overhead(time.perf_counter() - started)
            try:
                response = original(client, operation, params)
            except ClientError as exc:
                images = [WriteImage(t, b, b, a) for (t, _, a), b in zip(targets, befores, strict=True)]
                self.observe(operation, params, exc.response, images=images, error=_code(exc))
                raise
            skipped = _unprocessed_writes(operation, response)
            started = time.perf_counter()
            images = [
                WriteImage(table, before, reader(client, original, table, key), action)
                for (table, key, action), before in zip(targets, befores, strict=True)
                if (table, _key_id(key)) not in skipped
            ]
            self._add_overhead(time.perf_counter() - started)
            self.observe(operation, params, response, images=images)
            return response

    def _targets(self, operation: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
        def key(table: str, body: Mapping[str, Any]) -> dict[str, Any]:
            if "Key" in body:
                return dict(body["Key"])
            schema = self.schema(table)
            assert schema is not None, table
            return schema.key(body["Item"])

        if operation == "TransactWriteItems":
            out = []
            for entry in params.get("TransactItems", []):
                ((action, body),) = entry.items()
                out.append((body["TableName"], key(body["TableName"], body), action))
            return out
        if operation == "BatchWriteItem":
            out = []
            for table, requests in (params.get("RequestItems") or {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        out.append((table, key(table, request["PutRequest"]), "Put"))
                    else:
                        out.append((table, key(table, request["DeleteRequest"]), "Delete"))
            return out
        action = {"PutItem": "Put", "UpdateItem": "Update", "DeleteItem": "Delete"}[operation]
        return [(params["TableName"], key(params["TableName"], params), action)]

    def _evaluated(
        self,
        raw: Callable[[str, dict[str, Any]], Any],
        operation: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any],
    ) -> Any:
        """What DynamoDB read, when the response hides it (projections, filters, counts)."""
        if operation == "GetItem":
            if response.get("Item") and ("ProjectionExpression" in params or "AttributesToGet" in params):
                full = {k: v for k, v in params.items() if k in ("TableName", "Key", "ConsistentRead")}
                return raw("GetItem", full).get("Item")
            return None
        if operation in ("Query", "Scan"):
            if not any(k in params for k in _NARROWING):
                return None
            scanned = int(response.get("ScannedCount", response.get("Count", 0)))
            if scanned == 0:
                return []
            again = {k: v for k, v in params.items() if k not in _NARROWING and k != "Limit"}
            again["Limit"] = scanned
            _drop_unused_placeholders(again)
            return raw(operation, again).get("Items") or []
        if operation == "BatchGetItem":
            requests = params.get("RequestItems") or {}
            if not any("ProjectionExpression" in r or "AttributesToGet" in r for r in requests.values()):
                return None
            out: dict[str, list[Any]] = {}
            for table, items in (response.get("Responses") or {}).items():
                schema = self.schema(table)
                out[table] = []
                for item in items:
                    key = schema.key(item) if schema else {}
                    full = raw("GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get("Item")
                    out[table].append(full or item)
            return out
        return None


def _key_id(key: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted((k, _plain(v)) for k, v in key.items()))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _tables_of(operation: str, params: Mapping[str, Any]) -> list[str]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return list((params.get("RequestItems") or {}).keys())
    if operation in ("TransactWriteItems", "TransactGetItems"):
        return [next(iter(e.values()))["TableName"] for e in params.get("TransactItems", [])]
    return [params["TableName"]] if "TableName" in params else []


def _unprocessed_writes(operation: str, response: Mapping[str, Any]) -> set[tuple[str, tuple[Any, ...]]]:
    if operation != "BatchWriteItem":
        return set()
    out = set()
    for table, requests in (response.get("UnprocessedItems") or {}).items():
        for request in requests:
            body = request.get("PutRequest") or request.get("DeleteRequest") or {}
            out.add((table, _key_id(body.get("Key") or body.get("Item") or {})))
    return out


def _drop_unused_placeholders(params: dict[str, Any]) -> None:
    expression = " ".join(str(params.get(k, "")) for k in ("KeyConditionExpression",))
    for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
        if name in params:
            kept = {k: v for k, v in params[name].items() if k in expression}
            if kept:
                params[name] = kept
            else:
                del params[name]


# ---------------------------------------------------------------------- wiring

ImageReader = Callable[[Any, Callable[..., Any], str, dict[str, Any]], Item | None]


def client_images(client: Any, original: Callable[..., Any], table: str, key: dict[str, Any]) -> Item | None:
    """Read an item through the unwrapped call (works against any endpoint)."""
    item: Item | None = original(client, "GetItem", {"TableName": table, "Key": key, "ConsistentRead": True}).get(
        "Item"
    )
    return item


def moto_images(client: Any, original: Callable[..., Any], table: str, key: dict[str, Any]) -> Item | None:
    """Read an item straight from in-process moto (``mock_aws``): no request at all."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][client.meta.region_name]
    found = backend.get_item(_table_name(table), key)
    return found.to_json()["Attributes"] if found is not None else None


@contextmanager
def metered(meter: Meter | None = None, *, images: ImageReader = client_images) -> Iterator[Meter]:
    """Count every DynamoDB call made inside the block (any client, any thread)."""
    meter = meter if meter is not None else Meter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name != "dynamodb":
            return original(self, operation, params)
        return meter.call(self, original, operation, params, images)

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
