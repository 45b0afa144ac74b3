"""Answers that are tables: JSON by default, CSV when the client asks for ``text/csv``
(booleans as in JSON, ``true``/``false``; empty cells for nothing)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

from http_errors import json_response


def _cell(value: Any) -> Any:
    return ("true" if value else "false") if isinstance(value, bool) else value


def wants_csv(headers: Mapping[str, str]) -> bool:
    return "text/csv" in headers.get("accept", "")


def table_response(
    headers: Mapping[str, str], key: str, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]
) -> Response[str]:
    """``{key: [rows], "count": n}`` as JSON, or the rows as CSV with ``columns``."""
    found = list(rows)
    if wants_csv(headers):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        writer.writerows({name: _cell(value) for name, value in row.items()} for row in found)
        return Response(200, content_type="text/csv", body=out.getvalue())
    return json_response(200, {key: found, "count": len(found)})
