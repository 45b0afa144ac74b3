"""A SKU's demand rate, measured from the units ordered: exponentially weighted, with the
window as its time constant (domain.demand). Pure."""

from __future__ import annotations

import pytest

from backorders.domain.demand import DemandRate, rated


def day(n: int) -> str:
    return f"2026-11-{n:02d}T12:00:00.000000Z"


def test_a_steady_demand_settles_at_its_daily_units():
    demand, ordered = DemandRate(), 0
    for n in range(1, 30):
        ordered += 2
        demand = rated(demand, ordered, day(n), window_days=7)
    # 2 units a day with steps of one day: the rate settles at 2 / (7 * (1 - e^(-1/7))) = 2.15
    assert demand.at_time(day(29), window_days=7) == pytest.approx(2.15, abs=0.05)


def test_a_burst_fades_with_the_window_and_no_orders_decay_towards_zero():
    demand = rated(DemandRate(), 28, day(1), window_days=28)
    assert demand.per_day == pytest.approx(1.0)
    assert demand.at_time(day(29), window_days=28) == pytest.approx(1 / 2.718281828, rel=0.01)


def test_rating_again_without_new_orders_changes_nothing():
    demand = rated(DemandRate(), 10, day(1))
    assert rated(demand, 10, day(5)) is demand
