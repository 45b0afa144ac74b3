"""Demand per SKU, measured from the order history: an exponentially weighted rate of
units ordered per day, with the window as its time constant (docs/decisions.md 58).

The SKU counts every unit ordered (``ordered``, added by each new line in its own
transaction). Whenever the allotter recomputes the SKU it folds what was ordered since
the last rating into the rate::

    rate' = rate * exp(-dt / window) + units / window

so a steady demand of q units a day settles at about q, a burst fades with the window,
and a SKU nobody orders decays towards zero (read at any moment with :func:`rate_at`,
without a write). Pure: times in, numbers out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

DEFAULT_WINDOW_DAYS = 28


@dataclass(frozen=True, slots=True)
class DemandRate:
    per_day: float = 0.0  # as of ``at``
    at: str | None = None  # when it was rated (the service's timestamp)
    counted: int = 0  # the SKU's ``ordered`` total it includes

    def at_time(self, now: str, window_days: float = DEFAULT_WINDOW_DAYS) -> float:
        """The rate at ``now``: decayed since it was rated."""
        if self.at is None or self.per_day <= 0:
            return 0.0
        return self.per_day * math.exp(-max(0.0, _days(self.at, now)) / window_days)


def rated(demand: DemandRate, ordered: int, now: str, window_days: float = DEFAULT_WINDOW_DAYS) -> DemandRate:
    """The demand with every unit ordered up to ``ordered`` folded in, rated at ``now``."""
    units = ordered - demand.counted
    if units <= 0 and demand.at is not None:
        return demand
    return DemandRate(demand.at_time(now, window_days) + max(0, units) / window_days, now, ordered)


def _days(since: str, until: str) -> float:
    start = datetime.fromisoformat(since.replace("Z", "+00:00"))
    end = datetime.fromisoformat(until.replace("Z", "+00:00"))
    return (end - start).total_seconds() / 86400
