"""Lambda event filtering (``FilterCriteria``): Lambda's patterns are EventBridge patterns, so
matching is moto's EventBridge matcher. Added for what Lambda does and moto does not:
``numeric`` also compares numbers written as strings (DynamoDB's ``{"N": "5"}``), and the
patterns Lambda refuses (a leaf that is not a list, an unknown or malformed matcher) are refused."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPattern

__all__ = ["FilterPatternError", "compile_filters", "matches_any", "matches_pattern"]


class FilterPatternError(ValueError):
    """A filter pattern Lambda would reject."""


class _LambdaPattern(EventPattern):
    @staticmethod
    def _does_item_match_named_filter(item: Any, pattern: dict[str, Any]) -> bool:
        if "numeric" in pattern and isinstance(item, str):
            try:
                item = float(item)
            except ValueError:
                return False
        return EventPattern._does_item_match_named_filter(item, pattern)


def compile_filters(filter_criteria: Mapping[str, Any] | None) -> list[EventPattern]:
    """``FilterCriteria: {Filters: [{Pattern: '<json>'}]}`` as matchers (validated)."""
    patterns = []
    for entry in (filter_criteria or {}).get("Filters") or []:
        text = entry["Pattern"] if isinstance(entry.get("Pattern"), str) else json.dumps(entry.get("Pattern"))
        try:
            patterns.append(_LambdaPattern.load(text))
        except InvalidEventPatternException as exc:
            raise FilterPatternError(f"{text}: {exc.message}") from exc
        _validate(patterns[-1].get_pattern())
    return patterns


def matches_any(patterns: Sequence[EventPattern], event: Mapping[str, Any]) -> bool:
    """True when there are no patterns or the event matches at least one."""
    return not patterns or any(pattern.matches_event(dict(event)) for pattern in patterns)  # type: ignore[arg-type]


def matches_pattern(pattern: Mapping[str, Any], event: Any) -> bool:
    return _LambdaPattern(None, dict(pattern)).matches_event(event)


_ARGUMENTS: dict[str, Any] = {  # what each matcher takes
    **dict.fromkeys(("prefix", "suffix"), str | dict),
    **dict.fromkeys(("equals-ignore-case", "wildcard", "cidr"), str),
    **{"exists": bool, "anything-but": object, "numeric": list},
}


def _validate(pattern: Mapping[str, Any]) -> None:
    for key, value in pattern.items():
        if key == "$or" or isinstance(value, dict):
            for nested in value if key == "$or" else [value]:
                _validate(nested)
            continue
        for matcher in value:
            if isinstance(matcher, list) or (isinstance(matcher, dict) and not _valid(matcher)):
                raise FilterPatternError(f"{key}: Lambda refuses the matcher {matcher!r}")


def _valid(matcher: dict[str, Any]) -> bool:
    ((kind, arg),) = matcher.items() if len(matcher) == 1 else (("", None),)
    if kind not in _ARGUMENTS or not isinstance(arg, _ARGUMENTS[kind]):
        return False
    numbers = arg[1::2] if kind == "numeric" else []
    return kind != "numeric" or (len(arg) in (2, 4) and all(type(n) in (int, float) for n in numbers))
