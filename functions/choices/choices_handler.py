"""Choices function: the pages behind the links in customer emails (public routes).

``GET /choices/{token}`` and ``GET /unsubscribe/{token}`` show a confirmation page and
change nothing (mail systems open links to scan them); ``POST`` to the same address acts,
once (``services.choices``). The token is the authority: signed, expiring, for one action
on one order. Answers are small HTML pages that are never cached, indexed or framed, and
send no referrer (the address holds the token).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from backorders.bootstrap import services
from backorders.messages import render_page
from backorders.services.choices import Page, refused

logger = Logger()
MAX_BODY = 4096
HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "x-robots-tag": "noindex, nofollow",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'",
}
ROUTES = ("choices", "unsubscribe")


def _answer(page: Page) -> dict[str, Any]:
    html = render_page(page.name, dict(page.context), locale=page.locale, time_zone=page.time_zone)
    return {"statusCode": page.status, "headers": dict(HEADERS), "body": html}


def _form(event: dict[str, Any]) -> dict[str, list[str]] | None:
    """The POSTed form, or None when it cannot be read (too large, not UTF-8)."""
    body = event.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode()
        if len(raw) > MAX_BODY:
            return None
        return parse_qs(raw.decode("utf-8"), max_num_fields=10)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    path = str(event.get("rawPath") or "")
    route, _, token = path.strip("/").partition("/")
    token = (event.get("pathParameters") or {}).get("token") or token
    if route not in ROUTES or not token:
        return _answer(refused("malformed"))
    svc = services()
    unsubscribe = route == "unsubscribe"
    if method == "GET":
        page = svc.choices.open(token, form_action=path, unsubscribe=unsubscribe)
    elif method == "POST":
        form = _form(event)
        if form is None:
            page = refused("malformed")
        elif unsubscribe or form.get("confirm") == ["yes"]:  # RFC 8058's one-click POST, or the page's form
            page = svc.choices.confirm(token, unsubscribe=unsubscribe)
        else:
            page = svc.choices.open(token, form_action=path, unsubscribe=unsubscribe)
    else:
        return {"statusCode": 405, "headers": {**HEADERS, "allow": "GET, POST"}, "body": ""}
    logger.info("choice page", extra={"route": route, "method": method, "page": page.name, "status": page.status})
    return _answer(page)
