"""The ports: what the use cases need from storage, each named for the need.

Services depend on these Protocols only; ``backorders.adapters.dynamodb`` implements
them (``DynamoStore``, ``DynamoUnitOfWork``) and is chosen by the composition root
(``backorders.bootstrap``). What crosses a port is a domain object, never a storage item.

A service declares the narrowest store it needs as a Protocol that combines the small
ones below (``class AllotmentStore(Balances, Demand, ..., Protocol)``), so a reader
sees from its constructor exactly what it reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, Unpack

from backorders.domain.allotment import LineChange
from backorders.domain.demand import DemandRate
from backorders.domain.model import (
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
from backorders.domain.record_log import Event, Fill, LogAbout, LogEntry
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.deliveries import Delivery, Status


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order as stored: header, lines, shipments, record log and applied commands."""

    order: Order
    lines: tuple[OrderLine, ...]
    shipments: tuple[Shipment, ...]
    log: tuple[LogEntry, ...]
    next_shipment_no: int
    commands: dict[str, str] = field(default_factory=dict)  # command key -> payload fingerprint


@dataclass(slots=True)
class PlanningGroup:
    """One supplier's part of the planning index: what a planner run reads of it."""

    supplier_id: str
    supplier: Supplier | None = None
    open: dict[PoKind, str] = field(default_factory=dict)  # kind -> the open recommendation's id
    positions: list[Position] = field(default_factory=list)  # SKUs that need attention


class UnitOfWork(Protocol):
    """Writes collected for one atomic commit. Every write is guarded (see the adapter):
    a line or shipment by the version it was read at, a balance by ``available >= 0``
    and, with ``expect_version``, by its version; new items by not existing yet. A
    guard that fails raises ``Conflict`` naming what failed; nothing is written then."""

    def add_order(self, order: Order) -> None: ...
    def update_order(self, shop: str, order_id: str, version: int, **fields: object) -> None: ...
    def add_command(self, shop: str, order_id: str, key: str, fingerprint: str, *, expires: datetime) -> None: ...
    def add_line(self, line: OrderLine) -> None: ...
    def change_line(self, change: LineChange) -> None: ...
    def touch_sku(
        self,
        sku: str,
        *,
        on_hand: int = 0,
        incoming: int = 0,
        purchased: int = 0,
        expect_version: int | None = None,
        must_exist: bool = False,
    ) -> None: ...
    def set_product(self, product: Product) -> None: ...
    def put_supplier(self, supplier: Supplier) -> None: ...
    def list_for_planning(self, sku: str, supplier_id: str | None) -> None: ...
    def date_line(self, line: OrderLine, expected_on: str | None, source: str) -> None: ...
    def set_dated(self, sku: str, key: str) -> None: ...
    def mark_chunk_applied(self, job_id: str, number: int) -> None: ...
    def set_demand(self, sku: str, demand: DemandRate) -> None: ...
    def expect_incoming(self, sku: str, incoming: int, purchased: int) -> None: ...
    def put_purchase_order(self, po: PurchaseOrder) -> None: ...
    def set_open_recommendation(
        self, supplier_id: str, kind: PoKind, po_id: str | None, *, was: str | None
    ) -> None: ...
    def add_ledger(self, movement: Movement, delta: int, on_hand_after: int) -> None: ...
    def put_shipment(self, shipment: Shipment, *, expect_version: int | None) -> None: ...
    def delete_shipment(self, shipment: Shipment) -> None: ...
    def log(self, message: str, **about: Unpack[LogAbout]) -> None: ...
    def notify(self, intent: Intent) -> None: ...
    def mark_low(self, sku: str, since: str | None) -> None: ...
    def mark_reported(self, sku: str) -> None: ...
    def add_choice(self, choice_id: str, shop: str, order_id: str, action: str, *, expires: datetime) -> None: ...
    def commit(self) -> None: ...


class Writes(Protocol):
    def unit_of_work(self, *, writer: str, event: Event, at: str, shop: str | None = None) -> UnitOfWork: ...


class Balances(Protocol):
    def balance(self, sku: str) -> SkuBalance | None: ...
    def balances(self, skus: Iterable[str]) -> dict[str, SkuBalance]: ...


class Demand(Protocol):
    """A SKU's lines in allotment order, read lazily, page by page."""

    def demand(self, sku: str, page_hint: Callable[[], int]) -> Iterator[OrderLine]: ...
    def holders_from_end(self, sku: str) -> Iterator[OrderLine]: ...


class Ledger(Protocol):
    def ledger(self, sku: str, movement_id: str) -> LedgerEntry | None: ...


class Orders(Protocol):
    def order_view(self, shop: str, order_id: str, *, with_log: bool = True) -> OrderView | None: ...
    def order_fingerprint(self, shop: str, order_id: str) -> str | None: ...


class Backorders(Protocol):
    def backordered_lines(self, shop: str, *, until: str | None = None) -> Iterator[OrderLine]: ...


class Backlog(Protocol):
    def skus_with_backlog(self) -> Iterator[str]: ...
    def clear_backlog(self, sku: str) -> bool: ...


class ManualShops(Protocol):
    def manual_shops(self) -> frozenset[str]: ...
    def shop_modes(self) -> ShopModes: ...


class Settings(Protocol):
    def shop_settings(self, shop: str) -> ShopSettings: ...
    def customer_policy(self, shop: str, customer_id: str) -> LinePolicy | None: ...
    def put_shop_settings(self, settings: ShopSettings) -> None: ...
    def put_customer_policy(self, shop: str, customer_id: str, policy: LinePolicy | None) -> None: ...


class SkuLog(Protocol):
    def sku_log(self, sku: str, limit: int = 100) -> list[LogEntry]: ...


class Products(Protocol):
    def product(self, sku: str) -> tuple[SkuBalance, Product] | None: ...


class Catalogue(Products, Protocol):
    def supplier(self, supplier_id: str) -> Supplier | None: ...
    def put_supplier(self, supplier: Supplier) -> None: ...


class CatalogueLists(Protocol):
    """The catalogue in bulk: the stored products and suppliers among some keys, and all
    of them in key order (``after``: those whose key sorts after it)."""

    def products(self, skus: Iterable[str]) -> dict[str, Product]: ...
    def suppliers(self, supplier_ids: Iterable[str]) -> dict[str, Supplier]: ...
    def listed_products(self, *, after: str | None = None) -> Iterator[Product]: ...
    def listed_suppliers(self, *, after: str | None = None) -> Iterator[Supplier]: ...


class Purchasing(Protocol):
    def planning(self, supplier_id: str | None = None) -> Iterator[PlanningGroup]: ...
    def open_recommendation(self, supplier_id: str, kind: PoKind) -> str | None: ...
    def purchase_order(self, po_id: str) -> PurchaseOrder | None: ...
    def purchase_orders(self, statuses: Iterable[PoStatus]) -> Iterator[PurchaseOrder]: ...


class ReplanRequests(Protocol):
    """Asks for suppliers to be replanned soon (the planner takes the requests)."""

    def request(self, suppliers: Iterable[str]) -> None: ...


class Fills(Protocol):
    def fills(self, shop: str, since: str, until: str) -> Iterator[Fill]: ...


class ImportJobs(Protocol):
    def put_import_job(self, job: ImportJob, *, expires: datetime) -> None: ...
    def import_job(self, job_id: str) -> ImportJob | None: ...


class JobQueue(Protocol):
    """Hands an import job to the background worker (the planner function)."""

    def start_import(self, job_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Rejection:
    """A genuine delivery the service could not apply, or a line it holds, with why."""

    received_at: str
    platform: Platform
    topic: str
    key: str
    reason: str
    order_id: str | None = None


@dataclass(frozen=True, slots=True)
class CatchUpMark:
    """A shop's integration as the catch-up sees it: when it was configured and up to
    when the platform's orders have been read."""

    shop: str
    platform: Platform
    configured_at: str
    seen_until: str | None = None


class Deliveries(Protocol):
    """Webhook deliveries, stored once each (decision 69)."""

    def put_delivery(self, delivery: Delivery, *, expires: datetime) -> bool: ...  # False: stored before
    def delivery(self, shop: str, key: str) -> Delivery | None: ...
    def settle_delivery(self, delivery: Delivery, status: Status, reason: str | None = None) -> None: ...
    def put_rejection(self, shop: str, rejection: Rejection, *, expires: datetime) -> None: ...
    def rejections(self, shop: str, *, limit: int) -> list[Rejection]: ...
    def state_seen(self, shop: str, platform: Platform, order_id: str) -> str | None: ...
    def mark_state_seen(
        self, shop: str, platform: Platform, order_id: str, updated_at: str, *, expires: datetime
    ) -> None: ...


class CatchUpMarks(Protocol):
    def mark_configured(self, shop: str, platform: Platform, at: str) -> None: ...
    def catch_up_marks(self) -> Iterator[CatchUpMark]: ...
    def set_seen_until(self, shop: str, platform: Platform, until: str) -> None: ...
