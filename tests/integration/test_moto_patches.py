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
