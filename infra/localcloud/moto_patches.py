"""Changes to moto 5.2's DynamoDB: roll a cancelled transaction back in place, write the
stream records DynamoDB writes, query only candidate items, dump data-plane responses as
JSON directly. Each is reported upstream (docs/moto-upstream.md: what moto does, what AWS
does, a reproduction, the fix); ``tests/integration/test_moto_patches.py`` checks answers."""

from __future__ import annotations

import calendar
import contextlib
import copy as _copy
import json
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

from moto.core.responses import ActionResult
from moto.dynamodb import models as ddb_models
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamShard, Table

__all__ = ["FAST_OPERATIONS", "patched_moto"]

_original_transact = ddb_models.DynamoDBBackend.transact_write_items
_original_update = ddb_models.DynamoDBBackend.update_item
_original_stream_add = StreamShard.add
_original_query = Table.query
_original_execute = ActionResult.execute_result


# ---------------------------------------------------------------- transactions


def _deepcopy_but_not_tables(value: Any, memo: Any = None) -> Any:
    if isinstance(value, Table):
        return value  # the rollback below restores what the transaction touched
    return _copy.deepcopy(value, memo)


_shim = SimpleNamespace(**{name: getattr(_copy, name) for name in ("copy", "error", "Error")})
_shim.deepcopy = _deepcopy_but_not_tables


def _key_of(table: Table, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type == "Put":
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key
    return dict(op["Key"])


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    saved: list[tuple[Table, Any, Any, Any]] = []
    stream_lengths: dict[str, tuple[Table, int]] = {}
    try:
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            hash_key, range_key = self.get_keys_value(table, _key_of(table, op_type, op))
            saved.append((table, hash_key, range_key, _copy.deepcopy(table.get_item(hash_key, range_key))))
            if table.stream_shard is not None and table.name not in stream_lengths:
                stream_lengths[table.name] = (table, len(table.stream_shard.items))
    except Exception:
        return _original_transact(self, transact_items)  # malformed: let moto answer exactly as it would
    ddb_models.copy = _shim  # type: ignore[assignment]
    try:
        _original_transact(self, transact_items)
    except BaseException:
        for table, hash_key, range_key, before in reversed(saved):
            bucket = table.items[hash_key] if table.range_key_attr else table.items
            slot = range_key if table.range_key_attr else hash_key
            if before is None:
                bucket.pop(slot, None)
                if table.range_key_attr and not table.items[hash_key]:
                    table.items.pop(hash_key, None)
            else:
                bucket[slot] = before
        for table, length in stream_lengths.values():
            del table.stream_shard.items[length:]  # type: ignore[union-attr]
        raise
    finally:
        ddb_models.copy = _copy  # type: ignore[assignment]


# ---------------------------------------------------------------- streams

_updating = threading.local()  # .creates: the UpdateItem under way creates its item


def _canonical(value: Mapping[str, Any]) -> Any:
    """A DynamoDB JSON value in a form that compares as DynamoDB compares values."""
    ((kind, raw),) = value.items()
    try:
        if kind == "N":
            return kind, Decimal(raw)
        if kind == "NS":
            return kind, frozenset(Decimal(v) for v in raw)
    except (InvalidOperation, TypeError):
        return kind, raw
    if kind in ("SS", "BS"):
        return kind, frozenset(raw)
    if kind == "L":
        return kind, [_canonical(v) for v in raw]
    if kind == "M":
        return kind, {name: _canonical(v) for name, v in raw.items()}
    return kind, raw


def _unchanged(old: Item, new: Item) -> bool:
    before, after = old.to_json()["Attributes"], new.to_json()["Attributes"]
    return before.keys() == after.keys() and all(_canonical(before[k]) == _canonical(after[k]) for k in before)


def _stream_add(self: StreamShard, old: Item | None, new: Item | None) -> None:
    if old is None and getattr(_updating, "creates", False):
        _updating.creates = False
        return  # the bare keys moto's update_item puts before it applies the update
    if old is not None and new is not None and _unchanged(old, new):
        return  # DynamoDB writes no record for a write that changes nothing
    _original_stream_add(self, old, new)


def _update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    try:
        table = self.get_table(table_name)
        hash_key, range_key = self.get_keys_value(table, key)
        existed = table.get_item(hash_key, range_key) is not None
    except Exception:
        return _original_update(self, table_name, key, *args, **kwargs)  # let moto answer as it would
    _updating.creates = not existed and table.stream_shard is not None
    try:
        return _original_update(self, table_name, key, *args, **kwargs)
    except BaseException:
        if not existed and table.get_item(hash_key, range_key) is not None:
            # moto put the keys before the update failed; DynamoDB writes nothing
            if table.range_key_attr:
                table.items[hash_key].pop(range_key, None)
                if not table.items[hash_key]:
                    table.items.pop(hash_key, None)
            else:
                table.items.pop(hash_key, None)
        raise
    finally:
        _updating.creates = False


# ---------------------------------------------------------------- queries


def _all_items(table: Table) -> Iterator[Any]:
    if table.range_key_attr:
        return (item for partition in table.items.values() for item in partition.values())
    return iter(table.items.values())


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # moto's backend passes index_name positionally (the 7th argument after hash_key)
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    hash_conditions = kwargs.get("hash_key_conditions")

    def candidates() -> list[Any]:
        if index_name is None and hash_key is not None and self.range_key_attr:
            return list(self.items.get(hash_key, {}).values())
        if index_name is not None and hash_conditions:
            wanted = [(name, value.type, value.value) for name, value in hash_conditions]
            return [
                item
                for item in _all_items(self)
                if all(
                    (found := item.attrs.get(name)) is not None and found.type == kind and found.value == raw
                    for name, kind, raw in wanted
                )
            ]
        return list(_all_items(self))

    self.all_items = candidates  # type: ignore[method-assign]
    try:
        return _original_query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


# ---------------------------------------------------------------- responses

FAST_OPERATIONS = frozenset(
    {"GetItem", "Query", "BatchGetItem", "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems",
     "GetRecords", "GetShardIterator"}
)  # fmt: skip


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _epoch(value: Any) -> Any:
    if isinstance(value, datetime):
        base = calendar.timegm(value.utctimetuple())
        return base + (value.microsecond // 1000) / 1000.0 if value.microsecond else base
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _execute_result(self: ActionResult, context: Any) -> Any:
    operation = context.operation_model
    shape = operation.output_shape
    if operation.name not in FAST_OPERATIONS or shape is None or not isinstance(self.result, dict):
        return _original_execute(self, context)
    try:
        result = {k: v for k, v in self.result.items() if k in shape.members}
        body = json.dumps(_without_none(result), default=_epoch, separators=(",", ":"))
    except TypeError:
        return _original_execute(self, context)
    serializer = context.serializer_class(operation_model=operation)
    response = serializer._create_default_response()
    response["headers"]["Content-Type"] = serializer._get_protocol_specific_content_type()
    return response["status_code"], response["headers"], body


# ---------------------------------------------------------------- switch

_PATCHES = [
    (ddb_models.DynamoDBBackend, "transact_write_items", _original_transact, _transact_write_items),
    (ddb_models.DynamoDBBackend, "update_item", _original_update, _update_item),
    (StreamShard, "add", _original_stream_add, _stream_add),
    (Table, "query", _original_query, _query),
    (ActionResult, "execute_result", _original_execute, _execute_result),
]
_lock = threading.Lock()
_depth = 0


@contextlib.contextmanager
def patched_moto() -> Iterator[None]:
    """Install the in-place rollback, DynamoDB's stream records, the candidate-first
    query and the direct JSON responses for the block (process-wide; nested blocks are
    fine)."""
    global _depth
    with _lock:
        if _depth == 0:
            for owner, name, _, patched in _PATCHES:
                setattr(owner, name, patched)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for owner, name, original, _ in _PATCHES:
                    setattr(owner, name, original)
