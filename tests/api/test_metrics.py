"""The business metrics the functions publish, from real work: the API and the allotter
function on a moto table, the allotter fed the table's own stream. Read from the EMF
lines powertools writes on standard output."""

from __future__ import annotations

import json

import pytest

from tests.support import emf
from tests.support.events import movement_body, order_body, order_line

EMAIL = "ada.lovelace@example.org"


def published(capsys: pytest.CaptureFixture[str]) -> dict[str, float]:
    return dict(emf.totals(capsys.readouterr().out))


@pytest.fixture
def stocked(api):
    """Two textbooks in stock; order 812 (priority 0) holds both, as the allotter left it."""
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 2))
    customer = {"id": "cust-42", "email": EMAIL, "name": "Ada Lovelace"}
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 2), customer=customer))
    api.deliver_stream()
    assert api("GET", "/v1/orders/812").body["lines"][0]["allotted"] == 2
    return api


def test_an_order_and_its_allotment_publish_lines_entered_units_allotted_and_a_filled_backorder(api, capsys):
    api("PUT", "/v1/products/TEXTBOOK", {})
    api("POST", "/v1/stock/movements", movement_body("po-1", "TEXTBOOK", 2))
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 3), order_line("PEN", 1)))
    assert published(capsys) == {"LinesEntered": 2}
    api("POST", "/v1/orders", order_body("812", order_line("TEXTBOOK", 3), order_line("PEN", 1)))  # a replay
    assert published(capsys) == {}

    api.deliver_stream()  # the allotter function recomputes TEXTBOOK (and PEN, unknown: nothing)
    assert published(capsys) == {"UnitsAllotted": 2, "BackordersFilled": 1}


def test_a_higher_priority_order_that_takes_units_publishes_a_backordered_line(stocked, capsys):
    capsys.readouterr()
    stocked("POST", "/v1/orders", order_body("900", order_line("TEXTBOOK", 2), priority=5, minute=1))
    stocked.deliver_stream()
    assert published(capsys) == {"LinesEntered": 1, "UnitsAllotted": 2, "BackordersFilled": 1, "LinesBackordered": 1}


def test_a_forced_backorder_publishes_a_backordered_line(stocked, capsys):
    capsys.readouterr()
    assert stocked("POST", "/v1/orders/812/lines/1/force-backorder", {"units": 1}).status == 200
    assert published(capsys) == {"LinesBackordered": 1}


def test_a_manual_fill_publishes_its_units_and_lines(api, capsys):
    api("PUT", "/v1/shop", {"fill_mode": "manual"})
    api("PUT", "/v1/products/MUG", {})
    api("POST", "/v1/orders", order_body("BIG", order_line("MUG", 3)))
    api.settle("MUG")  # the line waits for a fill
    api("POST", "/v1/stock/movements", movement_body("po-1", "MUG", 2))
    api.settle("MUG")
    capsys.readouterr()
    assert api("POST", "/v1/fill", {"skus": ["MUG"]}).body["units_filled"] == 2
    assert published(capsys) == {"UnitsAllotted": 2, "BackordersFilled": 1}


def test_the_metrics_carry_no_customer_sku_order_or_shop(stocked, capsys):
    capsys.readouterr()
    stocked("POST", "/v1/orders", order_body("900", order_line("TEXTBOOK", 2), priority=5, minute=1))
    stocked.deliver_stream()
    blobs = emf.blobs(capsys.readouterr().out)
    assert blobs
    for blob in blobs:
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert {d for dims in directive["Dimensions"] for d in dims} <= {"service"}
        assert set(blob) - {"_aws", "service"} == {m["Name"] for m in directive["Metrics"]}
        # every name and value but the timestamp (its milliseconds may read "812" by chance)
        text = json.dumps({**blob, "_aws": {**blob["_aws"], "Timestamp": None}})
        for private in (EMAIL, "Lovelace", "cust-42", "TEXTBOOK", "812", "900", "aacme"):
            assert private not in text
