"""Purchasing: the planner on demand and the purchase-order life cycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.adapters.metrics import plan_counts, publish
from backorders.bootstrap import services
from backorders.domain.purchasing import PoKind, PoStatus, PurchaseOrder
from schemas import Identifier, MoveIn, PlaceIn, ReceiptIn

router = APIGatewayHttpRouter()

Status = Literal["recommended", "placed", "partly_received", "received", "withdrawn", "cancelled"]


def po_json(po: PurchaseOrder) -> dict[str, Any]:
    return {
        "id": po.po_id,
        "supplier_id": po.supplier_id,
        "kind": po.kind.value,
        "status": po.status.value,
        "created_at": po.created_at,
        "value": str(po.value),
        "threshold_passed": po.threshold,
        "expected_arrival": po.expected_at,
        "placed_at": po.placed_at,
        "lines": [
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "received": line.received,
                "outstanding": line.outstanding,
                "unit_price": str(line.unit_price),
                "value": str(line.value),
            }
            for line in po.lines
        ],
        "history": list(po.history),
    }


@router.post("/v1/planning/run")
def run_planner() -> dict[str, Any]:
    report = services().planner.run().as_dict()
    publish(plan_counts(report))
    return report


@router.get("/v1/purchase-orders")
def list_purchase_orders(
    status: Annotated[Status | None, Query()] = None,
    supplier: Annotated[Identifier | None, Query()] = None,
    kind: Annotated[Literal["backorder", "regular", "emergency"] | None, Query()] = None,
) -> dict[str, Any]:
    found = services().purchase_orders.list(
        status=PoStatus(status) if status else None, supplier=supplier, kind=PoKind(kind) if kind else None
    )
    return {"purchase_orders": [po_json(po) for po in found], "count": len(found)}


@router.get("/v1/purchase-orders/<po_id>")
def get_purchase_order(po_id: Annotated[Identifier, Path()]) -> dict[str, Any]:
    return po_json(services().purchase_orders.get(po_id))


@router.post("/v1/purchase-orders/<po_id>/place")
def place_purchase_order(po_id: Annotated[Identifier, Path()], body: Annotated[PlaceIn, Body()]) -> dict[str, Any]:
    quantities = {line.sku: line.quantity for line in body.lines} if body.lines is not None else None
    expected = date.fromisoformat(body.expected_arrival) if body.expected_arrival else None
    return po_json(services().purchase_orders.place(po_id, quantities=quantities, expected=expected))


@router.patch("/v1/purchase-orders/<po_id>")
def move_purchase_order(po_id: Annotated[Identifier, Path()], body: Annotated[MoveIn, Body()]) -> dict[str, Any]:
    svc = services()
    moved = svc.purchase_orders.move(po_id, date.fromisoformat(body.expected_arrival))
    svc.planner.run(suppliers=[moved.supplier_id])  # the lines it covers get their new dates now
    return po_json(moved)


@router.post("/v1/purchase-orders/<po_id>/receipts")
def receive_purchase_order(po_id: Annotated[Identifier, Path()], body: Annotated[ReceiptIn, Body()]) -> dict[str, Any]:
    quantities: dict[str, int] = {}
    for line in body.lines:
        quantities[line.sku] = quantities.get(line.sku, 0) + line.quantity
    po, replayed = services().purchase_orders.receive(po_id, body.id, quantities)
    return {**po_json(po), "receipt": body.id, "replayed": replayed}


@router.post("/v1/purchase-orders/<po_id>/cancel")
def cancel_purchase_order(po_id: Annotated[Identifier, Path()]) -> dict[str, Any]:
    return po_json(services().purchase_orders.cancel(po_id))
