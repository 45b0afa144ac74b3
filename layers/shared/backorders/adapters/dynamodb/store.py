"""The DynamoDB store: reads that return domain objects, and a unit of work that
commits one conditional transaction.

Concurrency is explicit here:
- every order line is written with ``version == <the version read>``;
- every SKU balance change is a set of ``ADD`` counters that also bumps ``version``;
  a write that lowers ``available`` carries ``available >= <amount>``, so the
  database itself refuses to take ``available`` below zero;
- a recompute that planned from a snapshot also requires ``version == <read>``;
- new items (orders, lines, ledger entries) require ``attribute_not_exists``.
Storage errors leave this module as domain errors (``Conflict``, ``Throttled``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Unpack

from pynamodb.attributes import NumberAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from backorders.adapters.dynamodb.models import (
    BACKLOG,
    PLAN,
    PRODUCTS,
    SUPPLIERS,
    BacklogKey,
    CauseMap,
    ChoiceItem,
    CommandItem,
    CustomerItem,
    ImportJobItem,
    LedgerItem,
    LineItem,
    LogItem,
    NoteItem,
    OrderItem,
    OrderPartItem,
    PlanPartItem,
    PurchaseOrderItem,
    ShipmentItem,
    ShopItem,
    SkuItem,
    SlotItem,
    SupplierItem,
    _int,
    backorders_pk,
    bind,
    chunk_sk,
    fills_pk,
    import_pk,
    line_sk,
    order_pk,
    plan_sk,
    po_pk,
    product_fields,
    record_json,
    record_of,
    shipment_sk,
    sku_pk,
    supplier_pk,
    webshop_values,
)
from backorders.adapters.dynamodb.notifications import NotificationTables, note_item
from backorders.adapters.dynamodb.storage import THROTTLE_CODES as _THROTTLE_CODES
from backorders.adapters.dynamodb.storage import storage as _storage
from backorders.adapters.dynamodb.webhooks import WebhookTables
from backorders.domain.allotment import LineChange
from backorders.domain.demand import DemandRate
from backorders.domain.errors import Conflict, Throttled
from backorders.domain.model import (
    FillMode,
    ImportJob,
    LedgerEntry,
    LinePolicy,
    Movement,
    Order,
    OrderLine,
    Product,
    Shipment,
    ShopModes,
    ShopSettings,
    SkuBalance,
    Supplier,
)
from backorders.domain.notifications import Intent
from backorders.domain.purchasing import PoKind, Position, PoStatus, PurchaseOrder
from backorders.domain.record_log import Event, Fill, LogAbout, LogEntry, causes_of
from backorders.services.ports import OrderView, PlanningGroup

MAX_TRANSACTION_ITEMS = 100
_CATALOGUE_PAGE = 1000  # catalogue index entries per query page (about 150 bytes each)


@dataclass(slots=True)
class _SkuDelta:
    on_hand: int = 0
    allotted: int = 0
    locked: int = 0
    backordered: int = 0
    incoming: int = 0
    purchased: int = 0
    ordered: int = 0
    expect_version: int | None = None
    set_fields: dict[str, Any] = field(default_factory=dict)
    must_exist: bool = False

    @property
    def available(self) -> int:
        return self.on_hand - self.allotted


class DynamoUnitOfWork:
    """Collects writes; ``commit`` sends them as one TransactWriteItems call.

    ``event`` says why: a text (with the ``shop`` it belongs to, if any) or causes. Every
    item written carries it as ``last_event`` (with ``event_shop`` on balances), which
    the stream hands to the allotter as the cause of its recompute."""

    def __init__(self, store: DynamoStore, *, writer: str, event: Event, at: str, shop: str | None = None) -> None:
        self._store = store
        self.writer = writer
        self.causes = causes_of(event, shop)
        self.event = "; ".join(dict.fromkeys(c.text for c in self.causes))[:200]
        shops = {c.shop for c in self.causes}
        self.event_shop = shops.pop() if len(shops) == 1 else None
        self.at = at
        self._ops: list[tuple[str, Any, dict[str, Any]]] = []
        self._skus: dict[str, _SkuDelta] = defaultdict(_SkuDelta)
        self._incoming_checks: dict[str, tuple[int, int]] = {}
        self._labels: list[str] = []

    # -------------------------------------------------------------- lines
    def add_line(self, line: OrderLine) -> None:
        item = LineItem.from_domain(line, writer=self.writer, event=self.event, at=self.at, new=True)
        self._op("save", item, condition=LineItem.pk.does_not_exist(), label=f"line:{line.line_no}")
        delta = self._skus[line.sku]
        delta.allotted += line.allotted
        delta.locked += line.locked
        delta.backordered += line.backordered
        delta.ordered += line.quantity

    def change_line(self, change: LineChange) -> None:
        before, after = change.before, change.after
        assert before.ref == after.ref, "a change must keep its line"
        assert before.sku == after.sku, "a change must keep its SKU"
        after.check()
        # written over the version read: pynamodb conditions the put on it and bumps it
        item = LineItem.from_domain(
            replace(after, version=before.version), writer=self.writer, event=self.event, at=self.at
        )
        self._op("save", item, condition=None, label=f"line:{before.line_no}")
        delta = self._skus[before.sku]
        delta.allotted += after.allotted - before.allotted
        delta.locked += after.locked - before.locked
        delta.backordered += after.backordered - before.backordered
        delta.on_hand -= after.shipped - before.shipped

    # -------------------------------------------------------------- SKUs
    def touch_sku(
        self,
        sku: str,
        *,
        on_hand: int = 0,
        incoming: int = 0,
        purchased: int = 0,
        expect_version: int | None = None,
        must_exist: bool = False,
    ) -> None:
        delta = self._skus[sku]
        delta.on_hand += on_hand
        delta.incoming += incoming
        delta.purchased += purchased
        if expect_version is not None:
            delta.expect_version = expect_version
        delta.must_exist = delta.must_exist or must_exist

    def set_product(self, product: Product) -> None:
        """The product's settings, on its balance item; the SKU becomes known (and listed
        among the products)."""
        self._skus[product.sku].set_fields.update(known=True, catalogue_pk=PRODUCTS, **product_fields(product))

    def put_supplier(self, supplier: Supplier) -> None:
        """The whole supplier item, as ``DynamoStore.put_supplier`` writes it."""
        self._op("save", SupplierItem.from_domain(supplier), condition=None, label=f"supplier:{supplier.supplier_id}")

    def mark_chunk_applied(self, job_id: str, number: int) -> None:
        """This chunk of an import job is written by this transaction, and by no other."""
        item = ImportJobItem(pk=import_pk(job_id), sk=chunk_sk(number))
        pending = ImportJobItem.applied.does_not_exist() | (ImportJobItem.applied == False)  # noqa: E712
        condition = ImportJobItem.pk.exists() & pending
        self._op("update", item, actions=[ImportJobItem.applied.set(True)], condition=condition, label="chunk")

    def date_line(self, line: OrderLine, expected_on: str | None, source: str) -> None:
        """The line's expected date, written over the version it was read at."""
        dated = replace(line, expected_on=expected_on, expected_source=source)
        item = LineItem.from_domain(dated, writer=self.writer, event=self.event, at=self.at)
        self._op("save", item, condition=None, label=f"line:{line.line_no}")

    def set_demand(self, sku: str, demand: DemandRate) -> None:
        fields = {"demand_rate": demand.per_day, "demand_at": demand.at, "demand_counted": demand.counted}
        self._skus[sku].set_fields.update(fields)

    def set_dated(self, sku: str, key: str) -> None:
        """What the SKU's expected dates were computed from (``dating_key``)."""
        self._skus[sku].set_fields["dated"] = key

    def list_for_planning(self, sku: str, supplier_id: str | None) -> None:
        """List the SKU in the planning index under its supplier (None: take it out)."""
        marker = {"plan_pk": PLAN, "plan_sk": plan_sk(supplier_id, f"2#{sku}")} if supplier_id else {}
        self._skus[sku].set_fields.update({"plan_pk": None, "plan_sk": None, **marker})

    def expect_incoming(self, sku: str, incoming: int, purchased: int) -> None:
        """Commit only if the SKU's incoming and purchased are still what a PO line was
        planned against: a PO placed meanwhile (received or not) makes the commit fail,
        never order twice."""
        self._incoming_checks[sku] = (incoming, purchased)

    # -------------------------------------------------------------- purchase orders
    def put_purchase_order(self, po: PurchaseOrder) -> None:
        """A new PO (version 0), or one written over the version it was read at."""
        item = PurchaseOrderItem.from_domain(po)
        condition = PurchaseOrderItem.pk.does_not_exist() if not po.version else None
        self._op("save", item, condition=condition, label=f"po:{po.po_id}")

    def set_open_recommendation(self, supplier_id: str, kind: PoKind, po_id: str | None, *, was: str | None) -> None:
        """The supplier's one open recommendation of ``kind``, if it still is ``was``."""
        item = SlotItem(pk=supplier_pk(supplier_id), sk=f"OPEN#{kind.value}")
        condition = SlotItem.po_id.does_not_exist() if was is None else SlotItem.po_id == was
        listed = [SlotItem.plan_pk.set(PLAN), SlotItem.plan_sk.set(plan_sk(supplier_id, f"1#{kind.value}"))]
        unlisted = [SlotItem.plan_pk.remove(), SlotItem.plan_sk.remove()]
        actions: list[Action] = [
            SlotItem.item_type.set(SlotItem),
            SlotItem.supplier_id.set(supplier_id),
            SlotItem.kind.set(kind.value),
            *([SlotItem.po_id.set(po_id), *listed] if po_id else [SlotItem.po_id.remove(), *unlisted]),
        ]
        self._op("update", item, actions=actions, condition=condition, label=f"slot:{supplier_id}:{kind.value}")

    def add_ledger(self, movement: Movement, delta: int, on_hand_after: int) -> None:
        item = LedgerItem(
            pk=sku_pk(movement.sku),
            sk=f"LEDGER#{movement.movement_id}",
            sku=movement.sku,
            movement_id=movement.movement_id,
            kind=movement.kind.value,
            quantity=movement.quantity,
            delta=delta,
            on_hand_after=on_hand_after,
            at=self.at,
            note=movement.note or None,
        )
        self._op("save", item, condition=LedgerItem.pk.does_not_exist(), label="ledger")

    # -------------------------------------------------------------- orders
    def add_order(self, order: Order) -> None:
        item = OrderItem.from_domain(order, at=self.at)
        self._op("save", item, condition=OrderItem.pk.does_not_exist(), label="order")

    def add_command(self, shop: str, order_id: str, key: str, fingerprint: str, *, expires: datetime) -> None:
        """Mark a relative command (for example "cancel 2 units") as applied, in the
        same transaction as its effect: a retry finds the mark and changes nothing."""
        item = CommandItem(
            pk=order_pk(shop, order_id), sk=f"CMD#{key}", fingerprint=fingerprint, at=self.at, expires_at=expires
        )
        self._op("save", item, condition=CommandItem.pk.does_not_exist(), label="command")

    def update_order(self, shop: str, order_id: str, version: int, **fields: object) -> None:
        # pynamodb conditions the update on the version read and bumps it
        item = OrderItem(pk=order_pk(shop, order_id), sk="ORDER", version=version)
        values = {name: webshop_values(v) if name == "webshop" else v for name, v in fields.items()}  # type: ignore[arg-type]
        actions: list[Action] = [getattr(OrderItem, name).set(value) for name, value in values.items()]
        self._op("update", item, actions=actions, condition=None, label="order")

    def put_shipment(self, shipment: Shipment, *, expect_version: int | None) -> None:
        """A new shipment (``expect_version`` None), or one written over that version."""
        new = expect_version is None
        item = ShipmentItem.from_domain(replace(shipment, version=expect_version or 0), self.at, new=new)
        condition = ShipmentItem.pk.does_not_exist() if new else None
        self._op("save", item, condition=condition, label=f"shipment:{shipment.shipment_no}")

    def delete_shipment(self, shipment: Shipment) -> None:
        item = ShipmentItem(
            pk=order_pk(shipment.shop, shipment.order_id),
            sk=shipment_sk(shipment.shipment_no),
            version=shipment.version,
        )
        self._op("delete", item, condition=None, label="shipment")

    # -------------------------------------------------------------- notifications (decision 72)
    def notify(self, intent: Intent) -> None:
        """A notification intent, committed with the change it reports (once: its id)."""
        self._op("save", note_item(intent), condition=NoteItem.pk.does_not_exist(), label=f"notify:{intent.kind}")

    def mark_low(self, sku: str, since: str | None) -> None:
        """The SKU's projected position is under its minimum since ``since`` (None: not any more)."""
        self._skus[sku].set_fields["low_since"] = since

    def mark_reported(self, sku: str) -> None:
        """The buyer is told of this unknown SKU by an intent in the same transaction."""
        self._skus[sku].set_fields["reported_at"] = self.at

    def add_choice(self, choice_id: str, shop: str, order_id: str, action: str, *, expires: datetime) -> None:
        """A customer's answer to a backorder email: once per email (its choice id)."""
        item = ChoiceItem(pk=f"CHOICE#{choice_id}", sk="CHOICE", shop=shop, order_id=order_id, action=action,
                          at=self.at, expires_at=expires)  # fmt: skip
        self._op("save", item, condition=ChoiceItem.pk.does_not_exist(), label="choice")

    # -------------------------------------------------------------- record log
    def log(self, message: str, **about: Unpack[LogAbout]) -> None:
        """One record-log entry, in the order's partition when it is about an order
        line, else in the SKU's; its causes are the unit of work's."""
        shop, order_id = about.get("shop"), about.get("order_id")
        pk = order_pk(shop, order_id) if shop and order_id else sku_pk(about.get("sku") or "")
        item = LogItem(
            pk=pk,
            sk=f"LOG#{self.at}#{uuid.uuid4().hex[:10]}",
            at=self.at,
            causes=[CauseMap(text=c.text[:200], shop=c.shop) for c in self.causes[:20]],  # type: ignore[no-untyped-call]
            message=message[:500],
            **about,
        )
        if about.get("filled") and shop and order_id:
            item.fill_pk = fills_pk(shop)
        self._op("save", item, condition=None, label="log")

    # -------------------------------------------------------------- commit
    @property
    def size(self) -> int:
        return len(self._ops) + len(self._skus)

    def _op(self, kind: str, item: Any, *, condition: Condition | None, label: str, **kw: Any) -> None:
        self._ops.append((kind, item, {"condition": condition, **kw}))
        self._labels.append(label)

    def commit(self) -> None:
        if not self._ops and not self._skus:
            return
        labels = list(self._labels)
        ops = list(self._ops)
        for sku, delta in self._skus.items():
            item, update = self._sku_update(sku, delta)
            if sku in self._incoming_checks:  # one item, one operation: the check joins the update
                check = _on_order_is(*self._incoming_checks.pop(sku))
                update["condition"] = check if update["condition"] is None else update["condition"] & check
            ops.append(("update", item, update))
            labels.append(f"sku:{sku}")
        for sku, (incoming, purchased) in self._incoming_checks.items():
            check = _on_order_is(incoming, purchased)
            ops.append(("check", SkuItem(pk=sku_pk(sku), sk="SKU"), {"condition": check}))
            labels.append(f"incoming:{sku}")
        if len(ops) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"transaction of {len(ops)} items exceeds {MAX_TRANSACTION_ITEMS}")
        try:
            with TransactWrite(connection=self._store.connection) as tx:
                for kind, item, kw in ops:
                    if kind == "save":
                        tx.save(item, condition=kw["condition"])
                    elif kind == "delete":
                        tx.delete(item, condition=kw["condition"])
                    elif kind == "check":
                        tx.condition_check(type(item), item.pk, item.sk, condition=kw["condition"])
                    else:
                        tx.update(item, actions=kw["actions"], condition=kw["condition"])
        except TransactWriteError as exc:
            reasons = exc.cancellation_reasons or []
            codes = [r.code if r else None for r in reasons]
            if exc.cause_response_code in _THROTTLE_CODES or "ThrottlingError" in codes:
                raise Throttled("storage is busy, retry") from exc
            failed = tuple(label for label, code in zip(labels, codes, strict=False) if code)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                raise Conflict("stored state changed meanwhile", failed=failed) from exc
            if exc.cause_response_code == "TransactionInProgressException":
                raise Conflict("a transaction on the same items is in progress", failed=failed) from exc
            raise
        finally:
            self._ops.clear()
            self._labels.clear()
            self._skus.clear()
            self._incoming_checks.clear()

    def _sku_update(self, sku: str, delta: _SkuDelta) -> tuple[SkuItem, dict[str, Any]]:
        item = SkuItem(pk=sku_pk(sku), sk="SKU")
        actions: list[Action] = [
            SkuItem.item_type.set(SkuItem),
            SkuItem.sku.set(sku),
            SkuItem.version.add(1),
            SkuItem.writer.set(self.writer),
            SkuItem.last_event.set(self.event),
            SkuItem.event_shop.set(self.event_shop) if self.event_shop else SkuItem.event_shop.remove(),
            SkuItem.updated_at.set(self.at),
        ]
        if delta.backordered > 0:  # the SKU has backorders now: the sweep will look at it
            actions.append(SkuItem.backlog_pk.set(BACKLOG))
        for name in ("on_hand", "allotted", "locked", "backordered", "available"):
            value = getattr(delta, name)
            # ADD 0 still creates the counter on a new item, so every balance has all five.
            actions.append(getattr(SkuItem, name).add(value))
        if delta.incoming:
            actions.append(SkuItem.incoming.add(delta.incoming))
        if delta.purchased:
            actions.append(SkuItem.purchased.add(delta.purchased))
        if delta.ordered:
            actions.append(SkuItem.ordered.add(delta.ordered))
        for name, value in delta.set_fields.items():
            attr = getattr(SkuItem, name)
            actions.append(attr.remove() if value is None else attr.set(value))
        conditions: list[Condition] = []
        if delta.expect_version is not None:
            if delta.expect_version == 0:
                conditions.append(SkuItem.version.does_not_exist() | (SkuItem.version == 0))
            else:
                conditions.append(SkuItem.version == delta.expect_version)
        if delta.available < 0:
            # the stock guard; untracked products (services, gift cards) hold no stock
            conditions.append((SkuItem.available >= -delta.available) | (SkuItem.tracked == False))  # noqa: E712
        if delta.must_exist:
            conditions.append(SkuItem.pk.exists())
        condition: Condition | None = None
        for c in conditions:
            condition = c if condition is None else condition & c
        return item, {"actions": actions, "condition": condition}


def _on_order_is(incoming: int, purchased: int) -> Condition:
    """The SKU's incoming and purchased counters are these (a counter never written is 0)."""

    def counter_is(attribute: NumberAttribute, value: int) -> Condition:
        never_written: Condition = attribute.does_not_exist() | (attribute == 0)
        exactly: Condition = attribute == value
        return never_written if value == 0 else exactly

    both: Condition = counter_is(SkuItem.incoming, incoming) & counter_is(SkuItem.purchased, purchased)
    return both


class DynamoStore(WebhookTables, NotificationTables):
    """Reads return domain objects; writes go through ``unit_of_work``. Implements the
    ports of ``backorders.services.ports``."""

    def __init__(self, *, table_name: str, region: str, host: str | None = None) -> None:
        bind(table_name, region, host)
        self.table_name = table_name
        self.connection = Connection(region=region, host=host)

    def unit_of_work(self, *, writer: str, event: Event, at: str, shop: str | None = None) -> DynamoUnitOfWork:
        return DynamoUnitOfWork(self, writer=writer, event=event, at=at, shop=shop)

    # -------------------------------------------------------------- SKUs
    @_storage
    def _balance_item(self, sku: str) -> SkuItem | None:
        try:
            return SkuItem.get(sku_pk(sku), "SKU", consistent_read=True)
        except SkuItem.DoesNotExist:
            return None

    def balance(self, sku: str) -> SkuBalance | None:
        item = self._balance_item(sku)
        return item.to_domain() if item else None

    def product(self, sku: str) -> tuple[SkuBalance, Product] | None:
        """The SKU's balance and its product settings (one item, one read)."""
        item = self._balance_item(sku)
        return (item.to_domain(), item.product()) if item else None

    @_storage
    def balances(self, skus: Iterable[str]) -> dict[str, SkuBalance]:
        keys = [(sku_pk(s), "SKU") for s in sorted(set(skus))]
        return {item.sku: item.to_domain() for item in SkuItem.batch_get(keys)}

    @_storage
    def ledger(self, sku: str, movement_id: str) -> LedgerEntry | None:
        try:
            return LedgerItem.get(sku_pk(sku), f"LEDGER#{movement_id}", consistent_read=True).to_domain()
        except LedgerItem.DoesNotExist:
            return None

    @_storage
    def ledger_entries(self, sku: str) -> list[LedgerEntry]:
        query = LedgerItem.query(sku_pk(sku), LedgerItem.sk.startswith("LEDGER#"), consistent_read=True)
        return [item.to_domain() for item in query]

    @_storage
    def fills(self, shop: str, since: str, until: str) -> Iterator[Fill]:
        """The shop's backorder fills between ``since`` and ``until`` (timestamps), oldest first."""
        condition = LogItem.at.between(since, until)
        for item in LogItem.fills_index.query(fills_pk(shop), condition, page_size=500):
            yield Fill(item.at, item.order_id or "", _int(item.line_no) or 0, item.sku or "", _int(item.filled) or 0)

    @_storage
    def sku_log(self, sku: str, limit: int = 100) -> list[LogEntry]:
        items = LogItem.query(sku_pk(sku), LogItem.sk.startswith("LOG#"), scan_index_forward=False, limit=limit)
        return [i.to_domain() for i in items]

    # -------------------------------------------------------------- allotment reads
    @_storage
    def demand(self, sku: str, page_hint: Callable[[], int]) -> Iterator[OrderLine]:
        """The SKU's lines that hold or may receive units, in allotment order, read a
        page at a time; each page is sized by ``page_hint`` at the moment it is read."""
        last: dict[str, Any] | None = None
        while True:
            page = LineItem.demand_index.query(
                sku_pk(sku), limit=page_hint(), page_size=page_hint(), last_evaluated_key=last
            )
            yield from (item.to_domain() for item in page)
            last = page.last_evaluated_key
            if not last:
                return

    @_storage
    def holders_from_end(self, sku: str) -> Iterator[OrderLine]:
        """The SKU's lines holding movable units, last in allotment order first. The
        first page is small: a recompute often needs only the lowest holder's priority."""
        last: dict[str, Any] | None = None
        size = 2
        while True:
            page = LineItem.holders_index.query(
                sku_pk(sku), scan_index_forward=False, limit=size, page_size=size, last_evaluated_key=last
            )
            yield from (item.to_domain() for item in page)
            last = page.last_evaluated_key
            if not last:
                return
            size = 25

    @_storage
    def line(self, shop: str, order_id: str, line_no: int) -> OrderLine | None:
        try:
            return LineItem.get(order_pk(shop, order_id), line_sk(line_no), consistent_read=True).to_domain()
        except LineItem.DoesNotExist:
            return None

    # -------------------------------------------------------------- orders
    @_storage
    def order_view(self, shop: str, order_id: str, *, with_log: bool = True) -> OrderView | None:
        """The whole order partition in one strongly consistent query; each item comes
        back as its own model (the ``item_type`` discriminator)."""
        order: Order | None = None
        next_shipment_no = 1
        lines: list[OrderLine] = []
        shipments: list[Shipment] = []
        log: list[LogEntry] = []
        commands: dict[str, str] = {}
        for item in OrderPartItem.query(order_pk(shop, order_id), consistent_read=True):
            match item:
                case OrderItem():
                    order, next_shipment_no = item.to_domain(), int(item.next_shipment_no or 1)
                case LineItem():
                    lines.append(item.to_domain())
                case ShipmentItem():
                    shipments.append(item.to_domain())
                case LogItem() if with_log:
                    log.append(item.to_domain())
                case CommandItem():
                    commands[item.sk.removeprefix("CMD#")] = item.fingerprint
        if order is None:
            return None
        return OrderView(order, tuple(lines), tuple(shipments), tuple(log), next_shipment_no, commands)

    @_storage
    def order_fingerprint(self, shop: str, order_id: str) -> str | None:
        """The stored order's fingerprint (None: no such order), to tell a replay."""
        try:
            return OrderItem.get(order_pk(shop, order_id), "ORDER", consistent_read=True).fingerprint
        except OrderItem.DoesNotExist:
            return None

    @_storage
    def backordered_lines(self, shop: str, *, until: str | None = None) -> Iterator[OrderLine]:
        """The shop's lines with backordered units, oldest first (entered until ``until``):
        one partition of the ``backorders`` index, so the read grows with this shop's
        backlog only."""
        condition = LineItem.backorder_sk <= until + "~" if until else None
        for item in LineItem.backorders_index.query(backorders_pk(shop), condition, page_size=200):
            yield item.to_domain()

    @_storage
    def skus_with_backlog(self) -> Iterator[str]:
        """SKUs that may have backordered lines (the sparse ``backlog`` index: a SKU
        enters it with its first backordered unit and leaves it by ``clear_backlog``)."""
        for item in BacklogKey.backlog_index.query(BACKLOG, page_size=500):
            yield item.pk.removeprefix("SKU#")

    @_storage
    def clear_backlog(self, sku: str) -> bool:
        """Take a SKU out of the ``backlog`` index if it has no backordered units (the
        condition makes a concurrent new backorder win). True when it was taken out."""
        try:
            SkuItem(pk=sku_pk(sku), sk="SKU").update(
                # writer "sweep": bookkeeping of the service's own, which asks for no recompute
                actions=[SkuItem.backlog_pk.remove(), SkuItem.writer.set("sweep")],
                condition=(SkuItem.backordered == 0) & SkuItem.backlog_pk.exists(),
            )
        except UpdateError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -------------------------------------------------------------- settings
    @_storage
    def shop_settings(self, shop: str) -> ShopSettings:
        try:
            item = ShopItem.get(f"SHOP#{shop}", "SHOP")
        except ShopItem.DoesNotExist:
            return ShopSettings(shop)
        defaults = ShopSettings(shop)
        return ShopSettings(
            shop,
            line_policy=LinePolicy(item.line_policy or "split"),
            fill_mode=FillMode(item.fill_mode or "auto"),
            notify_customers=bool(item.notify_customers),
            customer_messages=defaults.customer_messages
            if item.customer_messages is None
            else frozenset(item.customer_messages) - {""},
            combine_minutes=defaults.combine_minutes if item.combine_minutes is None else int(item.combine_minutes),
            time_zone=item.time_zone or defaults.time_zone,
            locale=item.locale or defaults.locale,
            name=item.name,
            contact_email=item.contact_email,
        )

    @_storage
    def manual_shops(self) -> frozenset[str]:
        """Shops that fill backorders by hand (one small item, kept by put_shop_settings)."""
        return self.shop_modes().manual

    @_storage
    def shop_modes(self) -> ShopModes:
        """The shops that fill by hand and those that notify customers (one small item)."""
        try:
            item = ShopItem.get("CONFIG", "MANUAL_SHOPS")
        except ShopItem.DoesNotExist:
            return ShopModes()
        raw: dict[str, Any] = item.notifying.as_dict() if item.notifying is not None else {}  # type: ignore[no-untyped-call]
        notifying = {shop: int(minutes) for shop, minutes in raw.items()}
        return ShopModes(frozenset(item.manual_shops or ()), notifying)

    @_storage
    def put_shop_settings(self, settings: ShopSettings) -> None:
        registry = ShopItem(pk="CONFIG", sk="MANUAL_SHOPS")
        shops = {settings.shop}
        manual = settings.fill_mode is FillMode.MANUAL
        entry = ShopItem.notifying[settings.shop]
        registry.update(
            actions=[
                ShopItem.manual_shops.add(shops) if manual else ShopItem.manual_shops.delete(shops),
                ShopItem.notifying.set(ShopItem.notifying | {}),
            ]
        )
        registry.update(actions=[entry.set(settings.combine_minutes) if settings.notify_customers else entry.remove()])
        ShopItem(
            pk=f"SHOP#{settings.shop}",
            sk="SHOP",
            shop=settings.shop,
            line_policy=settings.line_policy.value,
            fill_mode=settings.fill_mode.value,
            notify_customers=settings.notify_customers,
            customer_messages=set(settings.customer_messages) or {""},
            combine_minutes=settings.combine_minutes,
            time_zone=settings.time_zone,
            locale=settings.locale,
            name=settings.name,
            contact_email=settings.contact_email,
        ).save()

    @_storage
    def customer_policy(self, shop: str, customer_id: str) -> LinePolicy | None:
        try:
            item = CustomerItem.get(f"SHOP#{shop}", f"CUSTOMER#{customer_id}")
        except CustomerItem.DoesNotExist:
            return None
        return LinePolicy(item.line_policy) if item.line_policy else None

    @_storage
    def put_customer_policy(self, shop: str, customer_id: str, policy: LinePolicy | None) -> None:
        CustomerItem(
            pk=f"SHOP#{shop}",
            sk=f"CUSTOMER#{customer_id}",
            shop=shop,
            customer_id=customer_id,
            line_policy=policy.value if policy else None,
        ).save()

    # -------------------------------------------------------------- catalogue
    @_storage
    def put_supplier(self, supplier: Supplier) -> None:
        SupplierItem.from_domain(supplier).save()

    @_storage
    def supplier(self, supplier_id: str) -> Supplier | None:
        try:
            return SupplierItem.get(supplier_pk(supplier_id), "SUPPLIER", consistent_read=True).to_domain()
        except SupplierItem.DoesNotExist:
            return None

    @_storage
    def products(self, skus: Iterable[str]) -> dict[str, Product]:
        """The products among these SKUs (a SKU only ordered or moved is none), by SKU."""
        keys = [(sku_pk(s), "SKU") for s in sorted(set(skus))]
        return {item.sku: item.product() for item in SkuItem.batch_get(keys, consistent_read=True) if item.known}

    @_storage
    def suppliers(self, supplier_ids: Iterable[str]) -> dict[str, Supplier]:
        keys = [(supplier_pk(s), "SUPPLIER") for s in sorted(set(supplier_ids))]
        return {item.supplier_id: item.to_domain() for item in SupplierItem.batch_get(keys, consistent_read=True)}

    @_storage
    def listed_products(self, *, after: str | None = None) -> Iterator[Product]:
        """Every product, by SKU, from the ``catalogue`` index (eventually consistent),
        read a page at a time; ``after``: those whose SKU sorts after it."""
        condition = SkuItem.pk > sku_pk(after) if after is not None else None
        for item in SkuItem.catalogue_index.query(PRODUCTS, condition, page_size=_CATALOGUE_PAGE):
            if isinstance(item, SkuItem):
                yield item.product()

    @_storage
    def listed_suppliers(self, *, after: str | None = None) -> Iterator[Supplier]:
        """Every supplier, by id, from the ``catalogue`` index (eventually consistent)."""
        condition = SupplierItem.pk > supplier_pk(after) if after is not None else None
        for item in SupplierItem.catalogue_index.query(SUPPLIERS, condition, page_size=_CATALOGUE_PAGE):
            if isinstance(item, SupplierItem):
                yield item.to_domain()

    # -------------------------------------------------------------- import jobs
    @_storage
    def put_import_job(self, job: ImportJob, *, expires: datetime) -> None:
        """The job's header and its chunks (a week's TTL: progress stays readable)."""
        with ImportJobItem.batch_write() as batch:
            batch.save(ImportJobItem(pk=import_pk(job.job_id), sk="JOB", kind=job.kind, created_at=job.created_at,
                                     chunks=len(job.chunks), expires_at=expires))  # fmt: skip
            for number, chunk in enumerate(job.chunks):
                records = [record_json(record) for record in chunk]
                batch.save(ImportJobItem(pk=import_pk(job.job_id), sk=chunk_sk(number), records=records,
                                         applied=False, expires_at=expires))  # fmt: skip

    @_storage
    def import_job(self, job_id: str) -> ImportJob | None:
        header: ImportJobItem | None = None
        raw: list[list[dict[str, Any]]] = []
        applied: set[int] = set()
        for item in ImportJobItem.query(import_pk(job_id), consistent_read=True):
            if item.sk == "JOB":
                header = item  # sorts after the chunks: read them as its kind says below
            else:
                raw.append(list(item.records or []))
                if item.applied:
                    applied.add(int(item.sk.removeprefix("CHUNK#")))
        if header is None:
            return None
        chunks = [tuple(record_of(header.kind or "", data) for data in records) for records in raw]
        return ImportJob(job_id, header.kind or "", header.created_at or "", tuple(chunks), frozenset(applied))

    # -------------------------------------------------------------- purchasing
    @_storage
    def planning(self, supplier_id: str | None = None) -> Iterator[PlanningGroup]:
        """The planning index, one supplier's group at a time (or only ``supplier_id``'s):
        the supplier, its open recommendations and its SKUs that need attention
        (eventually consistent)."""
        group: PlanningGroup | None = None
        only = PlanPartItem.plan_sk.startswith(f"{supplier_id}#") if supplier_id else None
        for item in PlanPartItem.planning_index.query(PLAN, only, page_size=500):
            supplier_id = (item.plan_sk or "").partition("#")[0]
            if group is None or group.supplier_id != supplier_id:
                if group is not None:
                    yield group
                group = PlanningGroup(supplier_id)
            match item:
                case SupplierItem():
                    group.supplier = item.to_domain()
                case SlotItem() if item.po_id:
                    group.open[PoKind(item.kind)] = item.po_id
                case SkuItem():
                    group.positions.append(Position(item.product(), item.to_domain()))
        if group is not None:
            yield group

    @_storage
    def open_recommendation(self, supplier_id: str, kind: PoKind) -> str | None:
        try:
            return SlotItem.get(supplier_pk(supplier_id), f"OPEN#{kind.value}", consistent_read=True).po_id
        except SlotItem.DoesNotExist:
            return None

    @_storage
    def purchase_order(self, po_id: str) -> PurchaseOrder | None:
        try:
            return PurchaseOrderItem.get(po_pk(po_id), "PO", consistent_read=True).to_domain()
        except PurchaseOrderItem.DoesNotExist:
            return None

    @_storage
    def purchase_orders(self, statuses: Iterable[PoStatus]) -> Iterator[PurchaseOrder]:
        """Purchase orders of these statuses, each status oldest first."""
        for status in statuses:
            for item in PurchaseOrderItem.purchase_orders_index.query(status.value, page_size=200):
                yield item.to_domain()
