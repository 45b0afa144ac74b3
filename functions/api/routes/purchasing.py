"""Purchasing: the planner on demand and the purchase-order life cycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.adapters.metrics import plan_counts, publish
from backorders.bootstrap import services
from backorders.domain.purchasing import PoKind, PoStatus, PurchaseOrder
from http_errors import json_response
from schemas import Identifier, MoveIn, PlaceIn, ReceiptIn
from tables import table_response, wants_csv

router = APIGatewayHttpRouter()

Status = Literal["recommended", "placed", "partly_received", "received", "withdrawn", "cancelled"]

# GET /v1/purchase-orders as CSV: one row per PO line, the PO's columns repeated
PO_LINE_COLUMNS = (
    "id", "supplier_id", "kind", "status", "created_at", "threshold_passed", "expected_arrival", "placed_at",
    "po_value", "sku", "quantity", "received", "outstanding", "unit_price", "value",
)  # fmt: skip


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
) -> Response[str]:
    """JSON, or with ``Accept: text/csv`` a CSV of their lines (``PO_LINE_COLUMNS``)."""
    found = services().purchase_orders.list(
        status=PoStatus(status) if status else None, supplier=supplier, kind=PoKind(kind) if kind else None
    )
    headers = router.current_event.headers
    if wants_csv(headers):
        return table_response(headers, "lines", _line_rows(found), PO_LINE_COLUMNS)
    return json_response(200, {"purchase_orders": [po_json(po) for po in found], "count": len(found)})


def _line_rows(pos: list[PurchaseOrder]) -> list[dict[str, Any]]:
    rows = []
    for po in pos:
        header = po_json(po)
        head = {name: header[name] for name in PO_LINE_COLUMNS[:8]} | {"po_value": header["value"]}
        rows += [head | line for line in header["lines"]]
    return rows


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
