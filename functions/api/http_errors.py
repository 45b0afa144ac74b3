"""The one place where errors become HTTP responses.

Every error body is ``{"error": <code>, "message": <text>, "field": <name or null>}``
(plus ``"fields"`` for several validation problems, ``"problems"`` for a CSV file's).
Nothing is written when an error is returned: validation happens before any service
call, and services raise before they commit.
"""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

import catalogue_csv
import request_gate
from backorders.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Throttled,
    TooLarge,
    Unauthorized,
)

logger = Logger(child=True)

STATUS = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Throttled: 429,
    Unauthorized: 401,
}


def json_response(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response[str]:
    """A JSON answer with its status. Routes that need a status other than 200 use
    this: a ``Response`` with a dict body and no content type is not serialised."""
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(payload),
        headers=headers or {},
    )


def response(status: int, code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """A raw API Gateway response, for errors raised before the router runs."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": code, "message": message, "field": field}),
    }


def refusal(refused: request_gate.Refused) -> dict[str, Any]:
    """The raw response for a request the gate turned away before the router ran."""
    return response(refused.status, refused.code, refused.message, refused.field)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")]
    name = ""
    for p in parts:
        name += f"[{p}]" if isinstance(p, int) else (f".{p}" if name else str(p))
    return name or "body"


def register(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        problems = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            kind = err.get("type", "")
            if kind == "json_invalid":
                return json_response(
                    400,
                    {"error": "malformed_json", "message": "request body is not valid JSON", "field": "body"},
                )
            message = str(err.get("msg", "invalid"))
            if kind == "missing":
                message = "is required"
            elif kind == "extra_forbidden":
                message = "is not a known field"
            problems.append({"field": _field_name(loc), "problem": message})
        first = problems[0] if problems else {"field": "body", "problem": "invalid"}
        return json_response(
            422,
            {
                "error": "invalid_request",
                "message": f"{first['field']}: {first['problem']}",
                "field": first["field"],
                "fields": problems,
            },
        )

    @app.exception_handler(RequestUnsupportedContentType)
    def unsupported(exc: RequestUnsupportedContentType) -> Response[str]:
        # the gate refuses a non-JSON body; powertools also refuses a non-JSON type with no body
        content_type = app.current_event.headers.get("content-type", "")
        return json_response(
            415,
            {
                "error": "unsupported_media_type",
                "message": f"send the body as JSON with 'Content-Type: application/json' (got {content_type!r})",
                "field": "content-type",
            },
        )

    @app.exception_handler(catalogue_csv.InvalidFile)
    def invalid_file(exc: catalogue_csv.InvalidFile) -> Response[str]:
        first = exc.problems[0]
        where = f"row {first.row}" + (f", column {first.column}" if first.column else "")
        more = f" (and {exc.count - 1:,} more problems)" if exc.count > 1 else ""
        return json_response(
            exc.status,
            {
                "error": exc.code,
                "message": f"{where}: {first.problem}{more}",
                "field": first.column,
                "problems": [{"row": p.row, "column": p.column, "problem": p.problem} for p in exc.problems],
                "problem_count": exc.count,
            },
        )

    @app.exception_handler(request_gate.Refused)
    def refused(exc: request_gate.Refused) -> Response[str]:
        return json_response(exc.status, {"error": exc.code, "message": exc.message, "field": exc.field})

    @app.exception_handler(DomainError)
    def domain_error(exc: DomainError) -> Response[str]:
        status = next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)
        if status >= 429:
            logger.warning("request throttled", extra={"error": exc.code})
        return json_response(status, {"error": exc.code, "message": exc.message, "field": exc.field})

    @app.not_found
    def not_found(_: Exception) -> Response[str]:
        method = app.current_event.http_method.upper()
        path = app.current_event.path
        allowed = sorted(
            {
                route.method.upper()
                for route in _routes(app)
                if route.rule.match(path) and route.method.upper() != method
            }
        )
        if allowed:
            return json_response(
                405,
                {
                    "error": "method_not_allowed",
                    "message": f"{method} is not allowed on {path}",
                    "field": None,
                },
                headers={"Allow": ", ".join(allowed)},
            )
        return json_response(404, {"error": "not_found", "message": f"no route {method} {path}", "field": None})

    @app.exception_handler(Exception)
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return json_response(500, {"error": "internal", "message": "internal error; it has been logged", "field": None})


def _routes(app: APIGatewayHttpResolver) -> list[Any]:
    return list(app._static_routes) + list(app._dynamic_routes)
