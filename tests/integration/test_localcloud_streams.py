"""Stream delivery: the table's stream reaches AllotterFunction as a Lambda event source
mapping would deliver it (shape, FilterCriteria, partial batch failures, bisecting,
retries and the on-failure queue). The function is a test double (handler override)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud import LocalCloud, Template
from tests.integration.conftest import local_cloud

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
FUNCTION = "AllotterFunction"


class Recorder:
    """The AllotterFunction double: records every event, behaviour swappable per test."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.behaviour: Callable[[dict[str, Any]], Any] = lambda event: None
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        assert context.function_name.endswith(FUNCTION)
        assert context.get_remaining_time_in_millis() > 0
        with self.lock:
            self.events.append(json.loads(json.dumps(event)))
        return self.behaviour(event)

    def batches(self, prefix: str) -> list[list[str]]:
        """Each invocation's records (partition keys) that start with ``prefix``."""
        result = []
        for event in self.events:
            keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
            keys = [k for k in keys if k.startswith(prefix)]
            if keys:
                result.append(keys)
        return result

    def records(self, prefix: str) -> list[dict[str, Any]]:
        return [r for e in self.events for r in e["Records"] if r["dynamodb"]["Keys"]["pk"]["S"].startswith(prefix)]


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def cloud(recorder: Recorder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with local_cloud(tmp_path_factory, {FUNCTION: recorder}, schedules=False) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(recorder: Recorder, cloud: LocalCloud) -> Iterator[None]:
    cloud.wait_for_streams()
    recorder.events.clear()
    recorder.behaviour = lambda event: None
    yield
    recorder.behaviour = lambda event: None


@pytest.fixture(scope="module")
def stream_properties() -> dict[str, Any]:
    return dict(Template.load(TEMPLATE).function(FUNCTION).events["TableStream"].properties)


def _item(pk: str, sk: str, **attrs: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": v} for k, v in attrs.items()}}


def _put_all(cloud: LocalCloud, *items: dict[str, Any]) -> None:
    """One BatchWriteItem: the records reach the stream together (moto serves one request at a time)."""
    cloud.client("dynamodb").batch_write_item(
        RequestItems={cloud.table_name("Table"): [{"PutRequest": {"Item": item}} for item in items]}
    )


def _drain(cloud: LocalCloud, logical_id: str) -> list[dict[str, Any]]:
    sqs = cloud.client("sqs")
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=cloud.queue_url(logical_id), MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return messages
        for message in got:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=cloud.queue_url(logical_id), ReceiptHandle=message["ReceiptHandle"])


# --------------------------------------------------------------------------- shape


def test_records_arrive_in_the_lambda_dynamodb_event_shape(cloud: LocalCloud, recorder: Recorder) -> None:
    ddb = cloud.client("dynamodb")
    table = cloud.table_name("Table")
    ddb.put_item(TableName=table, Item=_item("shape#1", "SKU", state="new"))
    ddb.put_item(TableName=table, Item=_item("shape#1", "SKU", state="changed"))
    ddb.delete_item(TableName=table, Key={"pk": {"S": "shape#1"}, "sk": {"S": "SKU"}})
    cloud.wait_for_streams()

    records = recorder.records("shape#")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record in records:
        assert list(record) == [
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        ]
        assert record["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["awsRegion"] == "us-east-1"
        assert record["eventSourceARN"] == cloud.stream_arn("Table")
        ddb_part = record["dynamodb"]
        assert isinstance(ddb_part["ApproximateCreationDateTime"], int)
        assert ddb_part["Keys"] == {"pk": {"S": "shape#1"}, "sk": {"S": "SKU"}}
        assert ddb_part["SequenceNumber"].isdigit()
        assert ddb_part["SizeBytes"] > 0
        assert ddb_part["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    insert, modify, remove = (r["dynamodb"] for r in records)
    assert insert["NewImage"]["state"] == {"S": "new"} and "OldImage" not in insert
    assert modify["OldImage"]["state"] == {"S": "new"} and modify["NewImage"]["state"] == {"S": "changed"}
    assert remove["OldImage"]["state"] == {"S": "changed"} and "NewImage" not in remove
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)


def test_the_stream_delivers_what_dynamodb_writes(cloud: LocalCloud, recorder: Recorder) -> None:
    """An UpdateItem that creates a balance is one INSERT with the whole item (moto alone
    adds a keys-only INSERT before it), and writes that change nothing deliver nothing
    (moto alone yields a MODIFY with equal images)."""
    ddb = cloud.client("dynamodb")
    table = cloud.table_name("Table")
    key = {"pk": {"S": "aws#PEN"}, "sk": {"S": "SKU"}}

    def receive(units: int) -> None:
        ddb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET sku = :sku ADD on_hand :units",
            ExpressionAttributeValues={":sku": {"S": "PEN"}, ":units": {"N": str(units)}},
        )

    receive(5)  # creates the balance
    receive(0)  # changes nothing
    ddb.put_item(TableName=table, Item={**key, "sku": {"S": "PEN"}, "on_hand": {"N": "5"}})  # the same again
    receive(-1)
    cloud.wait_for_streams()

    records = recorder.records("aws#")
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert records[0]["dynamodb"]["NewImage"] == {**key, "sku": {"S": "PEN"}, "on_hand": {"N": "5"}}
    assert records[1]["dynamodb"]["OldImage"]["on_hand"] == {"N": "5"}
    assert records[1]["dynamodb"]["NewImage"]["on_hand"] == {"N": "4"}


def test_filter_criteria_from_the_template_drop_other_items(cloud: LocalCloud, recorder: Recorder) -> None:
    # Template: {"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "LINE#"}, "SKU"]}}}}
    _put_all(
        cloud,
        _item("filter#1", "SKU"),
        _item("filter#2", "LINE#0001"),
        _item("filter#3", "ORDER"),
        _item("filter#4", "SKU#not-exact"),
        _item("filter#5", "line#0001"),
    )
    cloud.wait_for_streams()
    assert sorted(r["dynamodb"]["Keys"]["pk"]["S"] for r in recorder.records("filter#")) == ["filter#1", "filter#2"]


def test_wait_for_streams_covers_writes_made_by_the_consumer_itself(cloud: LocalCloud, recorder: Recorder) -> None:
    ddb = cloud.client("dynamodb")

    def chain(event: dict[str, Any]) -> None:
        for record in event["Records"]:
            pk = record["dynamodb"]["Keys"]["pk"]["S"]
            if pk.startswith("chain#") and record["eventName"] == "INSERT":
                step = int(pk.split("#")[1])
                if step < 4:
                    ddb.put_item(TableName=cloud.table_name("Table"), Item=_item(f"chain#{step + 1}", "SKU"))

    recorder.behaviour = chain
    ddb.put_item(TableName=cloud.table_name("Table"), Item=_item("chain#1", "SKU"))
    cloud.wait_for_streams()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in recorder.records("chain#")] == [
        "chain#1",
        "chain#2",
        "chain#3",
        "chain#4",
    ]


# --------------------------------------------------------------------------- failures


def test_a_reported_item_failure_redelivers_it_and_every_later_record(cloud: LocalCloud, recorder: Recorder) -> None:
    failed_once: set[str] = set()

    def fail_b_once(event: dict[str, Any]) -> dict[str, Any]:
        for record in event["Records"]:
            if record["dynamodb"]["Keys"]["pk"]["S"] == "partial#b" and "b" not in failed_once:
                failed_once.add("b")
                return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    recorder.behaviour = fail_b_once
    _put_all(cloud, *(_item(f"partial#{key}", "SKU") for key in "abcd"))
    cloud.wait_for_streams()

    assert recorder.batches("partial#") == [
        ["partial#a", "partial#b", "partial#c", "partial#d"],
        ["partial#b", "partial#c", "partial#d"],  # from the failed record on, successes included
    ]


def test_a_record_that_always_fails_is_retried_then_sent_to_the_failure_queue(
    cloud: LocalCloud, recorder: Recorder, stream_properties: dict[str, Any]
) -> None:
    """The handler raises for one record: the batch is bisected down to it, it is retried
    MaximumRetryAttempts times, then its batch info goes to the OnFailure queue and the
    stream moves on."""
    retries = int(stream_properties["MaximumRetryAttempts"])
    assert stream_properties["BisectBatchOnFunctionError"] is True

    def poison(event: dict[str, Any]) -> None:
        if any(r["dynamodb"]["Keys"]["pk"]["S"] == "poison#bad" for r in event["Records"]):
            raise RuntimeError("cannot process poison#bad")

    recorder.behaviour = poison
    _put_all(cloud, _item("poison#a", "SKU"), _item("poison#bad", "SKU"), _item("poison#c", "SKU"))
    cloud.client("dynamodb").put_item(TableName=cloud.table_name("Table"), Item=_item("poison#later", "SKU"))
    cloud.wait_for_streams()

    alone = [batch for batch in recorder.batches("poison#") if batch == ["poison#bad"]]
    assert len(alone) == 1 + retries  # the first try of the isolated record, then MaximumRetryAttempts
    succeeded = {pk for batch in recorder.batches("poison#") if "poison#bad" not in batch for pk in batch}
    assert succeeded == {"poison#a", "poison#c", "poison#later"}

    bad = next(r for r in recorder.records("poison#") if r["dynamodb"]["Keys"]["pk"]["S"] == "poison#bad")
    messages = _drain(cloud, "AllotterFailureQueue")
    assert len(messages) == 1
    message = messages[0]
    assert message["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert message["requestContext"]["approximateInvokeCount"] == 1 + retries
    assert message["requestContext"]["functionArn"].endswith(f":function:backorders-local-{FUNCTION}")
    assert message["responseContext"]["functionError"] == "Unhandled"
    info = message["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == bad["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == cloud.stream_arn("Table")
    assert info["shardId"].startswith("shardId-")


def test_an_item_always_reported_failed_discards_the_rest_of_its_batch_after_retries(
    cloud: LocalCloud, recorder: Recorder, stream_properties: dict[str, Any]
) -> None:
    """With ReportBatchItemFailures the batch is split at the reported record: records
    before it are checkpointed, it and the records after it are retried together and,
    once MaximumRetryAttempts are used up, discarded together (as Lambda does)."""
    retries = int(stream_properties["MaximumRetryAttempts"])

    def report(event: dict[str, Any]) -> dict[str, Any]:
        failures = [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
            for r in event["Records"]
            if r["dynamodb"]["Keys"]["pk"]["S"] == "report#bad"
        ]
        return {"batchItemFailures": failures}

    recorder.behaviour = report
    _put_all(cloud, _item("report#a", "SKU"), _item("report#bad", "SKU"), _item("report#c", "SKU"))
    cloud.wait_for_streams()
    cloud.client("dynamodb").put_item(TableName=cloud.table_name("Table"), Item=_item("report#later", "SKU"))
    cloud.wait_for_streams()

    batches = recorder.batches("report#")
    assert batches[0] == ["report#a", "report#bad", "report#c"]
    assert batches[1:] == [["report#bad", "report#c"]] * retries + [["report#later"]]
    (message,) = _drain(cloud, "AllotterFailureQueue")
    assert message["requestContext"]["approximateInvokeCount"] == 1 + retries
    info = message["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert "functionError" not in message["responseContext"]


def test_a_malformed_item_failure_fails_the_whole_batch(cloud: LocalCloud, recorder: Recorder) -> None:
    attempts: list[int] = []

    def malformed_once(event: dict[str, Any]) -> dict[str, Any]:
        if any(r["dynamodb"]["Keys"]["pk"]["S"].startswith("malformed#") for r in event["Records"]):
            attempts.append(len(event["Records"]))
            if len(attempts) == 1:
                return {"batchItemFailures": [{"itemIdentifier": ""}]}
        return {}

    recorder.behaviour = malformed_once
    _put_all(cloud, _item("malformed#a", "SKU"), _item("malformed#b", "SKU"))
    cloud.wait_for_streams()
    # A complete failure of a 2-record batch is bisected (BisectBatchOnFunctionError).
    assert recorder.batches("malformed#") == [["malformed#a", "malformed#b"], ["malformed#a"], ["malformed#b"]]
