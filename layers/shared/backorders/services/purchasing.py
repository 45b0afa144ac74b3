"""Purchasing use cases: the planner (recommendations from the planning index) and the
purchase-order life cycle (place, receive, cancel).

No double ordering, by construction:
- a supplier has at most one open recommendation per kind: its slot item is written
  with a condition on the recommendation it held when read, so a concurrent or repeated
  run updates that one in place or changes nothing;
- a recommendation's lines record the SKU's ``incoming`` they were planned against, and
  both the planner's commit and placing check it in the same transaction: a PO placed
  meanwhile makes the commit fail (the planner retries from a fresh read) or refuses the
  placement (409, until the next run revises the recommendation);
- placed, unreceived units are ``incoming`` on the SKU, so they are never proposed again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from backorders.domain.demand import DEFAULT_WINDOW_DAYS
from backorders.domain.errors import Conflict, InvalidInput, NotFound, Throttled
from backorders.domain.model import Movement, MovementKind, SkuBalance, Supplier
from backorders.domain.notifications import date_moved, po_intent
from backorders.domain.purchasing import (
    OPEN_STATUSES,
    Arrival,
    PoKind,
    PoStatus,
    Proposal,
    PurchaseOrder,
    Terms,
    arrivals_of,
    backorder_proposal,
    cancel,
    dating_key,
    emergency_proposal,
    expected_dates,
    incoming_change,
    move,
    place,
    preponed_review,
    purchased_change,
    receive,
    recommend,
    regular_proposal,
    revise,
    withdraw,
)
from backorders.services.commit import retrying
from backorders.services.ports import (
    Balances,
    Catalogue,
    Demand,
    ManualShops,
    PlanningGroup,
    Purchasing,
    UnitOfWork,
    Writes,
)

MAX_RECEIPT_LINES = 45  # a ledger entry and a SKU update per line, and the PO: one transaction


LINES_PER_TRANSACTION = 45  # expected dates (and their intents) written per transaction, with the SKU's version


class PurchasingStore(Writes, Purchasing, Catalogue, Balances, Demand, ManualShops, Protocol):
    """What planning and the PO life cycle read and write."""


@dataclass(slots=True)
class PlanReport:
    recommended: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    reviewed: list[str] = field(default_factory=list)  # suppliers whose review ran
    preponed: list[str] = field(default_factory=list)  # suppliers whose review moved forward
    dated: int = 0  # backordered lines whose expected date changed
    deferred: list[str] = field(default_factory=list)  # suppliers whose state kept moving: the next run
    suppliers: int = 0
    skus_read: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "recommended": self.recommended,
            "updated": self.updated,
            "withdrawn": self.withdrawn,
            "reviewed": self.reviewed,
            "preponed": self.preponed,
            "deferred": self.deferred,
            "lines_dated": self.dated,
            "suppliers": self.suppliers,
            "skus_read": self.skus_read,
        }


def new_po_id(at: str) -> str:
    return f"PO-{at[:10].replace('-', '')}-{uuid.uuid4().hex[:8].upper()}"


class Planner:
    """One planner run: every supplier's group of the planning index, settled against
    its open recommendations. Repeating a run, or running two at once, changes nothing."""

    def __init__(
        self,
        store: PurchasingStore,
        *,
        clock: Callable[[], str],
        today: Callable[[], date],
        window_days: float = DEFAULT_WINDOW_DAYS,
    ) -> None:
        self.store = store
        self.clock = clock
        self.today = today
        self.window_days = window_days
        self._arrivals: dict[str, list[Arrival]] | None = None

    def run(self, *, suppliers: Iterable[str] | None = None) -> PlanReport:
        """Plan every supplier, or only ``suppliers`` (reading just their groups)."""
        report = PlanReport()
        self._arrivals = None  # the placed POs' arrivals: read once per run, when needed
        groups = (
            self.store.planning()
            if suppliers is None
            else (group for supplier in sorted(set(suppliers)) for group in self.store.planning(supplier))
        )
        for group in groups:
            if group.supplier is None:
                continue
            report.suppliers += 1
            report.skus_read += len(group.positions)
            try:
                self._plan_supplier(group, report)
            except (Conflict, Throttled):
                # the index lags a PO placed a moment ago, or storage is busy: the next run settles it
                report.deferred.append(group.supplier_id)
        return report

    def _plan_supplier(self, group: PlanningGroup, report: PlanReport) -> None:
        assert group.supplier is not None
        supplier, today, now = group.supplier, self.today(), self.clock()
        terms = Terms.of(group.supplier_id, supplier.settings)
        rates = {p.product.sku: p.balance.demand.at_time(now, self.window_days) for p in group.positions}
        self._settle(terms, PoKind.BACKORDER, backorder_proposal(terms, group.positions), report, group.open)
        emergency = emergency_proposal(terms, group.positions, rates, today)
        self._settle(terms, PoKind.EMERGENCY, emergency, report, group.open)
        if (preponed := preponed_review(terms, group.positions, rates, today)) is not None:
            supplier = _with_settings(supplier, next_review_date=preponed.isoformat())
            self.store.put_supplier(supplier)
            terms = Terms.of(group.supplier_id, supplier.settings)
            report.preponed.append(group.supplier_id)
        if terms.review_due(today):
            # the regular order is made at the review and then waits for the buyer
            self._settle(terms, PoKind.REGULAR, regular_proposal(terms, group.positions), report)
            self.store.put_supplier(_with_settings(supplier, next_review_date=terms.review_after(today).isoformat()))
            report.reviewed.append(group.supplier_id)
        for position in group.positions:
            if position.balance.backordered > 0:
                report.dated += self._date(position.product.sku, terms, position.balance)

    def arrivals(self, sku: str) -> list[Arrival]:
        if self._arrivals is None:
            self._arrivals = arrivals_of(self.store.purchase_orders(sorted(OPEN_STATUSES)))
        return self._arrivals.get(sku, [])

    def _date(self, sku: str, terms: Terms, balance: SkuBalance | None = None) -> int:
        """Give the SKU's waiting lines their expected dates (PRODUCT.md: from the placed POs
        that cover them in allotment order, else today plus the lead time). Skipped when
        nothing they follow from changed (``dating_key``, kept on the SKU)."""
        arrivals = self.arrivals(sku)

        def attempt() -> int:
            current = self.store.balance(sku)
            if current is None or current.dated == dating_key(current.version, arrivals):
                return 0
            waiting = [line for line in self.store.demand(sku, lambda: 200) if line.backordered > 0]
            fallback = self.today() + timedelta(days=terms.lead_time_days)
            changes = list(expected_dates(waiting, arrivals, fallback=fallback))
            version, at = current.version, self.clock()
            notifying = self.store.shop_modes().notifying if changes else {}
            chunks = [changes[n : n + LINES_PER_TRANSACTION] for n in range(0, len(changes), LINES_PER_TRANSACTION)]
            for number, chunk in enumerate(chunks or [[]], 1):
                uow = self.store.unit_of_work(writer="planner", event=f"expected dates of {sku}", at=at)
                for line, on, source in chunk:
                    uow.date_line(line, on, source)
                    if line.shop in notifying and (moved := date_moved(line, on, at, _minutes(notifying[line.shop]))):
                        uow.notify(moved)
                if number == max(1, len(chunks)):
                    uow.set_dated(sku, dating_key(version + 1, arrivals))
                uow.touch_sku(sku, expect_version=version)
                uow.commit()
                version += 1
            return len(changes)

        listed = balance  # the index's copy: when its key still holds, nothing is read
        if listed is not None and listed.dated == dating_key(listed.version, arrivals):
            return 0
        return retrying(attempt)

    def _settle(
        self,
        terms: Terms,
        kind: PoKind,
        proposal: Proposal | None,
        report: PlanReport,
        listed: Mapping[PoKind, str] | None = None,
    ) -> None:
        """Make the open recommendation of ``kind`` say ``proposal``: create, update in
        place, withdraw, or leave it. With nothing to propose and no open recommendation
        ``listed`` in the index, nothing is read."""
        if proposal is None and listed is not None and kind not in listed:
            return

        def attempt() -> tuple[str, str] | None:
            at = self.clock()
            open_id = self.store.open_recommendation(terms.supplier_id, kind)
            current = self.store.purchase_order(open_id) if open_id else None
            uow = self.store.unit_of_work(writer="planner", event=f"planning {terms.supplier_id}", at=at)
            if current is not None and current.status is not PoStatus.RECOMMENDED:
                current = None  # placed or cancelled meanwhile: the slot is free again
            if proposal is None:
                if current is None:
                    return None
                uow.put_purchase_order(withdraw(current, at))
                uow.set_open_recommendation(terms.supplier_id, kind, None, was=open_id)
                outcome = "withdrawn", current.po_id
            elif current is None:
                po = recommend(new_po_id(at), proposal, at)
                uow.put_purchase_order(po)
                uow.set_open_recommendation(terms.supplier_id, kind, po.po_id, was=open_id)
                uow.notify(po_intent(po, "recommended", at))
                outcome = "recommended", po.po_id
            else:
                revised = revise(current, proposal, at)
                if revised is None:
                    return None
                uow.put_purchase_order(revised)
                uow.notify(po_intent(current, "updated", at))  # names the version this write makes
                outcome = "updated", current.po_id
            for line in proposal.lines if proposal else ():
                uow.expect_incoming(line.sku, line.incoming_seen, line.purchased_seen)
            uow.commit()
            return outcome

        outcome = retrying(attempt)
        if outcome is not None:
            getattr(report, outcome[0]).append(outcome[1])


def _minutes(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)


def _with_settings(supplier: Supplier, **changes: Any) -> Supplier:
    return Supplier(supplier.supplier_id, supplier.name, {**supplier.settings, **changes})


class PurchaseOrders:
    """The PO life cycle: place, receive (into stock, and from there into allotment), cancel."""

    def __init__(self, store: PurchasingStore, *, clock: Callable[[], str], today: Callable[[], date]) -> None:
        self.store = store
        self.clock = clock
        self.today = today

    def get(self, po_id: str) -> PurchaseOrder:
        po = self.store.purchase_order(po_id)
        if po is None:
            raise NotFound(f"purchase order {po_id} not found", field="id")
        return po

    def list(
        self, *, status: PoStatus | None = None, supplier: str | None = None, kind: PoKind | None = None
    ) -> list[PurchaseOrder]:
        statuses = [status] if status else list(PoStatus)
        return [
            po
            for po in self.store.purchase_orders(statuses)
            if (supplier is None or po.supplier_id == supplier) and (kind is None or po.kind is kind)
        ]

    def place(
        self, po_id: str, *, quantities: Mapping[str, int] | None = None, expected: date | None = None
    ) -> PurchaseOrder:
        def attempt() -> PurchaseOrder:
            at, po = self.clock(), self.get(po_id)
            supplier = self.store.supplier(po.supplier_id)
            lead_time = Terms.of(po.supplier_id, supplier.settings if supplier else {}).lead_time_days
            placed = place(po, at=at, today=self.today(), lead_time_days=lead_time, quantities=quantities,
                           expected=expected)  # fmt: skip
            uow = self._change(po, placed, at)
            uow.set_open_recommendation(po.supplier_id, po.kind, None, was=po.po_id)
            for line in po.lines:  # placed against the incoming it was planned with, or not at all
                uow.expect_incoming(line.sku, line.incoming_seen, line.purchased_seen)
            self._commit(uow, po)
            return placed

        return retrying(attempt)

    def receive(self, po_id: str, receipt_id: str, quantities: Mapping[str, int]) -> tuple[PurchaseOrder, bool]:
        """Book a receipt (idempotent by its id): on hand rises, incoming falls, and the
        stream hands the units to waiting lines. Returns the PO and whether it was a replay."""
        if not quantities or len(quantities) > MAX_RECEIPT_LINES:
            raise InvalidInput(f"a receipt has 1 to {MAX_RECEIPT_LINES} lines", field="lines")

        def attempt() -> tuple[PurchaseOrder, bool]:
            at, po = self.clock(), self.get(po_id)
            if receipt_id in po.receipts:
                return po, True
            received = receive(po, receipt_id, quantities, at)
            uow = self._change(po, received, at)
            balances = self.store.balances(quantities)
            for sku, units in sorted(quantities.items()):
                on_hand = (balances.get(sku) or SkuBalance(sku)).on_hand
                movement = Movement(f"{po_id}:{receipt_id}", sku, MovementKind.RECEIPT, units, note=f"PO {po_id}")
                uow.add_ledger(movement, units, on_hand + units)
                uow.touch_sku(sku, on_hand=units)
            self._commit(uow, po)
            return received, False

        return retrying(attempt)

    def move(self, po_id: str, expected: date) -> PurchaseOrder:
        """A new expected arrival for a placed PO (the planner then re-dates its lines)."""

        def attempt() -> PurchaseOrder:
            at, po = self.clock(), self.get(po_id)
            moved = move(po, expected, at)
            uow = self._change(po, moved, at)
            self._commit(uow, po)
            return moved

        return retrying(attempt)

    def cancel(self, po_id: str) -> PurchaseOrder:
        def attempt() -> PurchaseOrder:
            at, po = self.clock(), self.get(po_id)
            cancelled = cancel(po, at)
            if cancelled is po:  # cancelled already: a re-delivery
                return po
            uow = self._change(po, cancelled, at)
            if po.status is PoStatus.RECOMMENDED:
                uow.set_open_recommendation(po.supplier_id, po.kind, None, was=po.po_id)
            self._commit(uow, po)
            return cancelled

        return retrying(attempt)

    def _change(self, before: PurchaseOrder, after: PurchaseOrder, at: str) -> UnitOfWork:
        uow = self.store.unit_of_work(writer="api", event=f"purchase order {before.po_id} {after.status}", at=at)
        uow.put_purchase_order(after)
        incoming, purchased = incoming_change(before, after), purchased_change(before, after)
        for sku in sorted(set(incoming) | set(purchased)):
            uow.touch_sku(sku, incoming=incoming.get(sku, 0), purchased=purchased.get(sku, 0))
        return uow

    def _commit(self, uow: UnitOfWork, po: PurchaseOrder) -> None:
        try:
            uow.commit()
        except Conflict as exc:
            stale = any(label.startswith(("incoming:", "sku:")) for label in exc.failed)
            if stale and po.status is PoStatus.RECOMMENDED:
                raise Conflict(
                    f"purchase order {po.po_id} was planned against stock on order that has changed since "
                    "(another PO was placed or received); run the planner (POST /v1/planning/run) and place "
                    "the updated recommendation",
                    field="lines",
                ) from exc
            raise
