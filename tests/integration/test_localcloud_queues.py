"""The local cloud's SQS event source (the replan queue -> PlannerFunction): messages
arrive in Lambda's SQS event, shaped as AWS's sample; what the function reports as
failed stays on the queue (it comes back after the visibility timeout), the rest is
deleted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud import LocalCloud
from tests.integration.test_localcloud_aws_samples import TEMPLATE, differences, shape
from tests.support.events import aws_sample_event


class Planner:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.failing: set[str] = set()  # bodies to report as failed

    def __call__(self, event: Any, context: Any) -> Any:
        records = json.loads(json.dumps(event))["Records"]
        self.records.extend(records)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] in self.failing]}


@pytest.fixture(scope="module")
def planner() -> Planner:
    return Planner()


@pytest.fixture(scope="module")
def cloud(planner: Planner, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    with LocalCloud(
        TEMPLATE,
        state_dir=tmp_path_factory.mktemp("localcloud"),
        fast=True,
        schedules=False,
        handler_overrides={"PlannerFunction": planner, "ApiFunction": lambda e, c: None},
    ) as running:
        yield running


def in_flight(cloud: LocalCloud) -> int:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.queue_url("PlanQueue"), AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_message_reaches_the_function_in_the_shape_of_aws_sample(cloud: LocalCloud, planner: Planner) -> None:
    cloud.client("sqs").send_message(QueueUrl=cloud.queue_url("PlanQueue"), MessageBody='{"supplier": "acme"}')
    cloud.wait_for_streams()
    (record,) = [r for r in planner.records if r["body"] == '{"supplier": "acme"}']
    (sample,) = aws_sample_event("sam-sqs-receive-message")["Records"]
    assert differences(shape(record), shape(sample)) == []
    assert record["eventSourceARN"].endswith(":" + cloud.queue_url("PlanQueue").rsplit("/", 1)[-1])
    assert in_flight(cloud) == 0  # delivered and deleted


def test_a_reported_failure_stays_on_the_queue_and_the_rest_is_deleted(cloud: LocalCloud, planner: Planner) -> None:
    planner.failing.add("fails")
    sqs, url = cloud.client("sqs"), cloud.queue_url("PlanQueue")
    sqs.send_message(QueueUrl=url, MessageBody="fails")
    sqs.send_message(QueueUrl=url, MessageBody="works")
    cloud.wait_for_streams()
    assert {"fails", "works"} <= {r["body"] for r in planner.records}
    assert in_flight(cloud) == 1  # the failed one, invisible until its visibility timeout


def test_the_dead_letter_queue_of_the_replan_queue_is_the_planners_failure_queue(cloud: LocalCloud) -> None:
    attributes = cloud.client("sqs").get_queue_attributes(
        QueueUrl=cloud.queue_url("PlanQueue"), AttributeNames=["RedrivePolicy", "VisibilityTimeout"]
    )["Attributes"]
    policy = json.loads(attributes["RedrivePolicy"])
    failure_arn = cloud.provisioned.queue_arns["PlannerFailureQueue"]
    assert (policy["deadLetterTargetArn"], int(policy["maxReceiveCount"])) == (failure_arn, 5)
    assert attributes["VisibilityTimeout"] == "1800"
