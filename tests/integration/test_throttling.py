"""Throttling is a named, retryable refusal: every call of the store that DynamoDB
throttles leaves as the domain's ``Throttled`` (the API answers it 429, never 500), and
the allotter retries a throttle until its recompute commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from backorders.adapters.dynamodb.store import DynamoStore
from backorders.domain.errors import Throttled
from backorders.domain.model import ImportJob, Movement, MovementKind, ShopSettings, Supplier
from backorders.domain.notifications import Status as NoteStatus
from backorders.domain.notifications import digest
from backorders.domain.purchasing import PoKind, PoStatus
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.deliveries import Delivery, Status
from backorders.services.ports import Rejection
from tests.support.throttling import Call, dynamodb, throttled
from tests.support.world import SHOP, World

Read = Callable[[DynamoStore], Any]
LATER = datetime(2030, 1, 1, tzinfo=UTC)
DIGEST = digest("2026-12-02", "2026-12-02T10:00:00.000000Z")
DELIVERY = Delivery(SHOP, Platform.SHOPIFY, "k", "orders/create", b"{}", "2026-12-02T10:00:00.000000Z")

READS: dict[str, tuple[Call, Read]] = {
    "balance": (dynamodb("GetItem", sk="SKU"), lambda s: s.balance("TEXTBOOK")),
    "balances": (dynamodb("BatchGetItem"), lambda s: s.balances(["TEXTBOOK", "PEN"])),
    "ledger": (dynamodb("GetItem", sk="LEDGER#"), lambda s: s.ledger("TEXTBOOK", "po-1")),
    "ledger_entries": (dynamodb("Query"), lambda s: s.ledger_entries("TEXTBOOK")),
    "sku_log": (dynamodb("Query"), lambda s: s.sku_log("TEXTBOOK")),
    "line": (dynamodb("GetItem", sk="LINE#"), lambda s: s.line(SHOP, "812", 1)),
    "order_view": (dynamodb("Query"), lambda s: s.order_view(SHOP, "812")),
    "order_fingerprint": (dynamodb("GetItem", sk="ORDER"), lambda s: s.order_fingerprint(SHOP, "812")),
    "product": (dynamodb("GetItem", sk="SKU"), lambda s: s.product("TEXTBOOK")),
    "demand": (dynamodb("Query", index="demand"), lambda s: list(s.demand("TEXTBOOK", lambda: 10))),
    "holders_from_end": (dynamodb("Query", index="holders"), lambda s: list(s.holders_from_end("TEXTBOOK"))),
    "backordered_lines": (dynamodb("Query", index="backorders"), lambda s: list(s.backordered_lines(SHOP))),
    "skus_with_backlog": (dynamodb("Query", index="backlog"), lambda s: list(s.skus_with_backlog())),
    "shop_settings": (dynamodb("GetItem", sk="SHOP"), lambda s: s.shop_settings(SHOP)),
    "manual_shops": (dynamodb("GetItem", sk="MANUAL_SHOPS"), lambda s: s.manual_shops()),
    "customer_policy": (dynamodb("GetItem", sk="CUSTOMER#"), lambda s: s.customer_policy(SHOP, "cust-1")),
    "supplier": (dynamodb("GetItem", sk="SUPPLIER"), lambda s: s.supplier("acme-books")),
    "products": (dynamodb("BatchGetItem"), lambda s: s.products(["TEXTBOOK", "PEN"])),
    "suppliers": (dynamodb("BatchGetItem"), lambda s: s.suppliers(["acme-books"])),
    "listed_products": (dynamodb("Query", index="catalogue"), lambda s: list(s.listed_products())),
    "listed_suppliers": (dynamodb("Query", index="catalogue"), lambda s: list(s.listed_suppliers(after="a"))),
    "planning": (dynamodb("Query", index="planning"), lambda s: list(s.planning())),
    "fills": (dynamodb("Query", index="fills"), lambda s: list(s.fills(SHOP, "2026-01-01", "2026-12-31"))),
    "open_recommendation": (
        dynamodb("GetItem", sk="OPEN#"),
        lambda s: s.open_recommendation("acme-books", PoKind.BACKORDER),
    ),
    "purchase_order": (dynamodb("GetItem", sk="PO"), lambda s: s.purchase_order("po-1")),
    "import_job": (dynamodb("Query"), lambda s: s.import_job("IMP-1")),
    "delivery": (dynamodb("GetItem", sk="DELIVERY#"), lambda s: s.delivery(SHOP, "DELIVERY#shopify#k")),
    "rejections": (dynamodb("Query"), lambda s: s.rejections(SHOP, limit=10)),
    "state_seen": (dynamodb("GetItem", sk="STATE#"), lambda s: s.state_seen(SHOP, Platform.SHOPIFY, "1")),
    "catch_up_marks": (dynamodb("Query"), lambda s: list(s.catch_up_marks())),
    "purchase_orders": (
        dynamodb("Query", index="purchase_orders"),
        lambda s: list(s.purchase_orders([PoStatus.PLACED])),
    ),
    "shop_modes": (dynamodb("GetItem", sk="MANUAL_SHOPS"), lambda s: s.shop_modes()),
    "pending_intents": (dynamodb("Query", index="outbox"), lambda s: list(s.pending_intents())),
    "intents": (dynamodb("BatchGetItem"), lambda s: s.intents("b", ["digest:2026-12-02"])),
    "failed_intents": (dynamodb("Query", index="outbox"), lambda s: s.failed_intents("2026-12-01")),
    "suppressed": (dynamodb("BatchGetItem"), lambda s: s.suppressed(["a@example.com"], shop=SHOP)),
    "choice": (dynamodb("GetItem", sk="CHOICE"), lambda s: s.choice("c1")),
}
WRITES: dict[str, tuple[Call, Read]] = {
    "put_import_job": (
        dynamodb("BatchWriteItem"),
        lambda s: s.put_import_job(
            ImportJob("IMP-1", "products", "2026-12-02", ()), expires=datetime(2030, 1, 1, tzinfo=UTC)
        ),
    ),
    "clear_backlog": (dynamodb("UpdateItem"), lambda s: s.clear_backlog("TEXTBOOK")),
    "put_shop_settings": (dynamodb("UpdateItem"), lambda s: s.put_shop_settings(ShopSettings(SHOP))),
    "put_customer_policy": (dynamodb("PutItem"), lambda s: s.put_customer_policy(SHOP, "cust-1", None)),
    "put_supplier": (dynamodb("PutItem"), lambda s: s.put_supplier(Supplier("acme-books", None, {}))),
    "put_delivery": (dynamodb("PutItem"), lambda s: s.put_delivery(DELIVERY, expires=LATER)),
    "settle_delivery": (dynamodb("UpdateItem"), lambda s: s.settle_delivery(DELIVERY, Status.APPLIED)),
    "put_rejection": (
        dynamodb("PutItem"),
        lambda s: s.put_rejection(
            SHOP, Rejection("2026-12-02", Platform.SHOPIFY, "orders/create", "k", "why"), expires=LATER
        ),
    ),
    "mark_configured": (dynamodb("UpdateItem"), lambda s: s.mark_configured(SHOP, Platform.SHOPIFY, "2026-12-02")),
    "mark_state_seen": (
        dynamodb("UpdateItem"),
        lambda s: s.mark_state_seen(SHOP, Platform.SHOPIFY, "1", "2026-12-02", expires=LATER),
    ),
    "set_seen_until": (dynamodb("UpdateItem"), lambda s: s.set_seen_until(SHOP, Platform.SHOPIFY, "2026-12-02")),
    "put_intent": (dynamodb("PutItem"), lambda s: s.put_intent(DIGEST)),
    "claim": (dynamodb("GetItem", sk="CLAIM"), lambda s: s.claim("b", "t", now="2026-12-02", until="2026-12-03")),
    "mark_sending": (dynamodb("UpdateItem"), lambda s: s.mark_sending("b", "t", "m", ["digest:2026-12-02"])),
    "release": (dynamodb("DeleteItem"), lambda s: s.release("b", "t")),
    "settle": (
        dynamodb("TransactWriteItems"),
        lambda s: s.settle("b", None, [(DIGEST, NoteStatus.SENT, None)], at="2026-12-02T10:00:00.000000Z"),
    ),
    "postpone": (dynamodb("UpdateItem"), lambda s: s.postpone([DIGEST], due_at="2026-12-03", reason="busy")),
    "suppress": (dynamodb("PutItem"), lambda s: s.suppress("a@example.com", "bounced", at="2026-12-02")),
    "opt_out": (dynamodb("PutItem"), lambda s: s.opt_out(SHOP, "d" * 64, "unsubscribed", at="2026-12-02")),
}


def test_every_store_call_is_checked_for_throttling():
    """A new store method gets a row above, so its throttling is shown to answer 429."""
    own = [cls for cls in DynamoStore.__mro__ if cls.__module__.startswith("backorders.")]  # its parts too
    public = {name for cls in own for name in vars(cls) if not name.startswith("_")} - {"unit_of_work"}
    assert public == set(READS) | set(WRITES)


@pytest.fixture
def world(svc):  # type: ignore[no-untyped-def]
    world = World(svc)
    world.product("TEXTBOOK")
    world.receive("TEXTBOOK", 3, "po-1")
    world.order("812", ("TEXTBOOK", 2))
    return world


@pytest.mark.parametrize("read", [*READS, *WRITES])
def test_a_throttled_store_call_is_reported_as_throttled(world, read):
    when, call = {**READS, **WRITES}[read]
    with throttled(when) as throttle, pytest.raises(Throttled):
        call(world.svc.store)
    assert throttle.fired


# ------------------------------------------------------------------ the allotter retries


PLANNING_READS = {
    "the SKU balance": dynamodb("GetItem", sk="SKU"),
    "the demand list": dynamodb("Query", index="demand"),
    "the shops that fill by hand": dynamodb("GetItem", sk="MANUAL_SHOPS"),
    "the commit": dynamodb("TransactWriteItems"),
}


@pytest.mark.parametrize("throttled_call", PLANNING_READS)
def test_the_allotter_retries_a_throttle_and_the_receipt_is_allotted(svc, throttled_call):
    # Given an order waiting for 2 textbooks and a receipt of 3 the allotter has not seen yet
    world = World(svc)
    world.product("TEXTBOOK")
    world.order("812", ("TEXTBOOK", 2))
    svc.stock.record(Movement("po-1", "TEXTBOOK", MovementKind.RECEIPT, 3))
    # When DynamoDB throttles one of the recompute's calls
    with throttled(PLANNING_READS[throttled_call]) as throttle:
        result = svc.allotter.recompute("TEXTBOOK", event="receipt po-1")
    # Then the recompute retries it and commits
    assert throttle.fired
    assert result.plan.changes
    assert (world.allotted("812"), world.backordered("812")) == (2, 0)
    balance = world.balance("TEXTBOOK")
    assert (balance.on_hand, balance.allotted, balance.available) == (3, 2, 1)
