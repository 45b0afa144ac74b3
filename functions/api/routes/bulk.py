"""The catalogue in bulk: products and suppliers listed (JSON, or CSV with
``Accept: text/csv``) and imported from CSV files in the same columns."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from api_docs import CSV_BODY
from backorders.bootstrap import services
from backorders.domain.model import Product, Supplier
from backorders.services.catalogue import Imported, ImportReport, Page
from catalogue_csv import MAX_ROWS, PRODUCTS, SUPPLIERS, Sheet
from http_errors import json_response
from schemas import Identifier

router = APIGatewayHttpRouter()

Limit = Annotated[int, Query(ge=1, le=MAX_ROWS)]  # a page of an export is a file an import takes
# An import stops between transactions when less than this is left of the function's
# time, and answers what it left (API Gateway gives up at 30 s, as the function does).
IMPORT_MARGIN_MS = 5_000


def product_json(product: Product) -> dict[str, Any]:
    fields = {name: getattr(product, name) for name in PRODUCTS.columns}
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in fields.items()}


def supplier_json(supplier: Supplier) -> dict[str, Any]:
    return {"id": supplier.supplier_id, "name": supplier.name, **supplier.settings}


def _listed(what: str, sheet: Sheet, rows: list[dict[str, Any]], page: Page[Any], limit: int) -> Response[str]:
    """The page as JSON, or as CSV when asked; a ``Link`` header names the next page."""
    headers = {}
    if page.next_after is not None:
        headers["Link"] = f'</v1/{what}?after={quote(page.next_after, safe="")}&limit={limit}>; rel="next"'
    if "text/csv" in router.current_event.headers.get("accept", ""):
        return Response(200, content_type="text/csv", body=sheet.write(rows), headers=headers)
    payload = {what: rows, "count": len(rows), "next_after": page.next_after}
    return json_response(200, payload, headers=headers)


@router.get("/v1/products")
def list_products(after: Annotated[Identifier | None, Query()] = None, limit: Limit = MAX_ROWS) -> Response[str]:
    page = services().catalogue.products(after=after, limit=limit)
    return _listed("products", PRODUCTS, [product_json(p) for p in page.records], page, limit)


@router.get("/v1/suppliers")
def list_suppliers(after: Annotated[Identifier | None, Query()] = None, limit: Limit = MAX_ROWS) -> Response[str]:
    page = services().catalogue.suppliers(after=after, limit=limit)
    return _listed("suppliers", SUPPLIERS, [supplier_json(s) for s in page.records], page, limit)


def _out_of_time() -> bool:
    return bool(router.lambda_context.get_remaining_time_in_millis() < IMPORT_MARGIN_MS)


def _imported(rows: int, report: ImportReport) -> Response[str]:
    """What an import did; ``incomplete``: it ran out of time, the same file sent again
    applies the rest (the rows applied are then unchanged); ``accepted`` (202): a large
    import a background job writes, whose progress ``GET /v1/imports/{job}`` tells."""
    if report.job is not None:
        body = {"status": "accepted", "rows": rows, **report.as_dict(), "progress": f"/v1/imports/{report.job}"}
        return json_response(202, body, headers={"Location": f"/v1/imports/{report.job}"})
    return json_response(200, {"status": "incomplete" if report.left else "imported", "rows": rows, **report.as_dict()})


@router.post("/v1/imports/products", openapi_extensions=CSV_BODY)
def import_products() -> Response[str]:
    rows = [Imported(r.body.to_domain(r.key), r.given) for r in PRODUCTS.read(router.current_event.body or "")]
    return _imported(len(rows), services().catalogue.import_products(rows, out_of_time=_out_of_time))


@router.post("/v1/imports/suppliers", openapi_extensions=CSV_BODY)
def import_suppliers() -> Response[str]:
    rows = [Imported(r.body.to_domain(r.key), r.given) for r in SUPPLIERS.read(router.current_event.body or "")]
    return _imported(len(rows), services().catalogue.import_suppliers(rows, out_of_time=_out_of_time))


@router.get("/v1/imports/<job_id>")
def import_progress(job_id: Annotated[Identifier, Path()]) -> dict[str, Any]:
    job = services().catalogue.import_job(job_id)
    written = sum(len(chunk) for number, chunk in enumerate(job.chunks) if number in job.applied)
    return {
        "id": job.job_id,
        "kind": job.kind,
        "status": "done" if job.done else "running",
        "created_at": job.created_at,
        "records": job.records,
        "written": written,
        "chunks": len(job.chunks),
        "chunks_written": len(job.applied),
    }
