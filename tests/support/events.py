"""API Gateway HTTP API events (payload format 2.0) and the JSON bodies the native API
takes, so tests say what they send instead of copying JSON.

``http_event`` builds what API Gateway hands the API function, with the local cloud's
own builder (``localcloud.apigateway.build_http_event``); ``order_body`` and
``movement_body`` build request bodies with vivid defaults that tests override.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from localcloud.apigateway import build_http_event
from localcloud.streams import to_lambda_record
from tests.support.builders import entered

ACCOUNT_ID = "123456789012"
API_HOST = "test.execute-api.us-east-1.amazonaws.com"
AWS_SAMPLE_EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "aws_events"


def aws_sample_event(name: str) -> dict[str, Any]:
    """One of AWS's own sample events, as kept in ``tests/fixtures/aws_events`` (its
    README says where each came from), e.g. ``"sam-apigateway-http-api-proxy"``."""
    event: dict[str, Any] = json.loads((AWS_SAMPLE_EVENTS / f"{name}.json").read_text())
    return event


def http_event(
    method: str,
    path: str,
    body: Mapping[str, Any] | list[Any] | str | bytes | None = None,
    *,
    headers: Mapping[str, str | None] | None = None,
    query: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
    api_key: str | None = None,
    request_id: str | None = None,
    now: datetime | None = None,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """What API Gateway (HTTP API, ``$default`` route unless ``route_key``, payload 2.0) sends the function
    for one request, built by the local cloud's gateway code.

    ``path`` is the request target as a client puts it on the wire: percent-encoded
    (``f"/v1/skus/{quote(sku, safe='')}"``), optionally with a query string. The event
    then carries it as AWS does: ``rawPath`` decoded and cut at a decoded ``?``, so
    ``%2F`` becomes a ``/``. ``query`` is appended to the target (urlencoded).

    ``body`` is sent as bytes: a dict or list JSON-encoded, a string as UTF-8 (send
    malformed JSON as a string), bytes as they are. A body whose Content-Type is not
    text, JSON, XML or JavaScript arrives base64-encoded (``isBase64Encoded``).

    Headers default to ``Content-Type: application/json`` and ``User-Agent: pytest``;
    ``headers`` overrides them (a ``None`` value leaves that header out), ``api_key``
    adds ``Authorization: Bearer <key>``. Header names arrive lower-cased."""
    sent: dict[str, str | None] = {"content-type": "application/json", "user-agent": "pytest"}
    if api_key is not None:
        sent["authorization"] = f"Bearer {api_key}"
    sent.update({name.lower(): value for name, value in (headers or {}).items()})
    if body is None:
        data = b""
    elif isinstance(body, bytes):
        data = body
    elif isinstance(body, str):
        data = body.encode("utf-8")
    else:
        data = json.dumps(body).encode("utf-8")
    target = path
    if query:
        target += ("&" if "?" in target else "?") + urlencode(query)
    sent.setdefault("host", API_HOST)  # what an HTTP client adds
    if data:
        sent.setdefault("content-length", str(len(data)))
    wire = [(name, value) for name, value in sent.items() if value is not None]
    return build_http_event(
        method=method,
        target=target,
        headers=wire,
        body=data,
        host=API_HOST,
        account_id=ACCOUNT_ID,
        api_id="test",
        request_id=request_id or uuid.uuid4().hex,
        now=now or datetime.now(UTC),
        route_key=route_key,
        path_parameters=path_parameters,
    )


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
    stored, shaped as a Lambda event source mapping delivers it (by the local cloud's
    own converter, ``localcloud.streams.to_lambda_record``)."""
    ddb: dict[str, Any] = {
        "ApproximateCreationDateTime": datetime.now(UTC),
        "Keys": {"pk": item["pk"], "sk": item["sk"]},
        "NewImage": dict(item),
        "SequenceNumber": f"{seq:021d}",
        "SizeBytes": len(json.dumps(item)),
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        ddb["OldImage"] = dict(old)
    raw = {"eventID": uuid.uuid4().hex, "eventName": "MODIFY" if old is not None else "INSERT", "dynamodb": ddb}
    arn = f"arn:aws:dynamodb:us-east-1:{ACCOUNT_ID}:table/backorders/stream/2026-11-22T10:00:00.000"
    return to_lambda_record(raw, arn, "us-east-1")
