"""schemathesis against the local cloud's own ``/openapi.json`` (decision 68): requests
generated from the document, those that fit it and those that do not, sent over HTTP
with a shop's key to the whole stack. For every request:

- the status is below 500 (a 5xx is a bug of ours, never the request's);
- a 4xx answer is JSON with ``error``, ``message`` and ``field``;
- a 4xx answer wrote nothing: the table is item for item what it was before the
  request (taken once the stream and queue consumers had caught up, so nothing an
  earlier accepted request caused is still on its way).

Bounded: ``SCHEMATHESIS_EXAMPLES`` requests per operation and mode (default 3: about
200 requests in all). The generated bad-input test (``tests/api``) is the thorough one;
this one checks that the document describes the API well enough for a tool to drive
it, and finds what the hand-written strategies do not think of. A longer run:
``SCHEMATHESIS_EXAMPLES=50 .venv/bin/pytest -n 2 tests/e2e/test_schemathesis.py``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api_docs import WEBHOOKS
from tests.support.routes import app_routes

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "3"))
# the operations, named as schemathesis names them, from the app (the document must hold each)
OPERATIONS = [
    f"{route.method} {route.path.replace('<', '{').replace('>', '}')}" for route in app_routes() if route.in_schema
] + [f"POST {path}" for path in WEBHOOKS]  # WebhookFunction's routes, described in the same document


@pytest.fixture(scope="module")
def schema(e2e: Any) -> Any:
    return schemathesis.openapi.from_url(f"{e2e.cloud.api_url}/openapi.json")


def table_items(e2e: Any) -> list[dict[str, Any]]:
    client = e2e.cloud.client("dynamodb")
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=e2e.cloud.table_name("Table"), ConsistentRead=True):
        items.extend(page["Items"])
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_generated_request_is_a_5xx_and_a_refused_one_writes_nothing(e2e: Any, schema: Any, label: str) -> None:
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is not in the local cloud's /openapi.json"
    cases = st.one_of(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))

    @settings(
        max_examples=2 * EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )
    @given(case=cases)
    def check(case: Any) -> None:
        e2e.settle()
        before = table_items(e2e)
        response = case.call(base_url=e2e.cloud.api_url, headers={"Authorization": f"Bearer {e2e.api.key}"}, timeout=30)
        request = f"{case.method} {response.request.url} {response.request.body!r:.300}"
        assert response.status_code < 500, f"{response.status_code} for {request}: {response.text[:300]}"
        if response.status_code >= 400:
            assert response.headers.get("content-type", [""])[0].startswith("application/json"), request
            payload = response.json()
            assert {"error", "message", "field"} <= payload.keys(), (request, payload)
            assert table_items(e2e) == before, f"a refused request wrote: {request} -> {payload}"

    check()
