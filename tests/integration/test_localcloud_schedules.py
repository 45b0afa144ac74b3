"""Schedules: rate/cron parsing, and the template's schedules firing PlannerFunction
(a test double here) with their Input."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from localcloud import LocalCloud
from localcloud.schedules import (
    CronExpression,
    RateExpression,
    ScheduleExpressionError,
    parse_schedule_expression,
)
from tests.integration.conftest import local_cloud

ROOT = Path(__file__).resolve().parents[2]


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    parsed = parse_schedule_expression(expression)
    assert parsed == RateExpression(seconds)
    start = _utc(2026, 1, 1, 0, 0, 30)
    period = timedelta(seconds=seconds)
    assert parsed.next_after(start, start) == start + period
    assert parsed.next_after(start + 2.5 * period, start) == start + 3 * period


@pytest.mark.parametrize(
    "expression",
    ["rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)", "rate(5 weeks)", "every 5 minutes"],
)
def test_invalid_rate_expressions(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_schedule_expression(expression)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # the template's daily run
        ("cron(0 6 * * ? *)", _utc(2026, 3, 10, 5, 59), _utc(2026, 3, 10, 6, 0)),
        ("cron(0 6 * * ? *)", _utc(2026, 3, 10, 6, 0), _utc(2026, 3, 11, 6, 0)),
        ("cron(0/15 * * * ? *)", _utc(2026, 3, 10, 6, 7), _utc(2026, 3, 10, 6, 15)),
        ("cron(*/20 9-10 * * ? *)", _utc(2026, 3, 10, 10, 41), _utc(2026, 3, 11, 9, 0)),
        ("cron(0 18 ? * MON-FRI *)", _utc(2026, 3, 13, 18, 0), _utc(2026, 3, 16, 18, 0)),  # Fri -> Mon
        ("cron(0 8 ? * 1 *)", _utc(2026, 3, 10, 0, 0), _utc(2026, 3, 15, 8, 0)),  # 1 = Sunday
        ("cron(0 0 L * ? *)", _utc(2026, 2, 3, 0, 0), _utc(2026, 2, 28, 0, 0)),
        ("cron(0 0 1 JAN,JUL ? *)", _utc(2026, 2, 1, 0, 0), _utc(2026, 7, 1, 0, 0)),
        ("cron(0 12 ? * 6L *)", _utc(2026, 3, 1, 0, 0), _utc(2026, 3, 27, 12, 0)),  # last Friday
        ("cron(0 12 ? * 3#2 *)", _utc(2026, 3, 1, 0, 0), _utc(2026, 3, 10, 12, 0)),  # second Tuesday
        ("cron(0 9 15W * ? *)", _utc(2026, 8, 1, 0, 0), _utc(2026, 8, 14, 9, 0)),  # 15th is a Saturday
        ("cron(30 7 1 1 ? 2027-2028)", _utc(2026, 6, 1, 0, 0), _utc(2027, 1, 1, 7, 30)),
    ],
)
def test_cron_next_firing(expression: str, after: datetime, expected: datetime) -> None:
    parsed = parse_schedule_expression(expression)
    assert isinstance(parsed, CronExpression)
    assert parsed.next_after(after) == expected


def test_cron_in_a_time_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    parsed = parse_schedule_expression("cron(0 6 * * ? *)")
    fired = parsed.next_after(datetime(2026, 7, 1, 7, 0, tzinfo=berlin))
    assert fired is not None
    assert fired.astimezone(UTC) == _utc(2026, 7, 2, 4, 0)  # 06:00 CEST


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 6 * * *)",  # five fields
        "cron(0 6 * * * *)",  # neither day field is '?'
        "cron(0 6 ? * ? *)",  # both are
        "cron(60 6 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 6 * 13 ? *)",
        "cron(0 6 ? * 8 *)",
        "cron(0 6 32 * ? *)",
        "cron(0 6 15X * ? *)",
    ],
)
def test_invalid_cron_expressions(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_schedule_expression(expression)


def test_cron_that_never_fires_again() -> None:
    assert parse_schedule_expression("cron(0 0 1 1 ? 2020)").next_after(_utc(2026, 1, 1)) is None  # type: ignore[call-arg]


# --------------------------------------------------------------------------- firing


class PlannerDouble:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.fail = False
        self.fired = threading.Event()

    def __call__(self, event: Any, context: Any) -> Any:
        self.events.append(event)
        self.fired.set()
        if self.fail:
            raise RuntimeError("planner failed")
        return {"ran": event.get("job")}


@pytest.fixture(scope="module")
def planner() -> PlannerDouble:
    return PlannerDouble()


@pytest.fixture(scope="module")
def cloud(planner: PlannerDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    # 3000x: rate(5 minutes) fires every 0.1 s; a failed run is retried after 0.02 s and 0.04 s.
    with local_cloud(tmp_path_factory, {"PlannerFunction": planner}, streams=False, schedule_speed=3000) as running:
        yield running


def _input(cloud: LocalCloud, event_name: str) -> Any:
    properties = cloud.template.function("PlannerFunction").events[event_name].properties
    return json.loads(properties["Target"]["Input"])  # the AWS::Scheduler::Schedule SAM made


def test_fire_schedule_invokes_the_function_with_the_input(cloud: LocalCloud, planner: PlannerDouble) -> None:
    planner.events.clear()
    assert cloud.fire_schedule("PlannerFunction", "Daily") == {"ran": "daily"}
    assert planner.events[-1] == _input(cloud, "Daily")
    cloud.fire_schedule("PlannerFunction", "Frequent")
    assert planner.events[-1] == _input(cloud, "Frequent")
    with pytest.raises(KeyError, match="PlannerFunction/Frequent"):
        cloud.fire_schedule("PlannerFunction", "Hourly")


def test_schedules_fire_on_their_own(cloud: LocalCloud, planner: PlannerDouble) -> None:
    planner.events.clear()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and planner.events.count(_input(cloud, "Frequent")) < 2:
        time.sleep(0.02)
    assert planner.events.count(_input(cloud, "Frequent")) >= 2


def test_a_failing_scheduled_run_is_retried_then_dead_lettered(cloud: LocalCloud, planner: PlannerDouble) -> None:
    sqs = cloud.client("sqs")
    queue = cloud.queue_url("PlannerFailureQueue")
    planner.fail = True
    try:
        deadline = time.monotonic() + 10
        messages: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not messages:
            messages = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"]).get("Messages", [])
    finally:
        planner.fail = False
    assert messages, "no dead-lettered run"
    message = messages[0]
    assert json.loads(message["Body"]) in (_input(cloud, "Frequent"), _input(cloud, "Daily"))
    assert "planner failed" in message["MessageAttributes"]["ErrorMessage"]["StringValue"]
