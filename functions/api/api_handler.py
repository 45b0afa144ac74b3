"""HTTP API function: every route of the native JSON API.

Thin: check the API key (``auth``: an anonymous caller hears 401 and nothing about its request;
only the API's own description, ``api_docs``, is public),
admit the request (``request_gate``: body size, JSON or a CSV import, UTF-8, nesting), hand it to the
router modules in ``routes/``, and map errors to HTTP in one place (``http_errors``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

import api_docs
import auth
import http_errors
import request_gate
from routes import admin, bulk, integrations, orders, purchasing, reports, skus, stock

logger = Logger()
app = request_gate.ApiResolver(enable_validation=True, json_body_deserializer=request_gate.parse_json)
app.use(middlewares=[request_gate.declared_query_parameters_only])
ROUTERS = (orders, stock, skus, admin, bulk, purchasing, reports, integrations)
for module in ROUTERS:
    app.include_router(module.router)
http_errors.register(app)
api_docs.register(app)  # last: it describes every route above


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        # first: an anonymous caller hears nothing about its request (the API's description is public)
        shop = None if api_docs.is_public(event) else auth.shop_of(event)
        event = request_gate.admit(event)
    except request_gate.Refused as refused:
        return http_errors.refusal(refused)
    app.append_context(shop=shop)
    return app.resolve(event, context)
