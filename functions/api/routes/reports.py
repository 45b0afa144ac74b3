"""Reports: reorder (below minimum, by supplier), purchase orders awaiting placement, and
backorders filled over a period; each as JSON, or CSV with ``Accept: text/csv``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.bootstrap import services
from backorders.domain.errors import InvalidInput
from backorders.services.reports import AWAITING_COLUMNS, FILLED_COLUMNS, REORDER_COLUMNS
from schemas import BusinessTime, Identifier
from tables import table_response

router = APIGatewayHttpRouter()


@router.get("/v1/reports/reorder")
def reorder_report(supplier: Annotated[Identifier | None, Query()] = None) -> Response[str]:
    rows = services().reports.reorder(supplier=supplier)
    return table_response(router.current_event.headers, "products", rows, REORDER_COLUMNS)


@router.get("/v1/reports/awaiting-placement")
def awaiting_placement_report(supplier: Annotated[Identifier | None, Query()] = None) -> Response[str]:
    rows = services().reports.awaiting_placement(supplier=supplier)
    return table_response(router.current_event.headers, "lines", rows, AWAITING_COLUMNS)


@router.get("/v1/reports/filled-backorders")
def filled_backorders_report(
    since: Annotated[BusinessTime | None, Query()] = None, until: Annotated[BusinessTime | None, Query()] = None
) -> Response[str]:
    """Fills from ``since`` (default: 30 days ago) to ``until`` (default: now)."""
    end = _moment(until) if until else datetime.now(UTC)
    start = _moment(since) if since else end - timedelta(days=30)
    if start > end:
        raise InvalidInput("since must not be after until", field="since")
    rows = services().reports.filled_backorders(shop=str(router.context["shop"]), since=start, until=end)
    return table_response(router.current_event.headers, "fills", rows, FILLED_COLUMNS)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
