"""Stock movements: receipts, returns, adjustments, counts."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.bootstrap import services
from backorders.domain.model import Movement, MovementKind
from backorders.services.queries import balance_view
from http_errors import json_response
from schemas import MovementIn

router = APIGatewayHttpRouter()


@router.post("/v1/stock/movements")
def record_movement(body: Annotated[MovementIn, Body()]) -> Response[str]:
    movement = Movement(body.id, body.sku, MovementKind(body.kind), body.quantity, body.note or "")
    result = services().stock.record(movement, shop=str(router.context["shop"]))
    return json_response(
        201 if result.status == "recorded" else 200,
        {
            "status": result.status,
            "id": result.movement_id,
            "delta": result.delta,
            "balance": balance_view(result.balance),
        },
    )
