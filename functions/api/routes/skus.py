"""SKU balances and the backorder report."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.bootstrap import services
from schemas import Identifier
from tables import table_response

router = APIGatewayHttpRouter()

REPORT_COLUMNS = [
    "order_id", "line", "sku", "customer_id", "entered_at", "age_days", "priority",
    "backordered", "forced_backorder", "awaiting_fill", "unit_price", "value",
    "supplier_id", "expected_on", "expected_source", "defaulting",
]  # fmt: skip


@router.get("/v1/skus/<sku>")
def get_sku(sku: Annotated[Identifier, Path()], history: Annotated[bool, Query()] = False) -> dict[str, Any]:
    return services().queries.sku(sku, shop=str(router.context["shop"]), with_log=history)


@router.get("/v1/backorders")
def backorders(
    sku: Annotated[Identifier | None, Query()] = None,
    customer: Annotated[Identifier | None, Query()] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    supplier: Annotated[Identifier | None, Query()] = None,
    defaulting: Annotated[bool | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> Response[str]:
    rows = list(
        services().queries.backorders(
            shop=str(router.context["shop"]),
            sku=sku,
            customer=customer,
            min_age_days=min_age_days,
            supplier=supplier,
            defaulting=defaulting,
            limit=limit,
        )
    )
    return table_response(router.current_event.headers, "backorders", rows, REPORT_COLUMNS)
