"""A capacity meter: counts DynamoDB request units from each request and response the
way on-demand billing counts them, because moto reports no consumed capacity.

It wraps botocore's client call, which both boto3 and pynamodb go through. Reads:
item size rounded up to 4 KB per read unit (a query rounds the sum of the items it
read), halved when eventually consistent, doubled in a transaction. Writes: item size
rounded up to 1 KB per write unit, doubled in a transaction (index writes are counted
by the caller's model of which indexes an item lands in).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client

KB = 1024


def attribute_size(value: dict[str, Any]) -> int:
    """Size of one attribute value in DynamoDB's accounting (AttributeValue JSON form)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode())
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").lstrip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(raw) if isinstance(raw, bytes) else len(raw.encode())
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in raw)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + attribute_size(v) for k, v in raw.items())
    raise ValueError(kind)


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def read_units(size: int, *, consistent: bool) -> float:
    units = max(1, math.ceil(size / (4 * KB)))
    return units if consistent else units / 2


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


@dataclass
class Meter:
    read_units: float = 0.0
    write_units: float = 0.0
    items_read: int = 0
    calls: Counter[str] = field(default_factory=Counter)

    def observe(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        self.calls[operation] += 1
        consistent = bool(params.get("ConsistentRead"))
        if operation == "GetItem":
            item = response.get("Item") or {}
            self.items_read += 1 if item else 0
            self.read_units += read_units(item_size(item), consistent=consistent)
        elif operation in ("Query", "Scan"):
            items = response.get("Items") or []
            self.items_read += len(items)
            self.read_units += read_units(sum(item_size(i) for i in items), consistent=consistent)
        elif operation == "BatchGetItem":
            for table_items in (response.get("Responses") or {}).values():
                for item in table_items:
                    self.items_read += 1
                    self.read_units += read_units(item_size(item), consistent=False)
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            item = params.get("Item") or params.get("Key") or {}
            self.write_units += write_units(item_size(item))
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems", []):
                ((_, body),) = entry.items()
                self.write_units += 2 * write_units(item_size(body.get("Item") or body.get("Key") or {}))


@contextmanager
def metered() -> Iterator[Meter]:
    """Count every DynamoDB call made inside the block (any client, any thread)."""
    meter = Meter()
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        response = original(self, operation, params)
        if self.meta.service_model.service_name == "dynamodb":
            meter.observe(operation, params, response)
        return response

    botocore.client.BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
