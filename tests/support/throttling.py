"""DynamoDB throttling on purpose: the next call a predicate picks is answered with
DynamoDB's own ``ThrottlingException`` at the botocore boundary (as if botocore's
retries were exhausted), before it reaches moto, so nothing is read or written.

It reuses the simulation's fault wrapper (``tests.simulation.faults.StorageFaults``,
its one-shot ``throttle_when``); every other call goes through unchanged.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.simulation.faults import FaultPlan, StorageFaults

Call = Callable[[str, dict[str, Any]], bool]


def dynamodb(operation: str, *, sk: str | None = None, index: str | None = None) -> Call:
    """Picks a DynamoDB ``operation`` (``GetItem``, ``Query``, ``BatchGetItem``, ...),
    optionally only on items whose sort key starts with ``sk`` (GetItem) or on the
    index ``index`` (Query)."""

    def picks(called: str, params: dict[str, Any]) -> bool:
        if called != operation:
            return False
        if sk is not None and not params.get("Key", {}).get("sk", {}).get("S", "").startswith(sk):
            return False
        return index is None or params.get("IndexName") == index

    return picks


class Throttle:
    """The installed wrapper; ``fired`` says whether the planned throttle happened."""

    def __init__(self, faults: StorageFaults) -> None:
        self._faults = faults

    @property
    def fired(self) -> bool:
        return self._faults.throttle_when is None


@contextmanager
def throttled(when: Call) -> Iterator[Throttle]:
    """Throttle the first call ``when`` picks (once); every other call is served."""
    faults = StorageFaults(FaultPlan.none(), random.Random(0))
    faults.throttle_when = when
    with faults.installed(), faults.acting("test"):
        yield Throttle(faults)
