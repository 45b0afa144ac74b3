"""The handlers on AWS's own sample events (tests/fixtures/aws_events): whatever shape
AWS sends, the API answers a JSON 4xx to what it cannot take (never a 5xx), the
allotter reports no failure for records that are not ours, and the planner runs on
what EventBridge Scheduler sends."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import allotter_handler
import api_handler
import planner_handler
from tests.api.conftest import Api, _reply, lambda_context
from tests.support.events import aws_sample_event

HTTP_SAMPLES = [
    "sam-apigateway-http-api-proxy",
    "powertools-apiGatewayProxyV2Event",
    "powertools-apiGatewayProxyV2Event_GET",
]
STREAM_SAMPLES = ["sam-dynamodb-update", "powertools-dynamoStreamEvent"]


def _answer(api: Api, event: dict[str, Any]) -> Any:
    reply = _reply(api_handler.lambda_handler(copy.deepcopy(event), api.context))
    assert reply.headers["content-type"] == "application/json", reply
    assert set(reply.body) >= {"error", "message"}, reply.body
    return reply


@pytest.mark.parametrize("name", HTTP_SAMPLES)
def test_the_api_answers_an_aws_sample_without_a_key_with_401(api: Api, name: str) -> None:
    reply = _answer(api, aws_sample_event(name))
    assert reply.status == 401
    assert api.items() == []


@pytest.mark.parametrize("name", HTTP_SAMPLES)
def test_the_api_answers_an_aws_sample_with_a_key_with_a_json_4xx(api: Api, name: str) -> None:
    """Its path (``/my/path``, ``/path/to/resource``) is no route of ours, the SAM
    sample's body is base64 without a Content-Type: a client error either way."""
    event = aws_sample_event(name)
    event["headers"]["authorization"] = f"Bearer {api.account.keys['aacme']}"
    reply = _answer(api, event)
    assert 400 <= reply.status < 500, reply
    assert api.items() == []


@pytest.mark.parametrize("name", STREAM_SAMPLES)
def test_the_allotter_reports_no_failure_for_an_aws_sample_batch(api: Api, name: str) -> None:
    """Items of another table shape (key ``Id``): nothing to recompute, nothing failed."""
    result = allotter_handler.lambda_handler(aws_sample_event(name), lambda_context("AllotterFunction"))
    assert result == {"batchItemFailures": []}
    assert api.items() == []


def test_the_planner_runs_on_the_event_scheduler_sends(api: Api) -> None:
    """The template's ScheduleV2 ``Input`` is the whole event EventBridge Scheduler sends."""
    result = planner_handler.lambda_handler({"job": "frequent"}, lambda_context("PlannerFunction"))
    assert result["job"] == "frequent"
