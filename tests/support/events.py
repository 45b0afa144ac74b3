"""API Gateway HTTP API events (payload format 2.0) and the JSON bodies the native API
takes, so tests say what they send instead of copying JSON.

``http_event`` builds what API Gateway hands the API function; ``order_body`` and
``movement_body`` build request bodies with vivid defaults that tests override.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.support.builders import entered

ACCOUNT_ID = "123456789012"


def http_event(
    method: str,
    path: str,
    body: Mapping[str, Any] | list[Any] | str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    api_key: str | None = None,
) -> dict[str, Any]:
    """What API Gateway (HTTP API, ``$default`` route, payload 2.0) sends for one request.

    ``body`` is JSON-encoded unless it is already a string (send malformed JSON as a
    string). ``api_key`` adds ``Authorization: Bearer <key>``. Header names are
    lower-cased, as API Gateway delivers them."""
    merged = {"content-type": "application/json", "user-agent": "pytest"}
    if api_key is not None:
        merged["authorization"] = f"Bearer {api_key}"
    merged.update({name.lower(): value for name, value in (headers or {}).items()})
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "test",
            "domainName": "test.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "test",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


# ------------------------------------------------------------------ request bodies


def order_line(sku: str = "TEXTBOOK", quantity: int = 1, **fields: Any) -> dict[str, Any]:
    return {"sku": sku, "quantity": quantity, "unit_price": "12.50", **fields}


def order_body(
    order_id: str = "812",
    *lines: dict[str, Any],
    minute: int = 0,
    customer: Mapping[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A POST /v1/orders body: one TEXTBOOK unless ``lines`` are given, entered
    ``minute`` minutes after 10:00 on 22 November 2026."""
    return {
        "id": order_id,
        "entered_at": entered(minute),
        "customer": dict(customer or {"id": "cust-42"}),
        "lines": list(lines) or [order_line()],
        **fields,
    }


def movement_body(
    movement_id: str = "po-1", sku: str = "TEXTBOOK", quantity: int = 5, kind: str = "receipt", **fields: Any
) -> dict[str, Any]:
    """A POST /v1/stock/movements body: a receipt of 5 textbooks unless told otherwise."""
    return {"id": movement_id, "sku": sku, "kind": kind, "quantity": quantity, **fields}


# ------------------------------------------------------------------ table stream


def stream_record(item: Mapping[str, Any], old: Mapping[str, Any] | None = None, *, seq: int = 1) -> dict[str, Any]:
    """A DynamoDB stream record (NEW_AND_OLD_IMAGES) of ``item``, in DynamoDB JSON as
    stored, shaped as a Lambda event source mapping delivers it."""
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(datetime.now(UTC).timestamp()),
        "Keys": {"pk": item["pk"], "sk": item["sk"]},
        "NewImage": dict(item),
        "SequenceNumber": f"{seq:021d}",
        "SizeBytes": len(json.dumps(item)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        ddb["OldImage"] = dict(old)
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": "MODIFY" if old is not None else "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": ddb,
        "eventSourceARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/backorders/stream/2026-11-22T10:00:00.000",
    }
