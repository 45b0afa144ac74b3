"""A shop's webshop integrations (decision 66): PUT stores one platform's settings and
secrets, GET shows whether each is set, never a secret."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter

from backorders.bootstrap import services
from schemas import ShopifyIntegrationIn, WooCommerceIntegrationIn

router = APIGatewayHttpRouter()


@router.put("/v1/shop/integrations/shopify")
def put_shopify(body: Annotated[ShopifyIntegrationIn, Body()]) -> dict[str, Any]:
    shop = str(router.context["shop"])
    return {"status": "saved", "shop": shop, "shopify": services().integrations.save(shop, body.to_domain())}


@router.put("/v1/shop/integrations/woocommerce")
def put_woocommerce(body: Annotated[WooCommerceIntegrationIn, Body()]) -> dict[str, Any]:
    shop = str(router.context["shop"])
    return {"status": "saved", "shop": shop, "woocommerce": services().integrations.save(shop, body.to_domain())}


@router.get("/v1/shop/integrations")
def get_integrations() -> dict[str, Any]:
    shop = str(router.context["shop"])
    return {"shop": shop, **services().integrations.show(shop)}


@router.get("/v1/webhooks/rejected")
def get_rejected_webhooks() -> dict[str, Any]:
    """Genuine deliveries the service could not apply, and lines it holds (no usable SKU),
    newest first, with the reason (decision 69)."""
    shop = str(router.context["shop"])
    rejected = services().webhooks.rejected(shop)
    return {
        "shop": shop,
        "rejected": [
            {"received_at": r.received_at, "platform": r.platform.value, "topic": r.topic, "delivery": r.key,
             "order_id": r.order_id, "reason": r.reason}
            for r in rejected
        ],
    }  # fmt: skip
