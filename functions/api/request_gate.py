"""What a request must be before any route sees it (PRODUCT.md, "Tenancy, identifiers and
input"). Each refusal is a 4xx JSON error naming the problem, and nothing is written.

- The body, as the client sent it (API Gateway base64-encodes every body that is not
  JSON, XML, JavaScript or ``text/*``), is at most 256 KB: else 413. The CSV imports
  (``CSV_UPLOADS``) take up to 5 MB.
- A body is JSON: ``Content-Type: application/json`` (``charset=utf-8`` if a charset is
  given), or for a CSV import ``text/csv``: else 415. It is UTF-8: else 400.
- The JSON nests at most 32 levels, has no ``NaN``/``Infinity``, no key twice, no
  number of over 1,000 digits and no lone surrogate escape: else 400. Numbers with a
  fraction or exponent are read as ``Decimal`` (exact money).
- A query parameter the route does not declare: 400.
- A path segment is any text but ``/`` (identifiers may hold any character but
  ``/ ? #``); API Gateway has already percent-decoded it, so it is not decoded again.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

MAX_BODY_BYTES = 256 * 1024
# The routes that take a CSV file (POST): up to 5 MB, within API Gateway's 10 MB and
# Lambda's 6 MB request (a text/csv body arrives as text, not base64). docs/decisions.md 62.
CSV_UPLOADS = frozenset({"/v1/imports/products", "/v1/imports/suppliers"})
MAX_CSV_BODY_BYTES = 5 * 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 1000  # Python refuses ints over 4,300 digits; every number the API takes is below 10^9


class Refused(Exception):
    """A request the gate turns away before any route runs."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class ApiResolver(APIGatewayHttpResolver):
    """powertools' HTTP API resolver whose path parameters take any text but ``/``.

    powertools matches a parameter against URI-safe characters and ``\\w`` only, so an
    identifier such as ``PEN "BLUE"`` or an emoji SKU (valid by the identifier rule)
    would find no route; the rule itself is checked by each parameter's type."""

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}$") -> re.Pattern[str]:
        return re.compile(base_regex.format(re.sub(r"(<\w+>)", r"(?P\1[^/]+)", rule)))


def _header(event: dict[str, Any], name: str) -> str:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return ""


def _is_media(content_type: str, wanted: str) -> bool:
    media_type, *params = (part.strip().lower() for part in content_type.split(";"))
    if media_type != wanted:
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() == "charset" and value.strip().strip('"') != "utf-8":
            return False
    return True


def takes_csv(event: dict[str, Any]) -> bool:
    """Whether the request goes to a CSV import (the path as the router matches it)."""
    request = APIGatewayProxyEventV2(event)
    return request.http_method.upper() == "POST" and request.path in CSV_UPLOADS


def admit(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its body decoded to text, or :class:`Refused`."""
    media_type, limit = ("text/csv", MAX_CSV_BODY_BYTES) if takes_csv(event) else ("application/json", MAX_BODY_BYTES)
    raw = event.get("body") or ""
    if event.get("isBase64Encoded") and raw:
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise Refused(400, "malformed_body", "the body is marked base64 but is not base64", "body") from None
    else:
        body = raw.encode() if isinstance(raw, str) else bytes(raw)
    if len(body) > limit:
        raise Refused(413, "too_large", f"request body exceeds {limit // 1024:,} KB", "body")
    if not body:
        return {**event, "body": None, "isBase64Encoded": False}
    content_type = _header(event, "content-type")
    if not _is_media(content_type, media_type):
        form = "JSON" if media_type == "application/json" else "a CSV file"
        raise Refused(
            415,
            "unsupported_media_type",
            f"send the body as {form} with 'Content-Type: {media_type}' (got {content_type or 'no Content-Type'!r})",
            "content-type",
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(400, "malformed_body", f"the body is not UTF-8 (byte {exc.start + 1})", "body") from None
    # media types are case-insensitive (RFC 9110); powertools reads only a lower-case one as JSON
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    headers["content-type"] = media_type
    return {**event, "headers": headers, "body": text, "isBase64Encoded": False}


def _no_constants(name: str) -> Any:
    raise Refused(400, "malformed_json", f"{name} is not a JSON number", "body")


def _number(text: str) -> Any:
    if len(text.lstrip("-").split("e")[0].split("E")[0].replace(".", "")) > MAX_NUMBER_DIGITS:
        raise Refused(400, "malformed_json", f"a number has more than {MAX_NUMBER_DIGITS} digits", "body")
    return Decimal(text) if any(c in text for c in ".eE") else int(text)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise Refused(400, "malformed_json", f"key {key!r} appears twice in one object", "body")
        out[key] = value
    return out


_SURROGATE = re.compile("[\ud800-\udfff]")


def _depth(value: Any) -> int:
    """How deep ``value`` nests; refuses a text with a lone surrogate (``"\\ud800"`` is
    valid JSON but no Unicode text: it cannot be stored or sent as UTF-8)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, str) and _SURROGATE.search(item):
            raise Refused(400, "malformed_json", "a text holds a lone surrogate escape (\\ud800-\\udfff)", "body")
    return deepest


def parse_json(text: str) -> Any:
    """The routes' JSON reader (the resolver's deserializer)."""
    too_deep = f"the JSON nests deeper than {MAX_JSON_DEPTH} levels"
    try:
        value = json.loads(
            text, parse_int=_number, parse_float=_number, parse_constant=_no_constants, object_pairs_hook=_no_duplicates
        )
    except RecursionError:
        raise Refused(400, "malformed_json", too_deep, "body") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise Refused(400, "malformed_json", too_deep, "body")
    return value


def declared_query_parameters_only(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Refuse a query parameter the route does not declare (a typo would otherwise be
    silently ignored: ``?min_age=30`` reads as no filter at all)."""
    route = app.context.get("_route")
    declared = {param.alias for param in route.dependant.query_params} if route is not None else set()
    unknown = sorted(set(app.current_event.query_string_parameters or {}) - declared)
    if unknown:
        takes = f"it takes {', '.join(sorted(declared))}" if declared else "it takes none"
        raise Refused(400, "unknown_parameter", f"unknown query parameter {unknown[0]!r}; {takes}", unknown[0])
    return next_middleware(app)
