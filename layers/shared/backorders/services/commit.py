"""How a use case commits: the one retry loop, and line changes written in chunks.

- ``retrying`` runs a use case again from a fresh read when storage reports a
  concurrent change (``Conflict`` without a field) or throttling; every use case that
  reads, decides and writes goes through it.
- ``commit_changes`` writes line changes of one SKU in as few transactions as the
  100-item limit allows, each pinned to the SKU version the changes were planned from.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta

from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict, Throttled
from backorders.domain.notifications import Intent, change_intents
from backorders.domain.record_log import Event, describe, filled_units
from backorders.services.ports import UnitOfWork, Writes

# Per transaction: each change writes its line, one order-log entry and at most one
# notification intent; plus the SKU balance, one SKU-log entry and what ``finish`` adds.
# 30 changes -> at most 92 items, under DynamoDB's 100.
CHANGES_PER_TRANSACTION = 30
MAX_ATTEMPTS = 8


def backoff(attempt: int, sleep: Callable[[float], None]) -> None:
    sleep(min(0.5, 0.01 * (2**attempt)) * random.random())


def retrying[T](action: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``action`` again (it re-reads) when storage reports a concurrent change or
    throttling, with jittered backoff, up to ``MAX_ATTEMPTS``; a conflict raised by a
    rule (it names a field) goes straight out, as does the last failure."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return action()
        except Conflict as exc:
            if exc.field is not None or attempt == MAX_ATTEMPTS:
                raise
        except Throttled:
            if attempt == MAX_ATTEMPTS:
                raise
        backoff(attempt, sleep)
    raise AssertionError("unreachable")


def commit_changes(
    store: Writes,
    sku: str,
    version: int,
    changes: Sequence[LineChange],
    *,
    writer: str,
    event: Event,
    at: str,
    shop: str | None = None,
    finish: Callable[[UnitOfWork], None] | None = None,
    notifying: Mapping[str, int] | None = None,
) -> int:
    """Write line changes of one SKU in as few transactions as the 100-item limit
    allows, releases before takes, each conditioned on the SKU version the plan was
    made from (every commit bumps it by one). ``finish`` adds more writes to the last
    transaction, so they commit together with the last changes. The customers of shops
    in ``notifying`` (shop -> combining window in minutes) get the intents their lines'
    changes leave (``domain.notifications.change_intents``), in the same transaction.
    Returns the SKU version after."""
    starts = list(range(0, len(changes), CHANGES_PER_TRANSACTION)) or [0]
    for start in starts:
        chunk = changes[start : start + CHANGES_PER_TRANSACTION]
        uow = store.unit_of_work(writer=writer, event=event, at=at, shop=shop)
        for change in chunk:
            uow.change_line(change)
            uow.log(
                describe(change),
                sku=sku,
                shop=change.after.shop,
                order_id=change.after.order_id,
                line_no=change.after.line_no,
                delta=change.delta,
                filled=filled_units(change, at) or None,
            )
        for intent in customer_intents(chunk, at, notifying):
            uow.notify(intent)
        if chunk:
            net = sum(c.delta for c in chunk)
            uow.log(f"{len(chunk)} line(s) changed, {net:+d} allotted", sku=sku, delta=net)
        if finish is not None and start == starts[-1]:
            finish(uow)
        uow.touch_sku(sku, expect_version=version)
        uow.commit()
        version += 1
    return version


def customer_intents(changes: Sequence[LineChange], at: str, notifying: Mapping[str, int] | None) -> list[Intent]:
    """The intents of the changes whose shop notifies its customers."""
    if not notifying:
        return []
    out: list[Intent] = []
    for shop in sorted({c.before.shop for c in changes} & set(notifying)):
        window = timedelta(minutes=notifying[shop])
        out += change_intents((c for c in changes if c.before.shop == shop), at, window)
    return out
