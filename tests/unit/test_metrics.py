"""Business metrics: what each service result counts, and what reaches CloudWatch (one EMF
line, the service's namespace, no dimension but the service). No moto: results are built
from domain objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from backorders.adapters import metrics
from backorders.adapters.metrics import (
    Metric,
    fill_counts,
    intake_counts,
    line_counts,
    publish,
    recompute_counts,
    sweep_counts,
)
from backorders.domain.allotment import AllotmentPlan, LineChange
from tests.support import emf
from tests.support.builders import line


@dataclass
class Recomputed:  # the public fields of Allotter.recompute's result
    plan: AllotmentPlan
    attempts: int = 1


def recomputed(*changes: LineChange, attempts: int = 1) -> Recomputed:
    return Recomputed(AllotmentPlan("TEXTBOOK", changes, len(changes)), attempts)


def allot(quantity: int, before: int, after: int, **fields: Any) -> LineChange:
    start = line("812", quantity, allotted=before, **fields)
    return LineChange(start, allotted=after)


def test_units_allotted_are_the_units_lines_take_not_those_they_give_back() -> None:
    counts = recompute_counts(recomputed(allot(3, 3, 0), allot(5, 0, 3), allot(2, 0, 2)))
    assert counts[Metric.UNITS_ALLOTTED] == 5


def test_a_line_that_loses_its_units_to_a_higher_priority_is_backordered() -> None:
    counts = recompute_counts(recomputed(allot(3, 3, 1), allot(3, 1, 0)))
    assert counts[Metric.LINES_BACKORDERED] == 1  # the second one was backordered already
    assert counts[Metric.BACKORDERS_FILLED] == 0


def test_a_backordered_line_that_gets_units_is_filled_partly_or_wholly() -> None:
    counts = recompute_counts(recomputed(allot(3, 0, 3), allot(3, 1, 2), allot(3, 0, 0)))
    assert counts[Metric.BACKORDERS_FILLED] == 2
    assert counts[Metric.LINES_BACKORDERED] == 0


def test_a_recompute_that_had_to_read_again_counts_each_retry() -> None:
    assert recompute_counts(recomputed(attempts=3))[Metric.RECOMPUTE_RETRIES] == 2
    assert recompute_counts(recomputed())[Metric.RECOMPUTE_RETRIES] == 0


def test_an_edit_that_leaves_a_served_line_short_backorders_it() -> None:
    served = line("812", 2, allotted=2)
    more = LineChange(served, line("812", 5, allotted=2))  # quantity raised
    fewer = LineChange(served, line("812", 1, allotted=1))
    assert line_counts([more, fewer]) == {Metric.LINES_BACKORDERED: 1}


def test_a_manual_fill_counts_its_units_and_lines() -> None:
    assert fill_counts(lines_filled=2, units_filled=5) == {
        Metric.UNITS_ALLOTTED: 5,
        Metric.BACKORDERS_FILLED: 2,
    }


def test_only_a_new_order_enters_lines() -> None:
    assert intake_counts("created", 3)[Metric.LINES_ENTERED] == 3
    assert intake_counts("duplicate", 3)[Metric.LINES_ENTERED] == 0


def test_publish_writes_one_emf_line_in_the_service_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    publish(recompute_counts(recomputed(allot(3, 0, 2), attempts=2)) + sweep_counts(1))
    out = capsys.readouterr().out
    (blob,) = emf.blobs(out)
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == metrics.NAMESPACE == "Backorders"
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == {
        "UnitsAllotted": "Count",
        "BackordersFilled": "Count",
        "RecomputeRetries": "Count",
        "SweepCorrections": "Count",
    }
    assert emf.totals(out) == {"UnitsAllotted": 2, "BackordersFilled": 1, "RecomputeRetries": 1, "SweepCorrections": 1}
    assert {d for dims in directive["Dimensions"] for d in dims} <= {"service"}


def test_nothing_counted_publishes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    publish(recompute_counts(recomputed()))
    publish(intake_counts("duplicate", 1))
    assert emf.blobs(capsys.readouterr().out) == []


def test_every_metric_name_is_one_cloudwatch_accepts() -> None:
    names = [m.value for m in Metric]
    assert len(set(names)) == len(names)
    assert all(name.isidentifier() and name[0].isupper() and len(name) <= 255 for name in names)


def test_a_planner_run_counts_its_recommendations_and_preponed_reviews():
    report = {"recommended": ["PO-1", "PO-2"], "updated": ["PO-3"], "withdrawn": [], "preponed": ["acme"]}
    assert metrics.plan_counts(report) == {
        Metric.POS_RECOMMENDED: 2, Metric.POS_UPDATED: 1, Metric.POS_WITHDRAWN: 0, Metric.REVIEWS_PREPONED: 1,
    }  # fmt: skip
