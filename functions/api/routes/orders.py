"""Orders: intake, detail, edits, shipments."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.adapters.metrics import intake_counts, line_counts, publish
from backorders.bootstrap import services
from backorders.domain.errors import InvalidInput
from backorders.domain.model import Customer, LinePolicy, NewLine, Order, ShipType
from backorders.domain.orders import fingerprint
from backorders.services.orders import Command
from backorders.services.shipments import ShipmentResult
from http_errors import json_response
from schemas import CancelIn, ForceBackorderIn, Identifier, LinePatchIn, OrderIn, OrderPatchIn

OrderId = Annotated[Identifier, Path()]
LineNo = Annotated[int, Path(ge=1, le=9999)]
ShipmentNo = Annotated[int, Path(ge=1, le=9999)]

router = APIGatewayHttpRouter()


def _shop() -> str:
    return str(router.context["shop"])


@router.post("/v1/orders")
def create_order(body: Annotated[OrderIn, Body()]) -> Response[str]:
    order = Order(
        shop=_shop(),
        order_id=body.id,
        entered_at=body.entered_at,
        customer=Customer(body.customer.id, body.customer.email, body.customer.name),
        priority=body.priority,
        ship_type=ShipType(body.ship_type),
        policy=LinePolicy(body.line_policy) if body.line_policy else None,
        lines=tuple(
            NewLine(line.line or i, line.sku, line.quantity, line.unit_price) for i, line in enumerate(body.lines, 1)
        ),
        fingerprint=fingerprint(body.model_dump(mode="json")),
    )
    result = services().orders.create(order)
    publish(intake_counts(result.status, result.lines))
    status = 201 if result.status == "created" else 200
    return json_response(status, {"status": result.status, "order_id": result.order_id, "lines": result.lines})


@router.get("/v1/orders/<order_id>")
def get_order(order_id: OrderId) -> dict[str, Any]:
    return services().queries.order(_shop(), order_id)


@router.patch("/v1/orders/<order_id>")
def change_order(order_id: OrderId, body: Annotated[OrderPatchIn, Body()]) -> dict[str, Any]:
    changes = services().orders.change_priority(_shop(), order_id, body.priority)
    return {"status": "changed" if changes else "unchanged", "order_id": order_id, "priority": body.priority}


@router.post("/v1/orders/<order_id>/cancel")
def cancel_order(order_id: OrderId, body: Annotated[CancelIn, Body()]) -> dict[str, Any]:
    """Cancel the order or a line (all its open units: a replay changes nothing), or
    ``units`` of a line: relative, so it is applied once per ``Idempotency-Key``."""
    command = None
    if body.units is not None:
        key = (router.current_event.headers.get("idempotency-key") or "").strip()
        if not 0 < len(key) <= 128:
            raise InvalidInput(
                "cancelling some units needs an Idempotency-Key header (1-128 characters)", field="idempotency-key"
            )
        command = Command(f"cancel/{key}", fingerprint(body.model_dump()))
    changes = services().orders.cancel(_shop(), order_id, body.line, body.units, command=command)
    return {"status": "cancelled" if changes else "unchanged", "order_id": order_id, "lines": len(changes)}


@router.patch("/v1/orders/<order_id>/lines/<line_no>")
def change_line(order_id: OrderId, line_no: LineNo, body: Annotated[LinePatchIn, Body()]) -> dict[str, Any]:
    changes = services().orders.change_quantity(_shop(), order_id, line_no, body.quantity)
    publish(line_counts(changes))
    return {"status": "changed" if changes else "unchanged", "order_id": order_id, "line": line_no}


@router.post("/v1/orders/<order_id>/lines/<line_no>/force-backorder")
def force_backorder(order_id: OrderId, line_no: LineNo, body: Annotated[ForceBackorderIn, Body()]) -> dict[str, Any]:
    changes = services().orders.force_backorder(_shop(), order_id, line_no, body.units)
    publish(line_counts(changes))
    return {"status": "changed" if changes else "unchanged", "order_id": order_id, "line": line_no}


def _shipment_answer(result: ShipmentResult) -> dict[str, Any]:
    return {"status": result.status, "shipment": result.shipment.shipment_no, "state": result.shipment.status.value}


@router.post("/v1/orders/<order_id>/shipments/<shipment_no>/release")
def release_shipment(order_id: OrderId, shipment_no: ShipmentNo) -> dict[str, Any]:
    return _shipment_answer(services().shipments.release(_shop(), order_id, shipment_no))


@router.post("/v1/orders/<order_id>/shipments/<shipment_no>/ship")
def ship_shipment(order_id: OrderId, shipment_no: ShipmentNo) -> dict[str, Any]:
    return _shipment_answer(services().shipments.ship(_shop(), order_id, shipment_no))
