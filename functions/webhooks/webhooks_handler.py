"""Webhook function: ``POST /webhooks/shopify/{shop}`` and ``POST /webhooks/woocommerce/{shop}``
(template.yaml), where ``{shop}`` is the service's shop id (decision 69).

Public, as the platforms call it: no API key, the delivery's signature instead. Thin: the
raw body bytes as the platform sent them (API Gateway base64-encodes a body that is not
JSON, such as WooCommerce's form-encoded ping), to the receiver, which verifies, stores
and answers; the stream applies the delivery. A forged or unconfigured delivery hears 401
and nothing is stored; a genuine one 200, a duplicate too. Bodies are never logged: they
hold customers' names and addresses.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.bootstrap import services
from backorders.domain.errors import Throttled, TooLarge
from backorders.domain.inputs import identifier
from backorders.domain.webshops.common import Platform
from backorders.domain.webshops.deliveries import Refused

logger = Logger()


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _error(status: int, code: str, message: str, field: str | None) -> dict[str, Any]:
    return _answer(status, {"error": code, "message": message, "field": field})


def _platform(event: APIGatewayProxyEventV2) -> Platform | None:
    parts = event.raw_path.strip("/").split("/")
    try:
        return Platform(parts[1]) if len(parts) == 3 and parts[0] == "webhooks" else None
    except ValueError:
        return None


def _body(event: APIGatewayProxyEventV2) -> bytes:
    raw = event.get("body") or ""
    if event.is_base64_encoded:
        return base64.b64decode(raw, validate=True)
    return raw.encode("utf-8")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEventV2(event)
    platform = _platform(request)
    if platform is None or request.request_context.http.method.upper() != "POST":
        return _error(404, "not_found", "no such webhook route: POST /webhooks/{shopify|woocommerce}/{shop}", None)
    try:
        shop = identifier((request.path_parameters or {}).get("shop") or "")
        body = _body(request)
    except (ValueError, binascii.Error):
        return _error(401, "unauthorized", "the delivery's signature does not verify for this shop", "shop")
    headers = {str(k): str(v) for k, v in (request.headers or {}).items()}
    try:
        receipt = services().webhooks.receive(platform, shop, headers, body)
    except Refused as refused:
        logger.info("webhook refused", extra={"shop": shop, "platform": platform.value, "why": refused.message})
        return _error(401, "unauthorized", refused.message, refused.header)
    except TooLarge as exc:
        return _error(413, "too_large", exc.message, "body")
    except Throttled:
        return _error(429, "throttled", "storage is busy; the platform will retry", None)
    logger.info(
        "webhook received",
        extra={"shop": shop, "platform": platform.value, "status": receipt.status, "delivery": receipt.key},
    )
    return _answer(200, {"status": receipt.status})
