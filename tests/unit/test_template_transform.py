"""template.yaml through the SAM transform (samtranslator, in-process, offline): what SAM
itself grants, so the template need not (and must not) grant it again more widely.

The planner's failures reach PlannerFailureQueue two ways: EventBridge Scheduler sends an
event it could not deliver with the schedule's own role, and Lambda sends a run that
failed after its retries with the function's role (DeadLetterQueue). SAM grants both, so
a queue policy for ``scheduler.amazonaws.com`` is not needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def cfn() -> dict[str, Any]:
    data = yaml_parse(TEMPLATE.read_text())  # type: ignore[no-untyped-call]
    for resource in data["Resources"].values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):  # the transform wants uploaded code
                props[key] = f"s3://bucket/{props[key].strip('/')}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")  # pseudo parameters; nothing is called
        result: dict[str, Any] = transform(data, {}, _NoManagedPolicies())
    return result


def _sends_to(role: dict[str, Any], queue: str) -> bool:
    for policy in role["Properties"].get("Policies", []):
        statements = policy["PolicyDocument"]["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if "sqs:SendMessage" in actions and {"Fn::GetAtt": [queue, "Arn"]} in resources:
                return True
    return False


def _role_of_target(cfn: dict[str, Any], target: dict[str, Any]) -> dict[str, Any]:
    return dict(cfn["Resources"][target["RoleArn"]["Fn::GetAtt"][0]])


def test_sam_grants_each_schedule_its_dead_letter_queue(cfn: dict[str, Any]) -> None:
    schedules = {lid for lid, res in cfn["Resources"].items() if res["Type"] == "AWS::Scheduler::Schedule"}
    assert len(schedules) == 5  # the planner's two, the catch-up's, the notifier's two
    for schedule in schedules:
        target = cfn["Resources"][schedule]["Properties"]["Target"]
        queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        assert queue == "PlannerFailureQueue"
        assert _sends_to(_role_of_target(cfn, target), queue), schedule


def test_sam_grants_the_functions_their_failure_destinations(cfn: dict[str, Any]) -> None:
    roles = {lid: res for lid, res in cfn["Resources"].items() if res["Type"] == "AWS::IAM::Role"}
    assert _sends_to(roles["PlannerFunctionRole"], "PlannerFailureQueue")  # its DeadLetterQueue
    assert _sends_to(roles["AllotterFunctionRole"], "AllotterFailureQueue")  # the stream's OnFailure
    assert _sends_to(roles["CatchUpFunctionRole"], "PlannerFailureQueue")  # its DeadLetterQueue


def test_no_queue_policy_is_left_for_the_scheduler(cfn: dict[str, Any]) -> None:
    policies = [res for res in cfn["Resources"].values() if res["Type"] == "AWS::SQS::QueuePolicy"]
    assert not [p for p in policies if "scheduler.amazonaws.com" in repr(p)]
