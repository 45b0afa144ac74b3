"""The local cloud's moto patches answer exactly as moto does (see ``localcloud.moto_patches``)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from localcloud.moto_patches import patched_moto

REGION = "us-east-1"


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        ddb.create_table(
            TableName="tbl",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gpk", "gsk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi",
                    "KeySchema": [
                        {"AttributeName": "gpk", "KeyType": "HASH"},
                        {"AttributeName": "gsk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        rng = random.Random(7)
        for n in range(120):
            item = {"pk": {"S": f"P{n % 7}"}, "sk": {"S": f"S{rng.randint(0, 999):03d}-{n}"}, "v": {"N": str(n)}}
            if n % 3:
                item |= {"gpk": {"S": f"G{n % 2}"}, "gsk": {"S": f"K{rng.randint(0, 9)}"}}  # ties on gsk
            ddb.put_item(TableName="tbl", Item=item)
        yield ddb
        # inside the session-wide mock_aws of the integration tests moto keeps its state
        ddb.delete_table(TableName="tbl")


def _pages(ddb: Any, **kw: Any) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        args = dict(kw, **({"ExclusiveStartKey": start} if start else {}))
        out = ddb.query(TableName="tbl", **args)
        pages.append(out["Items"])
        start = out.get("LastEvaluatedKey")
        if not start:
            return pages


QUERIES = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P3"}}},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P3"}}, "Limit": 4},
    {
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": "P1"}, ":s": {"S": "S1"}},
        "ScanIndexForward": False,
    },
    {"IndexName": "gsi", "KeyConditionExpression": "gpk = :g", "ExpressionAttributeValues": {":g": {"S": "G1"}}},
    {
        "IndexName": "gsi",
        "KeyConditionExpression": "gpk = :g AND gsk > :k",
        "ExpressionAttributeValues": {":g": {"S": "G0"}, ":k": {"S": "K4"}},
        "Limit": 3,
        "ScanIndexForward": False,
    },
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "nothing"}}},
]


@pytest.mark.parametrize("query", QUERIES, ids=range(len(QUERIES)))
def test_queries_and_their_pages_are_unchanged(client: Any, query: dict[str, Any]) -> None:
    plain = _pages(client, **query)
    with patched_moto():
        fast = _pages(client, **query)
    assert fast == plain
    assert sum(map(len, plain)) > 0 or query["ExpressionAttributeValues"].get(":p", {}).get("S") == "nothing"


def _state(ddb: Any) -> tuple[list[Any], list[Any]]:
    items = sorted(ddb.scan(TableName="tbl")["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
    arn = ddb.describe_table(TableName="tbl")["Table"]["LatestStreamArn"]
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = [r["dynamodb"]["SequenceNumber"] for r in streams.get_records(ShardIterator=it, Limit=1000)["Records"]]
    return items, records


def test_a_cancelled_transaction_leaves_items_and_stream_as_they_were(client: Any) -> None:
    before = _state(client)
    with patched_moto(), pytest.raises(ClientError) as failed:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "NEW"}, "sk": {"S": "1"}}}},
                {
                    "Update": {
                        "TableName": "tbl",
                        "Key": {"pk": before[0][0]["pk"], "sk": before[0][0]["sk"]},
                        "UpdateExpression": "ADD v :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": "tbl", "Key": {"pk": before[0][1]["pk"], "sk": before[0][1]["sk"]}}},
                {
                    "ConditionCheck": {
                        "TableName": "tbl",
                        "Key": {"pk": {"S": "absent"}, "sk": {"S": "x"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in failed.value.response["CancellationReasons"]] == [
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
    ]
    assert _state(client) == before


def test_an_open_stream_iterator_never_sees_a_cancelled_transaction(client: Any) -> None:
    """Unpatched moto puts a copy of the table in its place when a transaction is
    cancelled, and an iterator opened before keeps reading the discarded stream: it
    returns the cancelled writes, numbered like the real writes that follow."""
    arn = client.describe_table(TableName="tbl")["Table"]["LatestStreamArn"]
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with patched_moto():
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
        with pytest.raises(ClientError):
            client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "PHANTOM"}, "sk": {"S": "1"}}}},
                    {
                        "Put": {
                            "TableName": "tbl",
                            "Item": {"pk": {"S": "PHANTOM"}, "sk": {"S": "2"}},
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                ]
            )
        client.put_item(TableName="tbl", Item={"pk": {"S": "REAL"}, "sk": {"S": "1"}})
        records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["REAL"]


def test_a_committed_transaction_applies_every_item(client: Any) -> None:
    items, records = _state(client)
    first = items[0]
    with patched_moto():
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "tbl", "Item": {"pk": {"S": "NEW"}, "sk": {"S": "1"}}}},
                {
                    "Update": {
                        "TableName": "tbl",
                        "Key": {"pk": first["pk"], "sk": first["sk"]},
                        "UpdateExpression": "ADD v :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    after, after_records = _state(client)
    assert len(after) == len(items) + 1
    assert next(i for i in after if i["sk"] == first["sk"] and i["pk"] == first["pk"])["v"]["N"] == str(
        int(first["v"]["N"]) + 1
    )
    assert len(after_records) == len(records) + 2


def test_direct_json_responses_equal_the_serializer(client: Any) -> None:
    """Every data-plane call answers the same parsed body through both paths."""
    from moto.core.responses import ActionResult

    from localcloud import moto_patches

    compared: dict[str, int] = {}

    def both(self: Any, context: Any) -> Any:
        slow = moto_patches._original_execute(self, context)
        fast = moto_patches._execute_result(self, context)
        assert fast[0] == slow[0] and fast[1].get("Content-Type") == slow[1].get("Content-Type")
        assert json.loads(fast[2] or "{}") == json.loads(slow[2] or "{}"), context.operation_model.name
        compared[context.operation_model.name] = compared.get(context.operation_model.name, 0) + 1
        return fast

    key = {"pk": {"S": "P1"}, "sk": {"S": "x"}}
    original = ActionResult.execute_result
    ActionResult.execute_result = both  # type: ignore[method-assign]
    try:
        client.put_item(
            TableName="tbl",
            Item={
                **key,
                "n": {"N": "1.50"},
                "l": {"L": [{"S": "x"}, {"BOOL": True}]},
                "m": {"M": {"q": {"NULL": True}}},
                "ss": {"SS": ["b", "a"]},
            },
        )
        client.get_item(TableName="tbl", Key=key, ConsistentRead=True)
        client.get_item(TableName="tbl", Key={"pk": {"S": "none"}, "sk": {"S": "x"}})
        _pages(client, **QUERIES[1], ReturnConsumedCapacity="TOTAL")
        _pages(client, **QUERIES[4])
        client.update_item(
            TableName="tbl",
            Key=key,
            UpdateExpression="ADD n :o",
            ExpressionAttributeValues={":o": {"N": "1"}},
            ReturnValues="ALL_NEW",
        )
        client.transact_write_items(
            TransactItems=[{"Put": {"TableName": "tbl", "Item": {"pk": {"S": "N"}, "sk": {"S": "1"}}}}]
        )
        client.batch_get_item(RequestItems={"tbl": {"Keys": [key, {"pk": {"S": "N"}, "sk": {"S": "1"}}]}})
        client.delete_item(TableName="tbl", Key={"pk": {"S": "N"}, "sk": {"S": "1"}})
        _state(client)  # GetShardIterator, GetRecords (with timestamps)
    finally:
        ActionResult.execute_result = original  # type: ignore[method-assign]
    assert set(compared) >= {
        "GetItem",
        "Query",
        "PutItem",
        "UpdateItem",
        "TransactWriteItems",
        "BatchGetItem",
        "DeleteItem",
        "GetShardIterator",
        "GetRecords",
    }


# ---------------------------------------------------------------- streams

STREAM_TABLE = {
    "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
}
BALANCE = {"pk": {"S": "SKU#PEN"}, "sk": {"S": "SKU"}}
LINE = {"pk": {"S": "ORDER#812"}, "sk": {"S": "LINE#1"}}


def _writes(ddb: Any, table: str) -> list[Any]:
    """A day in the table's life, with every write the stream quirks are about. Returns
    each answer (without its metadata) or the error code it raised."""
    add_one = {
        "UpdateExpression": "SET sku = :s ADD version :one, on_hand :one",
        "ExpressionAttributeValues": {":s": {"S": "PEN"}, ":one": {"N": "1"}},
    }
    same_sku = {"UpdateExpression": "SET sku = :s", "ExpressionAttributeValues": {":s": {"S": "PEN"}}}
    line = {**LINE, "sku": {"S": "PEN"}, "price": {"N": "1.50"}, "tags": {"SS": ["a", "b"]}}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("update_item", {"Key": BALANCE, **add_one, "ReturnValues": "ALL_NEW"}),  # creates the item
        ("update_item", {"Key": BALANCE, **add_one}),  # changes it
        ("update_item", {"Key": BALANCE, **same_sku}),
        ("update_item", {"Key": BALANCE, "UpdateExpression": "REMOVE absent"}),
        ("put_item", {"Item": line}),
        ("put_item", {"Item": line, "ReturnValues": "ALL_OLD"}),  # the same item again
        ("put_item", {"Item": {**line, "price": {"N": "1.5"}, "tags": {"SS": ["b", "a"]}}}),  # equal values
        ("put_item", {"Item": {**line, "price": {"N": "2"}}}),
        (
            "transact_write_items",
            {
                "TransactItems": [
                    {"Update": {"TableName": table, "Key": {"pk": {"S": "SKU#INK"}, "sk": {"S": "SKU"}}, **add_one}},
                    {"Put": {"TableName": table, "Item": {**line, "price": {"N": "2"}}}},
                ]
            },
        ),
        ("update_item", {"Key": {"pk": {"S": "SKU#HUGE"}, "sk": {"S": "SKU"}}, "UpdateExpression": "SET note = :b",
                         "ExpressionAttributeValues": {":b": {"S": "x" * 410_000}}}),  # fails: item too large
        ("delete_item", {"Key": {"pk": {"S": "SKU#NONE"}, "sk": {"S": "SKU"}}}),
        ("delete_item", {"Key": LINE}),
        ("update_item", {"Key": {"pk": {"S": "SKU#KEYS"}, "sk": {"S": "SKU"}}, "UpdateExpression": "REMOVE absent"}),
    ]  # fmt: skip
    answers: list[Any] = []
    for operation, kwargs in calls:
        if operation != "transact_write_items":
            kwargs = {"TableName": table, **kwargs}
        try:
            answer = getattr(ddb, operation)(**kwargs)
            answers.append({k: v for k, v in answer.items() if k not in ("ResponseMetadata", "ConsumedCapacity")})
        except ClientError as exc:
            answers.append(exc.response["Error"]["Code"])
    return answers


def _stream(ddb: Any, table: str) -> list[dict[str, Any]]:
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client(
        "dynamodbstreams", region_name=REGION, endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
    )
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return [r["dynamodb"] | {"eventName": r["eventName"]} for r in streams.get_records(ShardIterator=it)["Records"]]


def _items(ddb: Any, table: str) -> list[dict[str, Any]]:
    return sorted(ddb.scan(TableName=table)["Items"], key=lambda i: (i["pk"]["S"], i["sk"]["S"]))


def _seen(record: dict[str, Any]) -> tuple[Any, ...]:
    return record["eventName"], record["Keys"], record.get("NewImage"), record.get("OldImage")


def _bare_keys(records: list[dict[str, Any]], index: int, failed: dict[str, Any]) -> bool:
    """moto's keys-only INSERT: the bare keys an UpdateItem puts before it applies the
    update (the INSERT of the whole item follows), or the only trace of one that failed."""
    record = records[index]
    if record["eventName"] != "INSERT" or record["NewImage"] != record["Keys"]:
        return False
    after = records[index + 1] if index + 1 < len(records) else None
    follows = after is not None and after["eventName"] == "INSERT" and after["Keys"] == record["Keys"]
    return follows or record["Keys"] == failed


def _changes_nothing(record: dict[str, Any]) -> bool:
    old, new = record.get("OldImage"), record.get("NewImage")
    if record["eventName"] != "MODIFY" or old is None or new is None or old.keys() != new.keys():
        return False
    canonical = {"N": lambda v: float(v), "SS": lambda v: sorted(v)}
    return all(
        {kind: canonical.get(kind, lambda x: x)(raw) for kind, raw in old[k].items()}
        == {kind: canonical.get(kind, lambda x: x)(raw) for kind, raw in new[k].items()}
        for k in old
    )


@pytest.fixture
def two_tables() -> Iterator[Any]:
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        for name in ("moto", "patched"):
            ddb.create_table(TableName=name, **STREAM_TABLE)
        yield ddb
        for name in ("moto", "patched"):
            ddb.delete_table(TableName=name)


def test_the_stream_has_the_records_dynamodb_writes_and_nothing_else_changes(two_tables: Any) -> None:
    """moto writes a keys-only INSERT before an UpdateItem that creates an item, a MODIFY
    for a write that changes nothing, and keeps the bare keys of an UpdateItem that
    failed. DynamoDB does none of it. Every answer stays moto's own."""
    ddb = two_tables
    plain_answers = _writes(ddb, "moto")
    with patched_moto():
        patched_answers = _writes(ddb, "patched")
    assert patched_answers == plain_answers
    assert plain_answers[9] == "ValidationException"  # the update that grew past 400 KB

    huge = {"pk": {"S": "SKU#HUGE"}, "sk": {"S": "SKU"}}
    plain, patched = _stream(ddb, "moto"), _stream(ddb, "patched")
    quirks = [i for i, r in enumerate(plain) if _bare_keys(plain, i, huge) or _changes_nothing(r)]
    assert len(quirks) == 9  # 4 keys-only INSERTs (one of the failed update), 5 MODIFYs that change nothing
    assert [_seen(r) for r in patched] == [_seen(r) for i, r in enumerate(plain) if i not in quirks]
    assert [r["eventName"] for r in patched] == ["INSERT", "MODIFY", "INSERT", "MODIFY", "INSERT", "REMOVE", "INSERT"]
    assert patched[0]["NewImage"] == {**BALANCE, "sku": {"S": "PEN"}, "version": {"N": "1"}, "on_hand": {"N": "1"}}
    assert patched[-1]["NewImage"] == {"pk": {"S": "SKU#KEYS"}, "sk": {"S": "SKU"}}  # creates the bare keys: one INSERT
    numbers = [int(r["SequenceNumber"]) for r in patched]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))

    assert _items(ddb, "patched") == [i for i in _items(ddb, "moto") if {"pk": i["pk"], "sk": i["sk"]} != huge]
    assert any({"pk": i["pk"], "sk": i["sk"]} == huge for i in _items(ddb, "moto"))  # moto keeps the bare keys


def test_a_failed_update_of_an_existing_item_still_changes_nothing(two_tables: Any) -> None:
    with patched_moto():
        two_tables.put_item(TableName="patched", Item={**BALANCE, "v": {"N": "1"}})
        with pytest.raises(ClientError):
            two_tables.update_item(
                TableName="patched",
                Key=BALANCE,
                UpdateExpression="SET v = :two",
                ConditionExpression="v = :zero",
                ExpressionAttributeValues={":two": {"N": "2"}, ":zero": {"N": "0"}},
            )
    assert _items(two_tables, "patched") == [{**BALANCE, "v": {"N": "1"}}]
    assert [r["eventName"] for r in _stream(two_tables, "patched")] == ["INSERT"]
