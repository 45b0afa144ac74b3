"""Customers' e-mail addresses and names are stored with their orders but never written
to the logs: not by the API function, not by the allotter."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support.events import movement_body, order_body, order_line, stream_record

EMAIL = "ada.lovelace@example.org"
NAME = "Ada Lovelace"


def _everything_logged(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    """Every captured record with all its attributes (extra fields, arguments,
    exception text), plus whatever reached stdout and stderr."""
    handler = logging.Formatter()
    parts = []
    for record in caplog.records:
        parts.append(json.dumps({k: str(v) for k, v in vars(record).items()}))
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(handler.formatException(record.exc_info))
    out, err = capsys.readouterr()
    return "\n".join([*parts, out, err])


def test_no_customer_email_or_name_appears_in_the_logs_of_intake_and_allotment(api, caplog, capsys):
    caplog.set_level(logging.INFO)  # the template's POWERTOOLS_LOG_LEVEL
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 2))
    customer = {"id": "cust-42", "email": EMAIL, "name": NAME}
    assert api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 3), customer=customer)).status == 201
    assert api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 4), customer=customer)).status == 409
    bad = {**customer, "email": f"{NAME} <{EMAIL}"}
    assert api("POST", "/v1/orders", order_body("813", customer=bad)).status == 422

    # the allotter, as the stream delivers the two writes to it
    result = api.run_allotter(
        stream_record(api.item("SKU#TEXTBOOK", "SKU"), seq=1),
        stream_record(api.item("ORDER#aacme#812", "LINE#0001"), seq=2),
    )
    assert result == {"batchItemFailures": []}
    order = api("GET", "/v1/orders/812").body
    assert order["lines"][0]["allotted"] == 2
    assert [s["status"] for s in order["shipments"]] == ["pending"]

    stored = api.item("ORDER#aacme#812", "ORDER")
    assert (stored["customer_email"]["S"], stored["customer_name"]["S"]) == (EMAIL, NAME)  # it was received
    logged = _everything_logged(caplog, capsys)
    assert "allotment changed" in logged and "TEXTBOOK" in logged  # the logs were captured
    assert EMAIL not in logged
    assert NAME not in logged
    assert "lovelace" not in logged.lower()


def test_the_order_detail_shows_only_the_customer_id(api):
    customer = {"id": "cust-42", "email": EMAIL, "name": NAME}
    api("POST", "/v1/orders", order_body("812", customer=customer))
    reply = api("GET", "/v1/orders/812")
    assert reply.body["customer"] == {"id": "cust-42"}
    assert EMAIL not in json.dumps(reply.body) and NAME not in json.dumps(reply.body)
