"""The service's business metrics, published as CloudWatch embedded metric format (EMF)
through powertools Metrics: one JSON line on the function's standard output, which
CloudWatch turns into metrics in the ``Backorders`` namespace.

Every metric is declared here, once, with what it counts. Services know nothing of
metrics: a handler counts from what a service returned (``*_counts``) and publishes the
counts of its invocation (``publish``).

The only dimension is powertools' ``service`` (``POWERTOOLS_SERVICE_NAME``). Never add a
SKU, order, shop or customer as a dimension or as metadata: each distinct dimension value
is a separate CloudWatch metric, billed by the month, and EMF lines are readable by
anyone who can read the logs.

To add a metric: a member of ``Metric`` with its comment, a ``*_counts`` function that
counts it from the result of the service that does the thing, and ``publish(...)`` of
those counts in the handler that called the service.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

if TYPE_CHECKING:
    from backorders.domain.model import OrderLine

# Alarms and dashboards name it, so it is fixed here rather than configured
# (tests/unit/test_template.py checks that the template agrees).
NAMESPACE = "Backorders"


class Metric(StrEnum):
    # Units handed to lines: a recompute's takes (units moved to a higher priority count
    # once, at the line that takes them) and a manual fill's units. Like the two line
    # counts below, it leaves out the sweep's recomputes: the sweep reports the SKUs it
    # changed only (SweepCorrections).
    UNITS_ALLOTTED = "UnitsAllotted"
    # Lines that had no backordered unit and now have some: a recompute gave their units
    # to a higher priority, or an edit (more units, a forced backorder) left them short.
    # A new line is not counted: every unit starts on backorder until its first recompute.
    LINES_BACKORDERED = "LinesBackordered"
    # Backordered lines that received units (partial or complete, as PRODUCT.md's "backorder
    # filled"): from a recompute or a manual fill. A new line served by its first recompute
    # counts too (see LinesEntered).
    BACKORDERS_FILLED = "BackordersFilled"
    # Recomputes started over from a fresh read because the stored state changed meanwhile
    # (or a read or write was throttled): attempts beyond the first.
    RECOMPUTE_RETRIES = "RecomputeRetries"
    # Order lines of new orders (a replayed delivery adds none).
    LINES_ENTERED = "LinesEntered"
    # SKUs whose allotment the scheduled sweep had to change: the stream had not converged
    # them (index lag, a record given up, a failure the stream did not retry).
    SWEEP_CORRECTIONS = "SweepCorrections"
    # Purchase-order recommendations a planner run created, updated in place, or withdrawn;
    # suppliers whose review it moved forward (prepone).
    POS_RECOMMENDED = "PurchaseOrdersRecommended"
    POS_UPDATED = "PurchaseOrdersUpdated"
    POS_WITHDRAWN = "PurchaseOrdersWithdrawn"
    REVIEWS_PREPONED = "ReviewsPreponed"


metrics = Metrics(namespace=NAMESPACE)


class LineMove(Protocol):
    """One line before and after a change (``LineChange``)."""

    @property
    def before(self) -> OrderLine: ...
    @property
    def after(self) -> OrderLine: ...
    @property
    def delta(self) -> int: ...


class Plan(Protocol):
    @property
    def changes(self) -> Sequence[LineMove]: ...


class Recompute(Protocol):
    """What ``Allotter.recompute`` returns."""

    @property
    def plan(self) -> Plan: ...
    @property
    def attempts(self) -> int: ...


def _count_line(counts: Counter[Metric], backordered_before: int, backordered_after: int, delta: int) -> None:
    if backordered_before == 0 and backordered_after > 0:
        counts[Metric.LINES_BACKORDERED] += 1
    elif backordered_before > 0 and delta > 0:
        counts[Metric.BACKORDERS_FILLED] += 1


def line_counts(changes: Iterable[LineMove]) -> Counter[Metric]:
    """Lines an edit put on backorder or filled."""
    counts: Counter[Metric] = Counter()
    for change in changes:
        _count_line(counts, change.before.backordered, change.after.backordered, change.delta)
    return counts


def recompute_counts(result: Recompute) -> Counter[Metric]:
    counts: Counter[Metric] = Counter()
    for change in result.plan.changes:
        # a recompute changes allotments only: each unit allotted comes off the backorder
        # (reading ``after`` would build every line of a large plan once more)
        delta, before = change.delta, change.before.backordered
        _count_line(counts, before, before - delta, delta)
        if delta > 0:
            counts[Metric.UNITS_ALLOTTED] += delta
    counts[Metric.RECOMPUTE_RETRIES] += result.attempts - 1
    return counts


def fill_counts(*, units_filled: int, lines_filled: int) -> Counter[Metric]:
    """From ``FillService.fill``'s report."""
    return Counter({Metric.UNITS_ALLOTTED: units_filled, Metric.BACKORDERS_FILLED: lines_filled})


def intake_counts(status: str, lines: int) -> Counter[Metric]:
    """From ``OrderService.create``'s result: a replayed delivery enters nothing."""
    return Counter({Metric.LINES_ENTERED: lines if status == "created" else 0})


def sweep_counts(changed_skus: int) -> Counter[Metric]:
    return Counter({Metric.SWEEP_CORRECTIONS: changed_skus})


def plan_counts(report: Mapping[str, Any]) -> Counter[Metric]:
    """From ``Planner.run``'s report (``PlanReport.as_dict``)."""
    names = {"recommended": Metric.POS_RECOMMENDED, "updated": Metric.POS_UPDATED,
             "withdrawn": Metric.POS_WITHDRAWN, "preponed": Metric.REVIEWS_PREPONED}  # fmt: skip
    return Counter({metric: len(report.get(key) or ()) for key, metric in names.items()})


def publish(counts: Counter[Metric]) -> None:
    """Write the counts that are not zero as one EMF line now (nothing when all are):
    powertools' ``log_metrics`` decorator would warn on every invocation that counted
    nothing, such as every read of the API."""
    for metric, value in sorted(counts.items()):
        if value:
            metrics.add_metric(name=metric.value, unit=MetricUnit.Count, value=value)
    if metrics.metric_set:
        metrics.flush_metrics()
    # flush_metrics prints and clears, but with POWERTOOLS_METRICS_DISABLED (or DEV) set it
    # prints nothing and keeps the values: a warm environment must not carry them over
    metrics.clear_metrics()
