"""EventBridge schedules, fired locally (moto never fires them): ``rate()``, AWS six-field
``cron()`` and ``at()`` expressions, time zones and a speed factor (README.md)."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aws_croniter import AwsCroniter
from aws_croniter.exceptions import AwsCroniterExpressionError

from .template import EventSpec

log = logging.getLogger("localcloud")

_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    """An expression EventBridge would reject."""


@dataclass(frozen=True)
class RateExpression:
    seconds: int

    @classmethod
    def parse(cls, body: str) -> RateExpression:
        match = re.fullmatch(r"\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*", body)
        if not match:
            raise ScheduleExpressionError(f"rate({body}): expected 'rate(N minutes|hours|days)'")
        value, unit = int(match.group(1)), match.group(2)
        if value <= 0:
            raise ScheduleExpressionError(f"rate({body}): the value must be positive")
        if unit.endswith("s") == (value == 1):
            raise ScheduleExpressionError(f"rate({body}): use '1 {unit.rstrip('s')}' or 'N {unit.rstrip('s')}s'")
        return cls(value * _RATE_UNITS[unit.rstrip("s")])

    def next_after(self, moment: datetime, start: datetime) -> datetime | None:
        """The first firing after ``moment`` of a rate started at ``start`` (fires at start + k*period)."""
        period = timedelta(seconds=self.seconds)
        return start + (max(0, (moment - start) // period) + 1) * period


@dataclass(frozen=True)
class AtExpression:
    when: datetime  # naive, in the schedule's time zone

    @classmethod
    def parse(cls, body: str) -> AtExpression:
        try:
            return cls(datetime.strptime(body.strip(), "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            raise ScheduleExpressionError(f"at({body}): expected at(yyyy-mm-ddThh:mm:ss)") from None

    def next_after(self, moment: datetime, start: datetime) -> datetime | None:
        when = self.when.replace(tzinfo=moment.tzinfo)
        return when if when > moment else None


# --------------------------------------------------------------------- cron


@dataclass(frozen=True)
class CronExpression:
    """AWS's six-field cron, parsed and stepped by aws-croniter (docs/decisions.md 54)."""

    cron: AwsCroniter

    @classmethod
    def parse(cls, body: str) -> CronExpression:
        try:
            return cls(AwsCroniter(" ".join(body.split())))
        except AwsCroniterExpressionError as exc:
            raise ScheduleExpressionError(f"cron({body}): {exc}") from None

    def next_after(self, moment: datetime, start: datetime | None = None) -> datetime | None:
        """The first firing strictly after ``moment`` (an aware datetime, in the schedule's zone):
        the fields are wall-clock times of that zone, so the library steps the wall clock as UTC."""
        (found,) = self.cron.get_next(moment.replace(tzinfo=UTC))
        return None if found is None else found.replace(tzinfo=moment.tzinfo)


ScheduleExpression = RateExpression | CronExpression | AtExpression


def parse_schedule_expression(expression: str) -> ScheduleExpression:
    match = re.fullmatch(r"\s*(rate|cron|at)\((.*)\)\s*", expression)
    if not match:
        raise ScheduleExpressionError(f"{expression!r}: expected rate(...), cron(...) or at(...)")
    kind, body = match.groups()
    return {"rate": RateExpression, "cron": CronExpression, "at": AtExpression}[kind].parse(body)


# --------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class ScheduledJob:
    """One ``AWS::Scheduler::Schedule`` of a function, resolved. Lambda invokes asynchronously:
    a failed run is retried (``EventInvokeConfig``, default 2 retries), then dead-lettered."""

    function_id: str
    event_name: str
    name: str
    expression: ScheduleExpression
    expression_text: str
    timezone: str
    input: str | None
    enabled: bool
    maximum_retry_attempts: int = 2
    dead_letter_arn: str | None = None  # the function's DeadLetterQueue (SQS)
    on_failure_arn: str | None = None  # the function's EventInvokeConfig OnFailure destination (SQS)

    @classmethod
    def from_event(
        cls, function_id: str, event: EventSpec, default_name: str, function_properties: Mapping[str, Any] | None = None
    ) -> ScheduledJob:
        """``event.properties`` and ``function_properties`` must already be resolved."""
        props, function_props = event.properties, function_properties or {}
        target, expression_text = props.get("Target") or {}, str(props.get("ScheduleExpression") or "")
        invoke_config = function_props.get("EventInvokeConfig") or {}
        dlq = str((function_props.get("DeadLetterConfig") or {}).get("TargetArn") or "")
        on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        raw_input = target.get("Input")
        return cls(
            function_id=function_id,
            event_name=event.name,
            name=str(props.get("Name") or default_name),
            expression=parse_schedule_expression(expression_text),
            expression_text=expression_text,
            timezone=str(props.get("ScheduleExpressionTimezone") or "UTC"),
            input=None if raw_input is None else str(raw_input),
            enabled=str(props.get("State", "ENABLED")).upper() == "ENABLED",
            maximum_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", 2)),
            dead_letter_arn=dlq if ":sqs:" in dlq else None,
            on_failure_arn=str(on_failure) if on_failure else None,
        )

    @property
    def key(self) -> str:
        return f"{self.function_id}.{self.event_name}"

    def event(self, *, region: str, account_id: str, fired_at: datetime) -> Any:
        """The Lambda event: the parsed ``Input``, or a "Scheduled Event" envelope."""
        if self.input is not None:
            try:
                return json.loads(self.input)
            except json.JSONDecodeError:
                return self.input
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.scheduler",
            "account": account_id,
            "time": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{self.name}"],
            "detail": {},
        }


class Scheduler:
    """Fires every enabled job on time, each in its own thread, on a clock that runs ``speed``
    times faster than the wall clock from the moment the scheduler is created."""

    def __init__(
        self,
        jobs: list[ScheduledJob],
        *,
        fire: Callable[[ScheduledJob, Any], Any],
        on_exhausted: Callable[[ScheduledJob, Any, Exception, int], None],
        speed: float,
        region: str,
        account_id: str,
    ) -> None:
        if speed <= 0:
            raise ValueError("schedule speed must be positive")
        self.jobs, self.speed, self.region, self.account_id = jobs, speed, region, account_id
        self._fire, self._on_exhausted = fire, on_exhausted
        self._wall0, self._mono0 = time.time(), time.monotonic()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.next_fire: dict[str, datetime | None] = {}

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall0 + (time.monotonic() - self._mono0) * self.speed, UTC)

    def start(self) -> None:
        for job in self.jobs:
            if not job.enabled:
                log.info("schedule %s is disabled", job.key)
                continue
            thread = threading.Thread(target=self._run, args=(job,), name=f"localcloud-schedule-{job.key}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, job: ScheduledJob) -> None:
        zone = ZoneInfo(job.timezone)
        start = last = self.now().astimezone(zone)
        while not self._stop.is_set():
            due = self.next_fire[job.key] = job.expression.next_after(last, start)
            if due is None:
                return
            while not self._stop.is_set() and (wait := (due - self.now()).total_seconds() / self.speed) > 0:
                self._stop.wait(min(wait, 1.0))
            if self._stop.is_set():
                return
            self._fire_with_retries(job)
            last = max(due, self.now().astimezone(zone))  # missed firings are skipped

    def _fire_with_retries(self, job: ScheduledJob) -> None:
        event = job.event(region=self.region, account_id=self.account_id, fired_at=self.now())
        attempt = 0
        while True:
            try:
                self._fire(job, event)
                return
            except Exception as exc:
                attempt += 1
                if attempt > job.maximum_retry_attempts:
                    self._on_exhausted(job, event, exc, attempt)
                    return
                # Lambda retries a failed asynchronous invocation after about 1 and then 2 minutes.
                if self._stop.wait(60.0 * attempt / self.speed):
                    return
