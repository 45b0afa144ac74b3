"""A seeded, deterministic simulation of one webshop day against the real handlers.

``run(seed, steps)`` is a pure function of its arguments. Each step is one action:

* ``event``: the webshop generates a write (order, cancellation, return, receipt, count,
  adjustment, priority change, forced backorder, new product) and hands it to the network;
* ``shopify``: the shop that sells on Shopify creates, edits or cancels an order, and
  Shopify sends its webhooks through the network (:mod:`shopify`: drops, duplicates,
  reordering, retries with the same webhook id);
* ``deliver``: the network delivers a request or webhook it held back, a duplicate, or a retry;
* ``warehouse``: the warehouse reads an order and releases or ships a shipment;
* ``buyer``: the buyer runs the planner, places, receives or cancels a purchase order, or
  changes a product's purchasing settings (:mod:`buyer`), through the network;
* ``stream``: one allotter invocation with a batch of the table stream;
* ``planner``: a scheduled planner run (the allotment sweep, then the purchase planner):
  mostly the frequent job, sometimes the daily one, sometimes delivered twice;
* ``idle``: time passes.

Besides, the catch-up schedule runs every ``CATCH_UP_EVERY`` of the fake clock (sometimes
delivered twice, as EventBridge may): the real catch-up function, reading the Shopify
shop's orders updated since its last run (less its 10-minute overlap) and storing them
as deliveries the stream applies.

Faults (see :mod:`faults`, :mod:`stream`, :mod:`webshop`) fire with seeded
probabilities, and the invariants (:mod:`invariants`) are checked after every step.
Concurrent Lambdas meet at the storage boundary (``StorageFaults.interleave_with``):
while the allotter is between storage calls a pending webshop or buyer request (or
webhook) is delivered; while the API, the planner or the catch-up is, one allotter batch
runs, or a pending request is delivered (a buyer's placement while a planner plans), or
a second planner runs, or the catch-up runs (two runs at once, when one is late).

At the end of the day faults stop, everything in flight is delivered (requests and
webhooks; a webhook Shopify dropped stays dropped), the stream is drained, the catch-up
runs, the stream is drained, the planner runs, the stream is drained again, and the
end-of-day checks run.

A failure raises :class:`SimulationFailure` with the seed, the step, the problems, the
last steps of the trace and the command that replays it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from tests.simulation import invariants
from tests.simulation.buyer import Buyer
from tests.simulation.cloud import Cloud
from tests.simulation.faults import FaultPlan, SimulatedCrash
from tests.simulation.shopify import ShopifyShop
from tests.simulation.stream import StreamDriver
from tests.simulation.webshop import Webshop

ACTIONS = {
    "event": 10,
    "shopify": 4,
    "deliver": 5,
    "warehouse": 4,
    "buyer": 6,
    "stream": 7,
    "planner": 1.5,
    "idle": 0.6,
}
CATCH_UP_EVERY = timedelta(minutes=15)  # template.yaml: CatchUpFunction's rate(15 minutes)
CATCH_UP_TWICE = 0.1  # EventBridge delivers a scheduled run twice
# What runs while the API or the planner is between storage calls: (what, weight).
MEANWHILE = {"stream": 6, "request": 3, "planner": 1, "catch-up": 0.4}
# Changes per allotter transaction (production: 40). Scaled down on some seeds so that
# recomputes commit in several transactions and a crash can fall between them.
CHUNK_KNOB = (None, None, 3, 1)
TRACE_TAIL = 40


def replay_hint(seed: int, steps: int) -> str:
    return (
        f"replay: make soak SEEDS=1 SEED={seed} STEPS={steps}\n"
        f"    or: .venv/bin/pytest tests/simulation -m soak --seeds 1 --seed {seed} --steps {steps}"
    )


class SimulationFailure(AssertionError):
    def __init__(self, seed: int, step: int | str, steps: int, problems: list[str], trace: list[str]) -> None:
        self.seed, self.step, self.problems = seed, step, problems
        shown = "\n".join(f"  - {p}" for p in problems[:25])
        more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
        tail = "\n".join(trace[-TRACE_TAIL:])
        super().__init__(
            f"simulation seed {seed} failed at step {step} of {steps}:\n{shown}{more}\n"
            f"last steps:\n{tail}\n{replay_hint(seed, steps)}"
        )


@dataclass
class RunResult:
    seed: int
    steps: int
    digest: str
    chunk: int | None
    actions: dict[str, int] = field(default_factory=dict)
    storage_faults: dict[str, Any] = field(default_factory=dict)
    network_faults: dict[str, int] = field(default_factory=dict)
    stream: dict[str, Any] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)
    requests: int = 0
    acknowledged: int = 0
    orders: int = 0
    known_bugs: list[str] = field(default_factory=list)
    purchasing: dict[str, Any] = field(default_factory=dict)
    webhooks: dict[str, Any] = field(default_factory=dict)
    trace: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"seed {self.seed}: {self.steps} steps clean, {self.requests} webshop writes "
            f"({self.acknowledged} acknowledged, {self.orders} orders), "
            f"statuses {dict(sorted(self.statuses.items()))}, "
            f"storage {self.storage_faults}, network {self.network_faults}, stream {self.stream}, chunk {self.chunk}, "
            f"purchasing {self.purchasing}, webhooks {self.webhooks}"
            + (f", met known {', '.join(self.known_bugs)}" if self.known_bugs else "")
        )


def run(seed: int, steps: int = 150, plan: FaultPlan | None = None) -> RunResult:
    plan = FaultPlan() if plan is None else plan
    rng = random.Random(f"{seed}:scheduler")
    chunk = random.Random(f"{seed}:knobs").choice(CHUNK_KNOB)
    trace: list[str] = [f"seed {seed}, {steps} steps, allotter chunk {chunk or 'production'}"]
    actions: dict[str, int] = {}
    with Cloud(seed, plan, chunk=chunk) as cloud:
        shop = Webshop(cloud, random.Random(f"{seed}:webshop"), random.Random(f"{seed}:network"), plan)
        shopify = ShopifyShop(
            cloud, shop, random.Random(f"{seed}:shopify"), random.Random(f"{seed}:shopify-network"), plan
        )
        buyer = Buyer(cloud, shop, random.Random(f"{seed}:buyer"))
        stream = StreamDriver(cloud, random.Random(f"{seed}:stream"), plan)
        watch = invariants.OrderingWatch(cloud)
        cloud.faults.observe = watch.observe
        schedules = random.Random(f"{seed}:planner")
        catch_ups = random.Random(f"{seed}:catch-up")
        meanwhile = random.Random(f"{seed}:meanwhile")
        busy = False

        def deliver_one() -> str | None:
            """A due request or webhook (both due: either, seeded)."""
            if shop.due() and shopify.due():
                first = meanwhile.random() < 0.5
                return shop.deliver_one() if first else shopify.deliver_one()
            return shop.deliver_one() or shopify.deliver_one()

        def interleave(actor: str) -> None:
            """Another Lambda runs while ``actor`` is about to commit."""
            nonlocal busy
            if busy:
                return
            busy = True
            try:
                if actor == "allotter":
                    line = deliver_one()
                else:
                    what = meanwhile.choices(list(MEANWHILE), weights=list(MEANWHILE.values()))[0]
                    if what == "planner":
                        line = _planner(cloud, schedules)
                    elif what == "catch-up":  # a late or doubled schedule: two runs at once
                        line = shopify.catch_up()
                    elif what == "request":
                        line = deliver_one()
                    else:
                        line = stream.pump()
                if line:
                    trace.append(f"      meanwhile ({actor} between storage calls): {line}")
            finally:
                busy = False

        cloud.faults.interleave_with = interleave

        def check(step: int | str, *, final: bool = False) -> None:
            problems = list(cloud.faults.violations) + watch.take_problems()
            cloud.faults.violations.clear()
            with cloud.faults.suspended():
                snap = invariants.snapshot(cloud)
                problems += invariants.check_state(snap, shop)
                problems += invariants.check_purchasing(snap, shop, buyer)
                problems += invariants.check_replays(shop)
                problems += invariants.check_emails(cloud)
                problems += invariants.check_webhooks(snap, shopify, cloud)
                if final:
                    problems += invariants.check_converged(snap, shop)
                    problems += invariants.check_pending_shipments(snap)
                    problems += invariants.check_answered(shop)
                    problems += invariants.check_acknowledged(snap, shop)
                    problems += invariants.check_planning(snap, cloud.clock.now)
                    problems += watch.check_ceiling(snap)
                    problems += invariants.check_shopify(snap, shopify, stream)
            shop.known_bugs |= watch.known
            if problems:
                raise SimulationFailure(seed, step, steps, problems, trace)

        buyer.open_desk()
        shop.open_shop()
        shopify.open_shop()
        stream.drain()
        check("opening")
        cloud.faults.enabled = True
        next_catch_up = cloud.clock.now + CATCH_UP_EVERY
        for step in range(1, steps + 1):
            shop.step = step
            cloud.clock.advance(rng.randint(0, 240))
            if cloud.clock.now >= next_catch_up:
                next_catch_up += CATCH_UP_EVERY
                runs = [shopify.catch_up() for _ in range(2 if catch_ups.random() < CATCH_UP_TWICE else 1)]
                trace.append(f"[{step}] catch-up schedule: {'; then delivered again: '.join(runs)}")
            choices = [a for a in ACTIONS if a != "deliver" or shop.due() or shopify.due()]
            action = rng.choices(choices, weights=[ACTIONS[a] for a in choices])[0]
            actions[action] = actions.get(action, 0) + 1
            if action == "deliver":
                said = deliver_one() or "nothing due"
            elif action == "shopify":
                said = shopify.event()
            else:
                said = _act(action, shop, buyer, stream, cloud, schedules)
            trace.append(f"[{step}] {action}: {said}")
            check(step)

        # the end of the day: faults off, everything delivered, the allotter settles
        cloud.faults.enabled = False
        shop.plan = stream.plan = shopify.plan = FaultPlan.none()
        shop.step = steps + 1
        trace.append(f"[end] delivered {shop.flush()} request(s) still in flight")
        trace.append(f"[end] delivered {shopify.flush()} webhook(s) still in flight")
        lost_before = len(stream.lost)
        trace.append(f"[end] stream drained in {stream.drain()} invocation(s)")
        shopify.last_report = None
        trace.append(f"[end] {shopify.catch_up()}")
        trace.append(f"[end] stream drained in {stream.drain()} invocation(s)")
        trace.append(f"[end] planner: {_planner(cloud)}")
        trace.append(f"[end] stream drained in {stream.drain()} invocation(s)")
        check("end of day", final=True)
        given_up = stream.lost[lost_before:]
        if given_up:
            skus = sorted({_sku_of(r) for r in given_up})
            problem = f"with every fault off the allotter gave up on {len(given_up)} failing record(s) of {skus}"
            raise SimulationFailure(seed, "end of day", steps, [problem], trace)
        with cloud.faults.suspended():
            snap = invariants.snapshot(cloud)
            digest = _digest(trace, snap)
        return RunResult(
            seed=seed,
            steps=steps,
            digest=digest,
            chunk=chunk,
            actions=actions,
            storage_faults={k: v for k, v in asdict(cloud.faults.stats).items() if k != "by_operation"},
            network_faults=dict(shop.network_faults),
            stream={
                "invocations": stream.delivery.stats.invocations,
                **{k: stream.stats[k] for k in ("partial_failures", "function_errors", "crashes")},
                "discarded_records": stream.delivery.stats.records_discarded,
            },
            statuses=dict(shop.status_counts),
            requests=len(shop.requests),
            acknowledged=sum(1 for r in shop.requests if r.acked),
            orders=len(shop.orders),
            known_bugs=sorted(shop.known_bugs),
            purchasing={
                "planning reads": watch.planning_reads,
                "lines placed": watch.placed_lines,
                **dict(sorted(Counter(po["po_status"] for po in snap.pos.values()).items())),
            },
            webhooks={
                "orders": len(shopify.orders),
                "sent": sum(1 for h in shopify.hooks if h.genuine),
                "acknowledged": sum(1 for h in shopify.hooks if h.acked),
                **shopify.faults,
                "catch-up": dict(shopify.catch_ups),
            },
            trace=trace,
        )


def _act(action: str, shop: Webshop, buyer: Buyer, stream: StreamDriver, cloud: Cloud, schedules: random.Random) -> str:
    if action == "event":
        return shop.event()
    if action == "warehouse":
        return shop.warehouse()
    if action == "buyer":
        return buyer.act()
    if action == "stream":
        return stream.pump() or "stream idle"
    if action == "planner":
        return _planner(cloud, schedules)
    return "time passes"


def _sku_of(record: dict[str, Any]) -> str:
    image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
    return str(image.get("sku", {}).get("S", "?"))


def _planner(cloud: Cloud, schedules: random.Random | None = None) -> str:
    """One scheduled planner invocation (``schedules`` None: the frequent job, once).
    EventBridge may deliver a schedule twice: then the same job runs again at once."""
    job, times = "frequent", 1
    if schedules is not None:
        job = "daily" if schedules.random() < 0.15 else "frequent"
        times = 2 if schedules.random() < 0.2 else 1
    said = []
    for _ in range(times):
        try:
            said.append(_ran(job, cloud.planner(job)))
        except SimulatedCrash:
            said.append(f"planner ({job}) crashed")
        except Exception as exc:  # the schedule runs again later
            said.append(f"planner ({job}) failed: {type(exc).__name__}: {exc}")
    return "; then delivered again: ".join(said)


def _ran(job: str, report: dict[str, Any]) -> str:
    planned = report["planning"]
    kinds = ("recommended", "updated", "withdrawn", "reviewed", "deferred")
    changed = ", ".join(f"{k} {planned[k]}" for k in kinds if planned[k]) or "changed nothing"
    return f"planner ({job}): sweep of {report['skus']} SKU(s) changed {report['changed']}; planning {changed}"


def _digest(trace: list[str], snap: invariants.Snapshot) -> str:
    state = {
        "skus": snap.skus,
        "pos": snap.pos,
        "ledger": {k: sorted(v, key=lambda e: e["sk"]) for k, v in snap.ledger.items()},
        "orders": {"/".join(k): v for k, v in snap.orders.items()},
        "lines": {"/".join(k): v for k, v in snap.lines.items()},
        "shipments": {"/".join(k): sorted(v, key=lambda s: s["sk"]) for k, v in snap.shipments.items()},
    }
    text = "\n".join(trace) + json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
