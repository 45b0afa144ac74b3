"""Lambda event filtering (``FilterCriteria``), as event source mappings apply it.

A filter pattern is a JSON object whose leaves are lists of matchers. A record
matches a pattern when every key of the pattern matches; a leaf matches when any
of its matchers matches the record's value (or any element of it, for a list).
A record is delivered when it matches any of the filters.

Supported matchers: exact strings, numbers, booleans and ``null``; ``prefix``,
``suffix``, ``equals-ignore-case``, ``wildcard``, ``exists``, ``anything-but``
(a value, a list, or a ``prefix``/``suffix``/``equals-ignore-case``), ``numeric``
(``=``, ``<``, ``<=``, ``>``, ``>=``, ranges), ``cidr``, nested objects and ``$or``.

Like Lambda, ``exists`` and the other matchers only apply to leaf values: a pattern
leaf never matches an object. Numbers from DynamoDB (``{"N": "5"}``) are strings,
so ``numeric`` also accepts strings that parse as numbers; an exact number literal
does not.
"""

from __future__ import annotations

import ipaddress
import json
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["FilterPatternError", "compile_filters", "matches_any", "matches_pattern"]

_MISSING = object()

_NUMERIC_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class FilterPatternError(ValueError):
    """A filter pattern Lambda would reject."""


def compile_filters(filter_criteria: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Parse ``FilterCriteria: {Filters: [{Pattern: '<json>'}]}`` into pattern objects (validated)."""
    if not filter_criteria:
        return []
    patterns = []
    for entry in filter_criteria.get("Filters") or []:
        raw = entry.get("Pattern")
        pattern = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(pattern, dict):
            raise FilterPatternError(f"a filter pattern must be a JSON object, got {raw!r}")
        _validate(pattern, path="")
        patterns.append(pattern)
    return patterns


def matches_any(patterns: Sequence[Mapping[str, Any]], event: Mapping[str, Any]) -> bool:
    """True when there are no patterns or the event matches at least one."""
    return not patterns or any(matches_pattern(pattern, event) for pattern in patterns)


def matches_pattern(pattern: Mapping[str, Any], event: Any) -> bool:
    event_map = event if isinstance(event, Mapping) else {}
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches_pattern(option, event_map) for option in expected):
                return False
            continue
        actual = event_map.get(key, _MISSING)
        if isinstance(expected, Mapping):
            if not matches_pattern(expected, actual if isinstance(actual, Mapping) else {}):
                return False
        elif not _matches_leaf(expected, actual):
            return False
    return True


def _matches_leaf(matchers: Sequence[Any], actual: Any) -> bool:
    if isinstance(actual, Mapping):
        return False
    present = actual is not _MISSING
    values: list[Any] = ([*actual] if isinstance(actual, list) else [actual]) if present else []
    for matcher in matchers:
        if isinstance(matcher, Mapping) and "exists" in matcher:
            if bool(matcher["exists"]) == present:
                return True
            continue
        if any(_matches_value(matcher, value) for value in values):
            return True
    return False


def _matches_value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _equals(matcher, value)
    ((kind, arg),) = matcher.items()
    if kind == "prefix":
        return _string_test(arg, value, str.startswith)
    if kind == "suffix":
        return _string_test(arg, value, str.endswith)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(arg).casefold()
    if kind == "wildcard":
        regex = ".*".join(re.escape(part) for part in str(arg).split("*"))
        return isinstance(value, str) and re.fullmatch(regex, value, flags=re.DOTALL) is not None
    if kind == "anything-but":
        return _anything_but(arg, value)
    if kind == "numeric":
        number = _as_number(value)
        if number is None:
            return False
        return all(_NUMERIC_OPERATORS[arg[i]](number, float(arg[i + 1])) for i in range(0, len(arg), 2))
    if kind == "cidr":
        try:
            return ipaddress.ip_address(str(value)) in ipaddress.ip_network(str(arg), strict=False)
        except ValueError:
            return False
    raise FilterPatternError(f"unsupported matcher {kind!r}")


def _string_test(arg: Any, value: Any, test: Callable[[str, str], bool]) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(arg, Mapping) and "equals-ignore-case" in arg:
        return test(value.casefold(), str(arg["equals-ignore-case"]).casefold())
    return test(value, str(arg))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, Mapping):
        ((kind, inner),) = arg.items()
        if kind == "equals-ignore-case":
            options = inner if isinstance(inner, list) else [inner]
            return isinstance(value, str) and value.casefold() not in {str(o).casefold() for o in options}
        return isinstance(value, str) and not _matches_value({kind: inner}, value)
    options = arg if isinstance(arg, list) else [arg]
    return not any(_equals(option, value) for option in options)


def _equals(expected: Any, value: Any) -> bool:
    if expected is None or isinstance(expected, bool):
        return value is expected
    if isinstance(expected, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool) and float(value) == expected
    return isinstance(value, str) and value == expected


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _validate(pattern: Mapping[str, Any], path: str) -> None:
    for key, expected in pattern.items():
        where = f"{path}.{key}" if path else key
        if key == "$or":
            if not isinstance(expected, list) or len(expected) < 2:
                raise FilterPatternError(f"{where}: $or needs a list of at least two patterns")
            for option in expected:
                if not isinstance(option, Mapping):
                    raise FilterPatternError(f"{where}: every $or option must be an object")
                _validate(option, path)
            continue
        if isinstance(expected, Mapping):
            _validate(expected, where)
            continue
        if not isinstance(expected, list):
            raise FilterPatternError(f"{where}: a pattern leaf must be a list of matchers, got {expected!r}")
        for matcher in expected:
            _validate_matcher(matcher, where)


def _validate_matcher(matcher: Any, where: str) -> None:
    if not isinstance(matcher, Mapping):
        if isinstance(matcher, list):
            raise FilterPatternError(f"{where}: nested lists are not allowed")
        return
    if len(matcher) != 1:
        raise FilterPatternError(f"{where}: a matcher object has exactly one key, got {dict(matcher)}")
    ((kind, arg),) = matcher.items()
    if kind in {"prefix", "suffix"}:
        if not (isinstance(arg, str) or (isinstance(arg, Mapping) and set(arg) == {"equals-ignore-case"})):
            raise FilterPatternError(f"{where}: {kind} takes a string")
    elif kind in {"equals-ignore-case", "wildcard", "cidr"}:
        if not isinstance(arg, str):
            raise FilterPatternError(f"{where}: {kind} takes a string")
    elif kind == "exists":
        if not isinstance(arg, bool):
            raise FilterPatternError(f"{where}: exists takes true or false")
    elif kind == "numeric":
        if (
            not isinstance(arg, list)
            or len(arg) not in (2, 4)
            or any(arg[i] not in _NUMERIC_OPERATORS for i in range(0, len(arg), 2))
            or any(isinstance(arg[i], bool) or not isinstance(arg[i], int | float) for i in range(1, len(arg), 2))
        ):
            raise FilterPatternError(f"{where}: numeric takes [op, number] or [op, number, op, number]")
    elif kind == "anything-but":
        if isinstance(arg, Mapping) and (
            len(arg) != 1 or next(iter(arg)) not in {"prefix", "suffix", "equals-ignore-case"}
        ):
            raise FilterPatternError(f"{where}: anything-but takes a value, a list or prefix/suffix")
    else:
        raise FilterPatternError(f"{where}: unsupported matcher {kind!r}")
