"""EventBridge schedules, fired locally (moto never fires them): ``rate()``, AWS six-field
``cron()`` and ``at()`` expressions, time zones and a speed factor (README.md). Hand-parsed:
nothing installed computes AWS's firings (docs/decisions.md 42)."""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .template import EventSpec

log = logging.getLogger("localcloud")

_MONTHS = {name.upper(): index for index, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name: index for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}
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


def _values(field: str, low: int, high: int, names: Mapping[str, int] | None = None) -> frozenset[int]:
    def value(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit() or not low <= int(token) <= high:
            raise ScheduleExpressionError(f"invalid value {token!r} (expected {low}-{high})")
        return int(token)

    result: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        if not part or (step_text and (not step_text.isdigit() or int(step_text) == 0)):
            raise ScheduleExpressionError(f"invalid list item or step {part!r} in {field!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, _, last = base.partition("-")
            start, end = value(first), value(last)
            if start > end:
                raise ScheduleExpressionError(f"range {base!r} runs backwards")
        else:
            start = value(base)
            end = high if step_text else start
        result.update(range(start, end + 1, int(step_text or 1)))
    return frozenset(result)


def _last(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, number: int) -> date:
    """The weekday nearest to day ``number`` of ``day``'s month, not leaving the month (cron 'W')."""
    wanted = day.replace(day=number)
    if wanted.weekday() == 5:  # Saturday -> Friday, or Monday if the 1st
        return wanted - timedelta(days=1) if number > 1 else wanted + timedelta(days=2)
    if wanted.weekday() == 6:  # Sunday -> Monday, or Friday if the last day
        return wanted + timedelta(days=1) if number < _last(day) else wanted - timedelta(days=2)
    return wanted


def _aws_weekday(day: date) -> int:
    return (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2 ... Sunday=6 -> 1


def _day_of_month(field: str) -> Callable[[date], bool]:
    upper = field.upper()
    if upper == "L":
        return lambda day: day.day == _last(day)
    if upper == "LW":
        return lambda day: day == _nearest_weekday(day, _last(day))
    if match := re.fullmatch(r"(\d+)W", upper):
        number = next(iter(_values(match.group(1), 1, 31)))
        return lambda day: day == _nearest_weekday(day, min(number, _last(day)))
    days = _values(field, 1, 31)
    return lambda day: day.day in days


def _day_of_week(field: str) -> Callable[[date], bool]:
    upper = "7" if field.upper() == "L" else field.upper()
    if match := re.fullmatch(r"(\w+)L", upper):  # the last such weekday of the month
        weekdays = _values(match.group(1), 1, 7, _WEEKDAYS)
        return lambda day: _aws_weekday(day) in weekdays and day.day + 7 > _last(day)
    if match := re.fullmatch(r"(\w+)#([1-5])", upper):  # the n-th such weekday of the month
        weekday, nth = next(iter(_values(match.group(1), 1, 7, _WEEKDAYS))), int(match.group(2))
        return lambda day: _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    weekdays = _values(upper, 1, 7, _WEEKDAYS)
    return lambda day: _aws_weekday(day) in weekdays


@dataclass(frozen=True)
class CronExpression:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    matches_day: Callable[[date], bool]  # the day-of-month or the day-of-week rule (the other is '?')

    @classmethod
    def parse(cls, body: str) -> CronExpression:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(
                f"cron({body}): AWS cron has six fields: minutes hours day-of-month month day-of-week year"
            )
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError(f"cron({body}): exactly one of day-of-month and day-of-week must be '?'")
        try:
            return cls(
                minutes=tuple(sorted(_values(minute, 0, 59))),
                hours=tuple(sorted(_values(hour, 0, 23))),
                months=_values(month, 1, 12, _MONTHS),
                years=_values(year, 1970, 2199),
                matches_day=_day_of_week(dow) if dom == "?" else _day_of_month(dom),
            )
        except ScheduleExpressionError as exc:
            raise ScheduleExpressionError(f"cron({body}): {exc}") from None

    def next_after(self, moment: datetime, start: datetime | None = None) -> datetime | None:
        """The first firing strictly after ``moment`` (an aware datetime, in the schedule's zone)."""
        day = moment.date()
        while day.year <= max(self.years):
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
            elif day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            else:
                if self.matches_day(day):
                    for hour in self.hours:
                        for minute in self.minutes:
                            candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=moment.tzinfo)
                            if candidate > moment:
                                return candidate
                day += timedelta(days=1)
        return None


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
