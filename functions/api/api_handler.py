"""HTTP API function: every route of the native JSON API.

Thin: check size and API key, hand the request to the router modules in ``routes/``,
and map domain errors to HTTP in one place (``http_errors``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import http_errors
from routes import admin, orders, skus, stock

MAX_BODY_BYTES = 256 * 1024

logger = Logger()
app = APIGatewayHttpResolver(enable_validation=True)
for router in (orders.router, stock.router, skus.router, admin.router):
    app.include_router(router)
http_errors.register(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    body = event.get("body") or ""
    if len(body.encode() if isinstance(body, str) else body) > MAX_BODY_BYTES:
        return http_errors.response(413, "too_large", f"request body exceeds {MAX_BODY_BYTES // 1024} KB")
    shop = http_errors.authenticate(event)
    if isinstance(shop, dict):
        return shop  # the 401 response
    app.append_context(shop=shop)
    return app.resolve(event, context)
