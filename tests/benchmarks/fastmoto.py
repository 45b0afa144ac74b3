"""Make in-process moto fast enough to drive a day of a webshop (benchmarks only).

moto 5.2 has two costs that grow with the table, not with the request:

- ``transact_write_items`` deep-copies every table it touches, once per action, to
  roll back on failure; with the stream shard inside the table that is the whole
  table and its whole stream history (about 0.9 s per 6-item transaction at 2,000
  items, growing);
- ``Query`` sorts every item of the table by its key, then walks them all, also for
  a base-table query of one partition, comparing each item's key through ``DynamoType``;
- every response goes through moto's generic, shape-walking serializer (about 30 ms
  for a response of a few dozen items), although DynamoDB's item operations and the
  stream's records are plain JSON.

``fast_moto()`` replaces both for as long as it is active, with the same results:
a transaction snapshots only the items it touches (and the stream length) and
restores exactly those on failure; a query is handed only the candidates that can
match (the partition, or the items whose index hash key has the queried value) and
moto's own code does the rest (sorting, paging, projection, filters); the results of
item operations are written with ``json.dumps`` (others, errors and anything that is
not plain JSON go through moto's serializer as before). Nothing here
changes what a request returns; it is not used by the tests, only by benchmarks
whose figures are request units counted from requests and responses.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import moto.dynamodb.models as ddb_models
from moto.core.responses import ActionContext, ActionResult
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_PLAIN_JSON_OPERATIONS = {
    "dynamodb": frozenset(
        {
            "GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems",
            "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
        }
    ),
    "dynamodbstreams": frozenset({"GetRecords", "GetShardIterator"}),
}  # fmt: skip


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):  # stream records' ApproximateCreationDateTime
        return value.timestamp()
    raise TypeError(type(value).__name__)


def _identity_deepcopy(value: Any, memo: Any = None) -> Any:
    if isinstance(value, Table):
        return value  # the rollback below restores what was touched instead
    return copy.deepcopy(value, memo)


def _key_of(table: Table, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None] | None:
    attrs = op.get("Item") or op.get("Key") or {}
    if table.hash_key_attr not in attrs:
        return None
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = None
    if table.range_key_attr is not None:
        if table.range_key_attr not in attrs:
            return None
        range_value = DynamoType(attrs[table.range_key_attr])
    return hash_value, range_value


@contextmanager
def fast_moto() -> Iterator[None]:
    original_transact = DynamoDBBackend.transact_write_items
    original_query = Table.query
    original_execute = ActionResult.execute_result

    def execute_result(self: ActionResult, context: ActionContext) -> Any:
        result = self.result
        plain = _PLAIN_JSON_OPERATIONS.get(str(context.service_model.service_name), frozenset())
        if isinstance(result, dict) and context.operation_model.name in plain:
            try:
                body = json.dumps(result, default=_json_default)
            except (TypeError, ValueError):
                pass
            else:
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original_execute(self, context)

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[Table, DynamoType, DynamoType | None, Any]] = []
        streams: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            op = next(iter(entry.values()), {})
            table = self.tables.get(op.get("TableName", ""))
            if table is None:
                continue
            key = _key_of(table, op)
            if key is None:
                continue
            current = table.get_item(*key) if table.range_key_attr is None or key[1] is not None else None
            snapshots.append((table, key[0], key[1], copy.deepcopy(current)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            original_transact(self, transact_items)
        except BaseException:
            for table, hash_value, range_value, item in reversed(snapshots):
                if range_value is None:
                    if item is None:
                        table.items.pop(hash_value, None)
                    else:
                        table.items[hash_value] = item
                elif item is None:
                    table.items.get(hash_value, {}).pop(range_value, None)
                else:
                    table.items[hash_value][range_value] = item
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto's backend passes index_name positionally (the 7th argument after hash_key)
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        candidates: list[Any] | None = None
        if index_name is None and hash_key is not None and self.range_key_attr is not None:
            candidates = list((self.items.get(hash_key) or {}).values())
        elif index_name is not None and kwargs.get("hash_key_conditions"):
            conditions = [(name, value.type, value.value) for name, value in kwargs["hash_key_conditions"]]
            candidates = []
            # unsorted (``all_items`` sorts the whole table first); query sorts what matched
            everything = (
                (i for part in self.items.values() for i in part.values())
                if self.range_key_attr is not None
                else iter(self.items.values())
            )
            for item in everything:
                attrs = item.attrs
                for name, kind, raw in conditions:
                    found = attrs.get(name)
                    if found is None or found.type != kind or found.value != raw:
                        break
                else:
                    candidates.append(item)
        if candidates is None:
            return original_query(self, hash_key, *args, **kwargs)
        self.all_items = lambda: candidates  # type: ignore[method-assign]
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    ddb_models.copy = SimpleNamespace(deepcopy=_identity_deepcopy, copy=copy.copy)  # type: ignore[assignment]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    ActionResult.execute_result = execute_result  # type: ignore[method-assign]
    try:
        yield
    finally:
        ddb_models.copy = copy
        DynamoDBBackend.transact_write_items = original_transact  # type: ignore[method-assign]
        Table.query = original_query  # type: ignore[method-assign]
        ActionResult.execute_result = original_execute  # type: ignore[method-assign]
