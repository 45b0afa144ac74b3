"""Lambda event filtering (FilterCriteria) as the local stream delivery applies it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.filters import FilterPatternError, compile_filters, matches_any, matches_pattern


def _record(sk: str, **new_image: dict[str, str]) -> dict[str, Any]:
    return {
        "eventName": "MODIFY",
        "dynamodb": {
            "Keys": {"pk": {"S": "SKU#1"}, "sk": {"S": sk}},
            "NewImage": {"pk": {"S": "SKU#1"}, "sk": {"S": sk}, **new_image},
        },
    }


TEMPLATE_PATTERN = {"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "LINE#"}, "SKU"]}}}}


@pytest.mark.parametrize(
    ("sk", "expected"),
    [("SKU", True), ("LINE#0001", True), ("LINE#", True), ("SKUS", False), ("ORDER", False), ("line#1", False)],
)
def test_exact_values_and_prefix_in_one_list(sk: str, expected: bool) -> None:
    assert matches_pattern(TEMPLATE_PATTERN, _record(sk)) is expected


def test_exists_applies_to_leaves_only() -> None:
    record = _record("SKU", qty={"N": "5"})
    assert matches_pattern({"dynamodb": {"NewImage": {"qty": {"N": [{"exists": True}]}}}}, record)
    assert not matches_pattern({"dynamodb": {"NewImage": {"gone": {"N": [{"exists": True}]}}}}, record)
    assert matches_pattern({"dynamodb": {"NewImage": {"gone": {"N": [{"exists": False}]}}}}, record)
    assert not matches_pattern({"dynamodb": {"NewImage": {"qty": [{"exists": True}]}}}, record)  # an object


def test_anything_but_numeric_and_nested_objects() -> None:
    record = _record("SKU", qty={"N": "5"}, state={"S": "open"})
    assert matches_pattern({"eventName": [{"anything-but": ["INSERT", "REMOVE"]}]}, record)
    assert not matches_pattern({"eventName": [{"anything-but": "MODIFY"}]}, record)
    assert matches_pattern({"dynamodb": {"NewImage": {"state": {"S": [{"anything-but": {"prefix": "clo"}}]}}}}, record)
    assert not matches_pattern({"dynamodb": {"NewImage": {"missing": {"S": [{"anything-but": "x"}]}}}}, record)
    assert matches_pattern({"dynamodb": {"NewImage": {"qty": {"N": [{"numeric": [">", 0, "<=", 5]}]}}}}, record)
    assert not matches_pattern({"dynamodb": {"NewImage": {"qty": {"N": [{"numeric": ["<", 5]}]}}}}, record)
    assert matches_pattern({"eventName": ["MODIFY"], "dynamodb": {"Keys": {"pk": {"S": ["SKU#1"]}}}}, record)
    assert not matches_pattern({"eventName": ["MODIFY"], "dynamodb": {"Keys": {"pk": {"S": ["SKU#2"]}}}}, record)


def test_numbers_strings_and_null_match_by_type() -> None:
    event = {"n": 5, "s": "5", "z": None, "list": ["a", "b"]}
    assert matches_pattern({"n": [5]}, event)
    assert not matches_pattern({"s": [5]}, event)
    assert matches_pattern({"s": ["5"]}, event)
    assert matches_pattern({"z": [None]}, event)
    assert matches_pattern({"list": ["b"]}, event)  # any element of a list
    assert matches_pattern({"s": [{"suffix": "5"}], "$or": [{"n": [1]}, {"n": [5]}]}, event)
    assert matches_pattern({"s": [{"equals-ignore-case": "5"}]}, event)


def test_filters_are_ored_and_no_filters_match_everything() -> None:
    filters = compile_filters(
        {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}, {"Pattern": json.dumps(TEMPLATE_PATTERN)}]}
    )
    assert matches_any(filters, _record("SKU"))
    assert not matches_any(filters, _record("ORDER"))
    assert matches_any([], _record("ORDER"))


@pytest.mark.parametrize(
    "pattern",
    [
        {"eventName": "INSERT"},  # a leaf must be a list
        {"eventName": [{"prefix": 1}]},
        {"eventName": [{"numeric": [">"]}]},
        {"eventName": [{"bogus": 1}]},
        {"eventName": [{"exists": "yes"}]},
    ],
)
def test_invalid_patterns_are_rejected(pattern: dict[str, Any]) -> None:
    with pytest.raises(FilterPatternError):
        compile_filters({"Filters": [{"Pattern": json.dumps(pattern)}]})
