"""EventBridge schedules, fired locally.

moto stores rules and schedules but never fires them, so the local cloud does:
every ``AWS::Scheduler::Schedule`` / scheduled ``AWS::Events::Rule`` of a function becomes a
:class:`ScheduledJob` that a background thread fires on time, with the event's
``Input`` (JSON) as the Lambda event, or an EventBridge "Scheduled Event"
envelope when there is no ``Input``.

Expressions: ``rate(N minute|minutes|hour|hours|day|days)``, AWS six-field
``cron(minutes hours day-of-month month day-of-week year)`` (``*`` ``,`` ``-`` ``/``
``?`` ``L`` ``W`` ``#``, month and weekday names, 1 = Sunday) and
``at(yyyy-mm-ddThh:mm:ss)``. ``ScheduleExpressionTimezone`` is honoured.

A speed factor makes time pass faster for the scheduler (``speed=60``: a
``rate(5 minutes)`` schedule fires every 5 real seconds, a daily cron job about
every 24 real minutes).
"""

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

__all__ = [
    "AtExpression",
    "CronExpression",
    "RateExpression",
    "ScheduleExpression",
    "ScheduledJob",
    "Scheduler",
    "parse_schedule_expression",
]

log = logging.getLogger("localcloud")

_MONTHS = {name: index for index, name in enumerate(calendar.month_abbr) if name}
_MONTHS = {name.upper(): index for name, index in _MONTHS.items()}
_WEEKDAYS = {name: index + 1 for index, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    """An expression EventBridge would reject."""


# --------------------------------------------------------------------- rate / at


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
        singular = not unit.endswith("s")
        if singular != (value == 1):
            raise ScheduleExpressionError(f"rate({body}): use '1 {unit.rstrip('s')}' or 'N {unit.rstrip('s')}s'")
        return cls(value * _RATE_UNITS[unit.rstrip("s")])

    def next_after(self, moment: datetime, start: datetime) -> datetime | None:
        """The first firing after ``moment`` of a rate started at ``start`` (fires at start + k*period)."""
        period = timedelta(seconds=self.seconds)
        if moment < start:
            return start + period
        elapsed = (moment - start) // period
        return start + (elapsed + 1) * period


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
class _DayRule:
    """Day-of-month or day-of-week rule (one of them is always '?')."""

    days: frozenset[int] = frozenset()  # plain values (dom 1-31 / dow 1-7)
    last_day: bool = False  # dom L
    last_weekday_of_month: bool = False  # dom LW
    nearest_weekday: frozenset[int] = frozenset()  # dom nW
    last_of_weekday: frozenset[int] = frozenset()  # dow nL
    nth_weekday: frozenset[tuple[int, int]] = frozenset()  # dow n#k


def _parse_values(field: str, low: int, high: int, names: Mapping[str, int] | None = None) -> set[int]:
    def value(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise ScheduleExpressionError(f"invalid value {token!r}")
        number = int(token)
        if not low <= number <= high:
            raise ScheduleExpressionError(f"{number} is outside {low}-{high}")
        return number

    result: set[int] = set()
    for part in field.split(","):
        if not part:
            raise ScheduleExpressionError(f"empty list item in {field!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleExpressionError(f"invalid step in {part!r}")
            step = int(step_text)
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
        result.update(range(start, end + 1, step))
    return result


@dataclass(frozen=True)
class CronExpression:
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: _DayRule | None  # None when '?'
    day_of_week: _DayRule | None  # None when '?'

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
                minutes=frozenset(_parse_values(minute, 0, 59)),
                hours=frozenset(_parse_values(hour, 0, 23)),
                months=frozenset(_parse_values(month, 1, 12, _MONTHS)),
                years=frozenset(_parse_values(year, 1970, 2199)),
                day_of_month=None if dom == "?" else cls._parse_dom(dom),
                day_of_week=None if dow == "?" else cls._parse_dow(dow),
            )
        except ScheduleExpressionError as exc:
            raise ScheduleExpressionError(f"cron({body}): {exc}") from None

    @staticmethod
    def _parse_dom(field: str) -> _DayRule:
        upper = field.upper()
        if upper == "L":
            return _DayRule(last_day=True)
        if upper == "LW":
            return _DayRule(last_weekday_of_month=True)
        match = re.fullmatch(r"(\d+)W", upper)
        if match:
            day = int(match.group(1))
            if not 1 <= day <= 31:
                raise ScheduleExpressionError(f"{field}: day {day} is outside 1-31")
            return _DayRule(nearest_weekday=frozenset({day}))
        return _DayRule(days=frozenset(_parse_values(field, 1, 31)))

    @staticmethod
    def _parse_dow(field: str) -> _DayRule:
        upper = field.upper()
        if upper == "L":
            return _DayRule(days=frozenset({7}))
        match = re.fullmatch(r"(\w+)L", upper)
        if match:
            return _DayRule(last_of_weekday=frozenset(_parse_values(match.group(1), 1, 7, _WEEKDAYS)))
        match = re.fullmatch(r"(\w+)#([1-5])", upper)
        if match:
            weekday = next(iter(_parse_values(match.group(1), 1, 7, _WEEKDAYS)))
            return _DayRule(nth_weekday=frozenset({(weekday, int(match.group(2)))}))
        return _DayRule(days=frozenset(_parse_values(field, 1, 7, _WEEKDAYS)))

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        aws_weekday = (day.weekday() + 1) % 7 + 1  # Monday=0 -> 2 ... Sunday=6 -> 1
        if self.day_of_month is not None:
            rule = self.day_of_month
            if rule.last_day:
                return day.day == last
            if rule.last_weekday_of_month:
                return day == _nearest_weekday(day.year, day.month, last)
            if rule.nearest_weekday:
                return any(day == _nearest_weekday(day.year, day.month, min(n, last)) for n in rule.nearest_weekday)
            return day.day in rule.days
        rule = self.day_of_week  # type: ignore[assignment]
        assert rule is not None
        if rule.last_of_weekday:
            return aws_weekday in rule.last_of_weekday and day.day + 7 > last
        if rule.nth_weekday:
            return any(aws_weekday == wd and (day.day - 1) // 7 + 1 == n for wd, n in rule.nth_weekday)
        return aws_weekday in rule.days

    def next_after(self, moment: datetime, start: datetime | None = None) -> datetime | None:
        """The first firing strictly after ``moment`` (an aware datetime, in the schedule's zone)."""
        tz = moment.tzinfo
        floor = moment.replace(second=0, microsecond=0)
        day = floor.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        max_year = max(self.years)
        while day.year <= max_year:
            if day.year not in self.years:
                day = date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                        if candidate > moment:
                            return candidate
            day += timedelta(days=1)
        return None


def _nearest_weekday(year: int, month: int, day_number: int) -> date:
    """The weekday nearest to ``day_number`` in the same month (cron 'W')."""
    day = date(year, month, day_number)
    if day.weekday() == 5:  # Saturday -> Friday, or Monday if the 1st
        return day - timedelta(days=1) if day_number > 1 else day + timedelta(days=2)
    if day.weekday() == 6:  # Sunday -> Monday, or Friday if the last day
        last = calendar.monthrange(year, month)[1]
        return day + timedelta(days=1) if day_number < last else day - timedelta(days=2)
    return day


ScheduleExpression = RateExpression | CronExpression | AtExpression


def parse_schedule_expression(expression: str) -> ScheduleExpression:
    match = re.fullmatch(r"\s*(rate|cron|at)\((.*)\)\s*", expression)
    if not match:
        raise ScheduleExpressionError(f"{expression!r}: expected rate(...), cron(...) or at(...)")
    kind, body = match.groups()
    if kind == "rate":
        return RateExpression.parse(body)
    if kind == "cron":
        return CronExpression.parse(body)
    return AtExpression.parse(body)


# --------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class ScheduledJob:
    """One ``AWS::Scheduler::Schedule`` or scheduled ``AWS::Events::Rule`` of a function, resolved.

    EventBridge hands the event to Lambda asynchronously, so a failing run is retried
    by Lambda (``EventInvokeConfig.MaximumRetryAttempts``, default 2) and then goes to
    the function's ``DeadLetterConfig`` and/or ``EventInvokeConfig`` on-failure
    destination. The schedule's own ``RetryPolicy``/``DeadLetterConfig`` only cover
    delivery to Lambda, which cannot fail in-process; they are kept for reference.
    """

    function_id: str
    event_name: str
    event_type: str
    name: str
    expression: ScheduleExpression
    expression_text: str
    timezone: str
    input: str | None
    enabled: bool
    maximum_retry_attempts: int = 2
    dead_letter_arn: str | None = None  # the function's DeadLetterQueue (SQS)
    on_failure_arn: str | None = None  # the function's EventInvokeConfig OnFailure destination (SQS)
    scheduler_dead_letter_arn: str | None = None

    @classmethod
    def from_event(
        cls,
        function_id: str,
        event: EventSpec,
        default_name: str,
        function_properties: Mapping[str, Any] | None = None,
    ) -> ScheduledJob:
        """``event.properties`` and ``function_properties`` must already be resolved."""
        props = event.properties
        target = props.get("Target") or (props.get("Targets") or [{}])[0]  # a schedule's, or this rule target
        function_props = function_properties or {}
        expression_text = str(props.get("ScheduleExpression") or "")
        scheduler_dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        enabled = str(props.get("State", "ENABLED")).upper() == "ENABLED"
        invoke_config = function_props.get("EventInvokeConfig") or {}
        dlq = str((function_props.get("DeadLetterConfig") or {}).get("TargetArn") or "")
        on_failure = ((invoke_config.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        raw_input = target.get("Input")
        return cls(
            function_id=function_id,
            event_name=event.name,
            event_type=event.type,
            name=str(props.get("Name") or default_name),
            expression=parse_schedule_expression(expression_text),
            expression_text=expression_text,
            timezone=str(props.get("ScheduleExpressionTimezone") or "UTC"),
            input=None if raw_input is None else str(raw_input),
            enabled=enabled,
            maximum_retry_attempts=int(invoke_config.get("MaximumRetryAttempts", 2)),
            dead_letter_arn=dlq if ":sqs:" in dlq else None,
            on_failure_arn=str(on_failure) if on_failure else None,
            scheduler_dead_letter_arn=str(scheduler_dlq) if scheduler_dlq else None,
        )

    def arn(self, region: str, account_id: str) -> str:
        if self.event_type == "AWS::Scheduler::Schedule":
            return f"arn:aws:scheduler:{region}:{account_id}:schedule/default/{self.name}"
        return f"arn:aws:events:{region}:{account_id}:rule/{self.name}"

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
            "source": "aws.scheduler" if self.event_type == "AWS::Scheduler::Schedule" else "aws.events",
            "account": account_id,
            "time": fired_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [self.arn(region, account_id)],
            "detail": {},
        }


class SpeedClock:
    """Wall-clock time that runs ``speed`` times faster from the moment it is created."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("schedule speed must be positive")
        self.speed = speed
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall0 + (time.monotonic() - self._mono0) * self.speed, UTC)

    def real_seconds_until(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)


class Scheduler:
    """Fires every enabled job on time, each in its own thread."""

    def __init__(
        self,
        jobs: list[ScheduledJob],
        *,
        fire: Callable[[ScheduledJob, Any], Any],
        on_exhausted: Callable[[ScheduledJob, Any, Exception, int], None],
        speed: float = 1.0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
    ) -> None:
        self.jobs = jobs
        self.region = region
        self.account_id = account_id
        self.clock = SpeedClock(speed)
        self._fire = fire
        self._on_exhausted = on_exhausted
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.next_fire: dict[str, datetime | None] = {}

    def start(self) -> None:
        for job in self.jobs:
            if not job.enabled:
                log.info("schedule %s.%s is disabled", job.function_id, job.event_name)
                continue
            name = f"localcloud-schedule-{job.function_id}.{job.event_name}"
            thread = threading.Thread(target=self._run, args=(job,), name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, job: ScheduledJob) -> None:
        zone = ZoneInfo(job.timezone)
        start = self.clock.now().astimezone(zone)
        last = start
        while not self._stop.is_set():
            due = job.expression.next_after(last, start)
            self.next_fire[f"{job.function_id}.{job.event_name}"] = due
            if due is None:
                return
            while not self._stop.is_set():
                wait = self.clock.real_seconds_until(due)
                if wait <= 0:
                    break
                self._stop.wait(min(wait, 1.0))
            if self._stop.is_set():
                return
            self._fire_with_retries(job)
            last = max(due, self.clock.now().astimezone(zone))  # missed firings are skipped

    def _fire_with_retries(self, job: ScheduledJob) -> None:
        event = job.event(region=self.region, account_id=self.account_id, fired_at=self.clock.now())
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
                if self._stop.wait(60.0 * attempt / self.clock.speed):
                    return
