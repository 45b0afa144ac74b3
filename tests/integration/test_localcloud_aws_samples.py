"""The local cloud's events against AWS's own sample events (tests/fixtures/aws_events),
field by field: the same names, the same nesting, the same value types. Values are not
compared (the samples are hand-written), and maps whose keys are data (headers, query
parameters, item images) are compared by the types of their values.

The handlers are test doubles that record what the local cloud delivers: an HTTP request
through the local API Gateway, and writes to the table through the stream poller."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from localcloud import LocalCloud
from tests.support.events import aws_sample_event

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

DATA_MAPS = {"headers", "queryStringParameters", "pathParameters", "stageVariables", "claims"}
ATTRIBUTE_MAPS = {"Keys", "NewImage", "OldImage"}
ATTRIBUTE_TYPES = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}

# In a sample, never in this application's events (tests/fixtures/aws_events/README.md).
NOT_OURS = {
    "requestContext.authentication": "mutual TLS only",
    "requestContext.authorizer": "an API Gateway authorizer only; the API checks its keys itself",
    "stageVariables": "the $default stage has none",
    "pathParameters": "the $default route has none",
}


def shape(value: Any, name: str = "") -> Any:
    """What is compared: names and nesting of objects, the type of every leaf."""
    leaf = name.rsplit(".", 1)[-1]
    if isinstance(value, dict):
        if leaf in DATA_MAPS:
            return {"<map of>": sorted({json.dumps(shape(v)) for v in value.values()})}
        if leaf in ATTRIBUTE_MAPS:
            typed = all(isinstance(v, dict) and len(v) == 1 and set(v) <= ATTRIBUTE_TYPES for v in value.values())
            return "<DynamoDB attribute map>" if typed and value else value
        return {key: shape(item, f"{name}.{key}".lstrip(".")) for key, item in value.items()}
    if isinstance(value, list):
        return [sorted({json.dumps(shape(item)) for item in value})]
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"  # an int in SAM's stream sample, a float in powertools'
    return type(value).__name__


def differences(ours: Any, sample: Any, path: str = "") -> list[str]:
    """Where ``ours`` differs in shape from ``sample`` (keys only the sample has are
    listed unless NOT_OURS explains them)."""
    if isinstance(ours, dict) and isinstance(sample, dict) and "<map of>" not in sample:
        found = [f"{path}.{key}: only ours".lstrip(".") for key in ours.keys() - sample.keys()]
        found += [
            f"{path}.{key}: only the sample's".lstrip(".")
            for key in sample.keys() - ours.keys()
            if f"{path}.{key}".lstrip(".") not in NOT_OURS
        ]
        for key in ours.keys() & sample.keys():
            found += differences(ours[key], sample[key], f"{path}.{key}")
        return found
    return [] if ours == sample else [f"{path}: ours {ours!r}, the sample's {sample!r}".lstrip(".")]


class Recorder:
    def __init__(self) -> None:
        self.events: list[Any] = []

    def __call__(self, event: Any, context: Any) -> Any:
        self.events.append(json.loads(json.dumps(event)))
        return {"statusCode": 204}


@pytest.fixture(scope="module")
def api() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def allotter() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def cloud(api: Recorder, allotter: Recorder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud(
        TEMPLATE,
        state_dir=tmp_path_factory.mktemp("localcloud"),
        fast=True,
        schedules=False,
        handler_overrides={"ApiFunction": api, "AllotterFunction": allotter, "PlannerFunction": lambda e, c: None},
    ) as running:
        yield running


def _request(cloud: LocalCloud, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> None:
    parts = urlsplit(cloud.api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers)
        assert connection.getresponse().status == 204
    finally:
        connection.close()


def _http_events(cloud: LocalCloud, api: Recorder) -> dict[str, Any]:
    api.events.clear()
    query = "/my/path?parameter1=value1&parameter1=value2&parameter2=value"
    cookies = {"Cookie": "cookie1; cookie2"}
    _request(cloud, "POST", query, b'{"test":"body"}', {"Content-Type": "application/json", **cookies})
    _request(cloud, "POST", query, b"test=body", cookies)  # no Content-Type: base64, as SAM's sample
    _request(cloud, "GET", query, None, {"User-Agent": "agent", **cookies})
    json_post, base64_post, get = api.events
    return {"json": json_post, "base64": base64_post, "get": get}


@pytest.mark.parametrize(
    ("sample", "ours"),
    [
        ("sam-apigateway-http-api-proxy", "base64"),
        ("powertools-apiGatewayProxyV2Event", "json"),
        ("powertools-apiGatewayProxyV2Event_GET", "get"),
    ],
)
def test_an_http_event_has_the_shape_of_aws_sample(cloud: LocalCloud, api: Recorder, sample: str, ours: str) -> None:
    event = _http_events(cloud, api)[ours]
    expected = aws_sample_event(sample)
    assert differences(shape(event), shape(expected)) == []
    assert event["isBase64Encoded"] is expected["isBase64Encoded"]
    assert ("body" in event) is ("body" in expected)


def test_the_explained_absences_are_absent_from_our_events_indeed(cloud: LocalCloud, api: Recorder) -> None:
    for event in _http_events(cloud, api).values():
        assert "stageVariables" not in event and "pathParameters" not in event
        assert not {"authentication", "authorizer"} & set(event["requestContext"])


def test_a_shape_difference_is_found() -> None:
    """The comparison itself: a renamed field, a changed type, a field too many."""
    sample = aws_sample_event("powertools-apiGatewayProxyV2Event")
    changed = json.loads(json.dumps(sample))
    changed["requestContext"]["http"]["sourceIP"] = changed["requestContext"]["http"].pop("sourceIp")
    changed["requestContext"]["timeEpoch"] = str(changed["requestContext"]["timeEpoch"])
    changed["headers"]["x-number"] = 1
    changed["extra"] = True
    assert sorted(differences(shape(changed), shape(sample))) == [
        "extra: only ours",
        "headers: ours {'<map of>': ['\"number\"', '\"str\"']}, the sample's {'<map of>': ['\"str\"']}",
        "requestContext.http.sourceIP: only ours",
        "requestContext.http.sourceIp: only the sample's",
        "requestContext.timeEpoch: ours 'str', the sample's 'number'",
    ]


def test_stream_records_have_the_shape_of_aws_samples(cloud: LocalCloud, allotter: Recorder) -> None:
    ddb = cloud.client("dynamodb")
    table = cloud.table_name("Table")
    key = {"pk": {"S": "SKU#SAMPLE"}, "sk": {"S": "SKU"}}
    ddb.put_item(TableName=table, Item={**key, "message": {"S": "New item!"}})
    ddb.put_item(TableName=table, Item={**key, "message": {"S": "This item has changed"}})
    ddb.delete_item(TableName=table, Key=key)
    cloud.wait_for_streams()
    records = [r for event in allotter.events for r in event["Records"] if r["dynamodb"]["Keys"] == key]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]

    sam = aws_sample_event("sam-dynamodb-update")["Records"]
    assert [r["eventName"] for r in sam] == ["INSERT", "MODIFY", "REMOVE"]
    for ours, theirs in zip(records, sam, strict=True):
        assert differences(shape(ours), shape(theirs)) == []
    powertools = aws_sample_event("powertools-dynamoStreamEvent")["Records"]
    assert differences(shape(records[0]), shape(powertools[0])) == []
    # powertools' MODIFY lacks ApproximateCreationDateTime (README): ours has it, and nothing else differs
    assert differences(shape(records[1]), shape(powertools[1])) == ["dynamodb.ApproximateCreationDateTime: only ours"]
