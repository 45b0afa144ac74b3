"""Catalogue and settings: products, suppliers, shop and customer settings, manual fill."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.adapters.metrics import fill_counts, publish
from backorders.bootstrap import services
from backorders.domain.model import LinePolicy
from backorders.services.queries import product_view
from schemas import CustomerSettingsIn, FillIn, Identifier, ProductIn, ShopIn, SupplierIn

router = APIGatewayHttpRouter()


@router.put("/v1/products/<sku>")
def put_product(sku: Annotated[Identifier, Path()], body: Annotated[ProductIn, Body()]) -> dict[str, Any]:
    services().catalogue.save_product(body.to_domain(sku))
    return {"status": "saved", "sku": sku}


@router.get("/v1/products/<sku>")
def get_product(sku: Annotated[Identifier, Path()]) -> dict[str, Any]:
    """The product's settings and its purchasing counters (stock position, incoming)."""
    balance, product = services().catalogue.product(sku)
    return {
        "sku": sku,
        **product_view(product),
        "stock_position": balance.stock_position,
        "incoming": balance.incoming,
        "projected_position": balance.projected_position,
    }


@router.put("/v1/suppliers/<supplier_id>")
def put_supplier(supplier_id: Annotated[Identifier, Path()], body: Annotated[SupplierIn, Body()]) -> dict[str, Any]:
    services().catalogue.save_supplier(body.to_domain(supplier_id))
    return {"status": "saved", "supplier_id": supplier_id}


@router.get("/v1/suppliers/<supplier_id>")
def get_supplier(supplier_id: Annotated[Identifier, Path()]) -> dict[str, Any]:
    supplier = services().catalogue.supplier(supplier_id)
    return {"id": supplier.supplier_id, "name": supplier.name, **supplier.settings}


@router.put("/v1/shop")
def put_shop(body: Annotated[ShopIn, Body()]) -> dict[str, Any]:
    shop = str(router.context["shop"])
    released = services().shops.save(body.to_domain(shop))
    return {"status": "saved", "shop": shop, **body.model_dump(), "lines_released": released}


@router.put("/v1/customers/<customer_id>")
def put_customer(
    customer_id: Annotated[Identifier, Path()], body: Annotated[CustomerSettingsIn, Body()]
) -> dict[str, Any]:
    policy = LinePolicy(body.line_policy) if body.line_policy else None
    services().shops.save_customer(str(router.context["shop"]), customer_id, policy)
    return {"status": "saved", "customer_id": customer_id, "line_policy": body.line_policy}


@router.post("/v1/fill")
def fill(body: Annotated[FillIn, Body()]) -> dict[str, Any]:
    report = services().fill.fill(
        str(router.context["shop"]),
        skus=set(body.skus) if body.skus else None,
        only_complete=body.only_complete_orders,
    )
    publish(fill_counts(units_filled=report.units_filled, lines_filled=report.lines_filled))
    return {
        "orders_considered": report.orders_considered,
        "lines_filled": report.lines_filled,
        "units_filled": report.units_filled,
        "filled": report.filled,
    }
