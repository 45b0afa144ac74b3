"""Reports: products below minimum by supplier, POs awaiting placement, and the
backorders filled over a period; each JSON, or CSV with Accept: text/csv."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.api.test_purchasing import backorder, catalogue, plan
from tests.support.events import movement_body


def csv_rows(reply: Any) -> list[dict[str, str]]:
    assert reply.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(reply.body)))


def test_the_reorder_report_lists_products_below_minimum_by_supplier(api):
    catalogue(api, max_stock=10)
    backorder(api, "812", 3)
    rows = api("GET", "/v1/reports/reorder").body["products"]
    assert [(r["supplier_id"], r["sku"], r["projected_position"], r["min_stock"], r["suggested_quantity"])
            for r in rows] == [("acme", "TEXTBOOK", -3, 4, 13)]  # fmt: skip
    (row,) = csv_rows(api("GET", "/v1/reports/reorder", headers={"Accept": "text/csv"}, query={"supplier": "acme"}))
    assert (row["sku"], row["stock_position"], row["suggested_quantity"]) == ("TEXTBOOK", "-3", "13")


def test_pos_awaiting_placement_are_listed_line_by_line(api):
    catalogue(api)
    backorder(api, "812", 3)
    po_id = plan(api)["recommended"][0]
    rows = api("GET", "/v1/reports/awaiting-placement").body["lines"]
    assert [(r["po_id"], r["kind"], r["sku"], r["quantity"], r["value"]) for r in rows] == [
        (po_id, "backorder", "TEXTBOOK", 7, "70.00")
    ]
    api("POST", f"/v1/purchase-orders/{po_id}/place", {})
    assert api("GET", "/v1/reports/awaiting-placement").body["lines"] == []


def test_the_filled_backorders_report_lists_what_arriving_stock_filled(api):
    catalogue(api)
    backorder(api, "812", 3)
    assert api("POST", "/v1/stock/movements", movement_body("r-1", "TEXTBOOK", 2)).status == 201
    api.deliver_stream()
    rows = api("GET", "/v1/reports/filled-backorders").body["fills"]
    assert [(r["order_id"], r["line"], r["sku"], r["units"]) for r in rows] == [("812", 1, "TEXTBOOK", 2)]
    (row,) = csv_rows(api("GET", "/v1/reports/filled-backorders", headers={"Accept": "text/csv"}))
    assert row["units"] == "2"
    assert api("GET", "/v1/reports/filled-backorders", query={"until": "2026-01-01T00:00:00Z"}).body["fills"] == []


def test_another_shop_sees_none_of_these_fills(api):
    catalogue(api)
    backorder(api, "812", 3)
    api("POST", "/v1/stock/movements", movement_body("r-1", "TEXTBOOK", 2))
    api.deliver_stream()
    assert api("GET", "/v1/reports/filled-backorders", shop="bbooks").body["fills"] == []


def test_since_after_until_is_refused(api):
    reply = api("GET", "/v1/reports/filled-backorders", query={"since": "2026-11-02T00:00:00Z",
                                                               "until": "2026-11-01T00:00:00Z"})  # fmt: skip
    assert (reply.status, reply.error) == (422, ("invalid_input", "since"))
