"""The catalogue in bulk (issue "Settings" > "Bulk"): products and suppliers are listed as
JSON, or exported as CSV in the columns the imports take, so an exported file edited in a
spreadsheet imports back; an import checks every row with the PUT bodies' rules first and
applies nothing when one is wrong, naming its row and column."""

from __future__ import annotations

import pytest

from backorders.domain.model import Product
from backorders.services.catalogue import Imported
from routes import bulk
from tests.support.events import movement_body, order_body, order_line

CSV = {"Content-Type": "text/csv"}


def export(api, what: str, **query: str) -> str:
    reply = api("GET", f"/v1/{what}", headers={"Accept": "text/csv"}, query=query or None)
    assert (reply.status, reply.headers["content-type"]) == (200, "text/csv"), reply.body
    return str(reply.body)


def send_file(api, what: str, text: str):
    return api("POST", f"/v1/imports/{what}", text, headers=CSV)


def imported(api, what: str, text: str) -> dict[str, int]:
    reply = send_file(api, what, text)
    assert reply.status == 200, reply.body
    return {name: reply.body[name] for name in ("rows", "created", "updated", "unchanged")}


def a_catalogue(api) -> None:
    suppliers = {
        "acme": {"name": "Acme, Books & Co", "backorders_enabled": True, "fixed_order_cost": "25.00",
                 "threshold_mode": "fixed_cost", "next_review_date": "2030-01-06",
                 "buyer_emails": ["ada@acme.example", "bob@acme.example"]},
        "bolt": {"name": 'Bolt "Fasteners"', "minimum_order_value": "100.5"},
    }  # fmt: skip
    products = {
        "TEXTBOOK": {"name": "Algebra, 2nd edition", "supplier_id": "acme", "purchase_price": "12.5000",
                     "min_stock": 2, "max_stock": 20, "order_multiple": 5},
        "PEN BLUE": {"name": "Stylo bleu, été", "supplier_id": "bolt", "purchase_price": "0.40", "phased_out": True},
        "GIFT-CARD": {"tracked": False},
    }  # fmt: skip
    for supplier_id, body in suppliers.items():
        assert api("PUT", f"/v1/suppliers/{supplier_id}", body).status == 200
    for sku, body in products.items():
        assert api("PUT", f"/v1/products/{sku.replace(' ', '%20')}", body).status == 200


# ------------------------------------------------------------------ export, import, export


@pytest.mark.parametrize("what", ["products", "suppliers"])
def test_an_export_imports_back_unchanged_and_exports_the_same_bytes(api, what):
    a_catalogue(api)
    first = export(api, what)
    stored = api.items()
    rows = len(first.splitlines()) - 1
    assert imported(api, what, first) == {"rows": rows, "created": 0, "updated": 0, "unchanged": rows}
    assert api.items() == stored, "an import that changes nothing writes nothing"
    assert export(api, what) == first


def test_the_export_has_the_import_columns_booleans_as_true_false_and_empty_cells_for_not_set(api):
    a_catalogue(api)
    assert export(api, "products").splitlines() == [
        "sku,name,supplier_id,purchase_price,min_stock,max_stock,phased_out,order_multiple,tracked",
        "GIFT-CARD,,,,,,false,,false",
        'PEN BLUE,"Stylo bleu, été",bolt,0.40,,,true,,true',
        'TEXTBOOK,"Algebra, 2nd edition",acme,12.5000,2,20,false,5,true',
    ]
    assert export(api, "suppliers").splitlines() == [
        "id,name,backorders_enabled,fixed_order_cost,minimum_order_value,threshold_mode,lead_time_days,"
        "review_period_days,next_review_date,stockout_action,service_level,buyer_emails",
        'acme,"Acme, Books & Co",true,25.00,0,fixed_cost,7,7,2030-01-06,off,0.95,ada@acme.example bob@acme.example',
        'bolt,"Bolt ""Fasteners""",false,0,100.5,none,7,7,,off,0.95,',
    ]


def test_an_edited_export_updates_the_edited_rows_and_creates_the_new_ones(api):
    a_catalogue(api)
    edited = export(api, "products").replace("acme,12.5000,2,20", "acme,13.00,4,20") + "NOTEBOOK,Squared,acme,,,,,,\n"
    assert imported(api, "products", edited) == {"rows": 4, "created": 1, "updated": 1, "unchanged": 2}
    products = {p["sku"]: p for p in api("GET", "/v1/products").body["products"]}
    assert (products["TEXTBOOK"]["purchase_price"], products["TEXTBOOK"]["min_stock"]) == ("13.00", 4)
    assert products["NOTEBOOK"] == {
        "sku": "NOTEBOOK", "name": "Squared", "supplier_id": "acme", "purchase_price": None, "min_stock": None,
        "max_stock": None, "phased_out": False, "order_multiple": None, "tracked": True,
    }  # fmt: skip


def test_an_imported_product_is_recomputed_through_the_stream_as_a_put_one_is(api):
    # Given 5 units of a SKU nobody has declared, and an order waiting for 2 of them
    api("POST", "/v1/stock/movements", movement_body("po-1", "MYSTERY", 5))
    api("POST", "/v1/orders", order_body("812", order_line("MYSTERY", 2)))
    api.deliver_stream()
    assert api("GET", "/v1/orders/812").body["lines"][0]["backordered"] == 2
    # When an import makes it a product, the stream hands the allotter its units
    assert imported(api, "products", "sku,name\nMYSTERY,Mystery box\n")["created"] == 1
    api.deliver_stream()
    line = api("GET", "/v1/orders/812").body["lines"][0]
    assert (line["allotted"], line["backordered"]) == (2, 0)


# ------------------------------------------------------------------ what a file may leave out


def test_a_column_the_file_does_not_have_keeps_the_stored_value_and_a_new_record_its_default(api):
    a_catalogue(api)
    assert imported(api, "products", "min_stock,sku\n7,TEXTBOOK\n3,NOTEBOOK\n")["updated"] == 1
    products = {p["sku"]: p for p in api("GET", "/v1/products").body["products"]}
    assert (products["TEXTBOOK"]["min_stock"], products["TEXTBOOK"]["supplier_id"]) == (7, "acme")
    assert (products["NOTEBOOK"]["min_stock"], products["NOTEBOOK"]["tracked"]) == (3, True)


def test_a_supplier_import_updates_the_columns_it_has_and_creates_new_suppliers_with_defaults(api):
    a_catalogue(api)
    text = "id,threshold_mode,name\nacme,mov,Acme Books\ncarl,both,\n"
    assert imported(api, "suppliers", text) == {"rows": 2, "created": 1, "updated": 1, "unchanged": 0}
    acme, carl = (api("GET", f"/v1/suppliers/{s}").body for s in ("acme", "carl"))
    assert (acme["name"], acme["threshold_mode"], acme["fixed_order_cost"]) == ("Acme Books", "mov", "25.00")
    assert (carl["name"], carl["threshold_mode"], carl["lead_time_days"], carl["buyer_emails"]) == (None, "both", 7, [])


def test_an_empty_cell_is_not_set_or_the_default(api):
    a_catalogue(api)
    imported(api, "products", "sku,max_stock,tracked\nTEXTBOOK,,\nGIFT-CARD,,\n")
    products = {p["sku"]: p for p in api("GET", "/v1/products").body["products"]}
    assert (products["TEXTBOOK"]["max_stock"], products["GIFT-CARD"]["tracked"]) == (None, True)


def test_a_spreadsheets_file_reads_a_byte_order_mark_crlf_upper_case_booleans_and_empty_rows(api):
    text = "\ufeffsku,phased_out,tracked\r\nPEN,TRUE,False\r\n,,\r\n\r\n"
    assert imported(api, "products", text) == {"rows": 1, "created": 1, "updated": 0, "unchanged": 0}
    (pen,) = api("GET", "/v1/products").body["products"]
    assert (pen["phased_out"], pen["tracked"]) == (True, False)


def test_buyer_emails_are_separated_by_spaces_or_semicolons_and_exported_with_spaces(api):
    imported(api, "suppliers", "id,buyer_emails\nacme,ada@acme.example; bob@acme.example;cy@acme.example\n")
    assert api("GET", "/v1/suppliers/acme").body["buyer_emails"] == [
        "ada@acme.example", "bob@acme.example", "cy@acme.example",
    ]  # fmt: skip
    assert export(api, "suppliers").splitlines()[1].endswith(",ada@acme.example bob@acme.example cy@acme.example")


def test_a_buyer_email_with_a_semicolon_is_refused_by_the_put_too(api):
    reply = api("PUT", "/v1/suppliers/acme", {"buyer_emails": ["ada;bob@acme.example"]})
    assert (reply.status, reply.body["field"]) == (422, "buyer_emails[0]")


# ------------------------------------------------------------------ refusals


def test_a_bad_row_applies_nothing_and_the_error_names_its_row_and_column(api):
    a_catalogue(api)
    stored = api.items()
    reply = send_file(api, "products", "sku,min_stock\nTEXTBOOK,4\nNOTEBOOK,-1\n")
    assert (reply.status, reply.error) == (422, ("invalid_rows", "min_stock"))
    assert reply.body["problems"] == [
        {"row": 3, "column": "min_stock", "problem": "Input should be greater than or equal to 0"}
    ]
    assert reply.body["message"] == "row 3, column min_stock: Input should be greater than or equal to 0"
    assert api.items() == stored


def test_every_bad_cell_is_named_and_the_list_stops_at_100(api):
    text = "sku,min_stock,phased_out\n" + "".join(f"SKU-{n},many,maybe\n" for n in range(60))
    reply = send_file(api, "products", text)
    assert (reply.status, reply.body["problem_count"], len(reply.body["problems"])) == (422, 120, 100)
    assert reply.body["problems"][:2] == [
        {"row": 2, "column": "min_stock", "problem": "Input should be a valid integer"},
        {"row": 2, "column": "phased_out", "problem": "Input should be a valid boolean"},
    ]
    assert reply.body["message"].endswith("(and 119 more problems)")
    assert api.items() == []


@pytest.mark.parametrize(
    ("text", "row", "column", "says"),
    [
        pytest.param("sku,name\nPEN,Pen\nPEN,Blue pen\n", 3, "sku", "'PEN' is also in row 2", id="a SKU twice"),
        pytest.param("sku,name\nCAF\u00c9,a\nCAFE\u0301,b\n", 3, "sku", "also in row 2", id="a SKU twice in two forms"),
        pytest.param("sku,colour\nPEN,blue\n", 1, "colour", "'colour' is not a column", id="an unknown column"),
        pytest.param("sku,name,name\nPEN,a,b\n", 1, "name", "is named twice", id="a column twice"),
        pytest.param("name\nPen\n", 1, "sku", "'sku' is required", id="no key column"),
        pytest.param("sku,name\n,Pen\n", 2, "sku", "is required", id="an empty key"),
        pytest.param("sku,name\nPEN/BLUE,Pen\n", 2, "sku", "must not contain '/'", id="a key the id rule refuses"),
        pytest.param("sku,name\nPEN,Pen,extra\n", 2, None, "has 3 cells; the header has 2", id="a cell too many"),
        pytest.param("sku,supplier_id\nPEN,a#b\n", 2, "supplier_id", "must not contain '#'", id="a bad supplier id"),
        pytest.param("sku,purchase_price\nPEN,0.12345\n", 2, "purchase_price", "4 decimals", id="money"),
        pytest.param("sku,order_multiple\nPEN,0\n", 2, "order_multiple", "greater than 0", id="multiple 0"),
        pytest.param("", 1, None, "no header row", id="an empty file"),
    ],
)
def test_a_file_with_a_problem_is_refused_naming_row_and_column(api, text, row, column, says):
    reply = send_file(api, "products", text)
    assert reply.status == 422, reply.body
    (problem,) = reply.body["problems"]
    assert (problem["row"], problem["column"]) == (row, column)
    assert says in problem["problem"]
    assert api.items() == []


def test_a_supplier_row_follows_the_supplier_put_rules(api):
    text = "id,threshold_mode,lead_time_days,next_review_date,buyer_emails\nacme,always,400,06/01/2030,ada\n"
    reply = send_file(api, "suppliers", text)
    assert [(p["row"], p["column"]) for p in reply.body["problems"]] == [
        (2, "threshold_mode"), (2, "lead_time_days"), (2, "next_review_date"), (2, "buyer_emails"),
    ]  # fmt: skip


def test_a_file_that_is_not_csv_is_a_400_naming_its_row(api):
    reply = send_file(api, "products", 'sku,name\nPEN,"Pen\n')
    assert (reply.status, reply.error) == (400, ("malformed_csv", None))
    assert reply.body["problems"][0]["row"] == 2


def test_an_import_takes_csv_only(api):
    reply = api("POST", "/v1/imports/products", {"sku": "PEN"})
    assert (reply.status, reply.error) == (415, ("unsupported_media_type", "content-type"))


def test_an_import_takes_up_to_5_mb_and_10000_rows(api):
    emails = " ".join(f"{'b' * 240}{n:02d}@example.com" for n in range(20))
    rows = "".join(f"supplier-{n},{emails}\n" for n in range(60))  # about 310 KB: over the JSON limit
    assert imported(api, "suppliers", "id,buyer_emails\n" + rows)["created"] == 60
    too_many = "sku\n" + "".join(f"S{n}\n" for n in range(10_001))
    reply = send_file(api, "products", too_many)
    assert (reply.status, reply.error[0], reply.body["problems"][0]["row"]) == (413, "too_large", 10_002)
    reply = send_file(api, "products", "sku,name\n" + "P," + "x" * (5 * 1024 * 1024) + "\n")
    assert (reply.status, reply.error) == (413, ("too_large", "body"))


def test_other_routes_still_take_256_kb(api):
    reply = api("PUT", "/v1/products/PEN", '{"name": "Pen"}' + " " * (256 * 1024))
    assert (reply.status, reply.error) == (413, ("too_large", "body"))


# ------------------------------------------------------------------ lists


def test_the_lists_answer_json_in_key_order(api):
    a_catalogue(api)
    products = api("GET", "/v1/products").body
    assert [p["sku"] for p in products["products"]] == ["GIFT-CARD", "PEN BLUE", "TEXTBOOK"]
    assert (products["count"], products["next_after"]) == (3, None)
    assert products["products"][2] == {
        "sku": "TEXTBOOK", "name": "Algebra, 2nd edition", "supplier_id": "acme", "purchase_price": "12.5000",
        "min_stock": 2, "max_stock": 20, "phased_out": False, "order_multiple": 5, "tracked": True,
    }  # fmt: skip
    suppliers = api("GET", "/v1/suppliers").body["suppliers"]
    assert [s["id"] for s in suppliers] == ["acme", "bolt"]
    assert suppliers[0] == api("GET", "/v1/suppliers/acme").body


def test_a_sku_only_ordered_or_moved_is_no_product(api):
    api("POST", "/v1/stock/movements", movement_body("po-1", "MYSTERY", 5))
    assert api("GET", "/v1/products").body["products"] == []


def test_a_list_comes_in_pages_after_a_key(api):
    a_catalogue(api)
    first = api("GET", "/v1/products", query={"limit": "2"})
    assert ([p["sku"] for p in first.body["products"]], first.body["next_after"]) == (
        ["GIFT-CARD", "PEN BLUE"],
        "PEN BLUE",
    )
    assert first.headers["link"] == '</v1/products?after=PEN%20BLUE&limit=2>; rel="next"'
    rest = api("GET", "/v1/products", query={"limit": "2", "after": "PEN BLUE"})
    assert ([p["sku"] for p in rest.body["products"]], rest.body["next_after"]) == (["TEXTBOOK"], None)
    assert "link" not in rest.headers
    assert export(api, "suppliers", after="acme").splitlines()[1:] == [export(api, "suppliers").splitlines()[2]]


# ------------------------------------------------------------------ many rows


def test_an_import_writes_100_records_a_transaction_and_one_out_of_time_stops_between_them(api):
    rows = [Imported(Product(f"SKU-{n:03d}", min_stock=n), frozenset({"min_stock"})) for n in range(150)]
    asked = []

    def out_of_time() -> bool:  # the second transaction finds the time up
        asked.append(True)
        return len(asked) > 1

    report = api.svc.catalogue.import_products(rows, out_of_time=out_of_time)
    assert (report.created, report.left, len(api.items())) == (100, 50, 100)
    # The same rows again: the first 100 are unchanged now, the other 50 are written
    again = api.svc.catalogue.import_products(rows)
    assert (again.created, again.unchanged, again.left, len(api.items())) == (50, 100, 0, 150)


def test_an_import_out_of_time_answers_incomplete_with_what_it_left(api, monkeypatch):
    monkeypatch.setattr(bulk, "IMPORT_MARGIN_MS", 10**9)  # any time left is too little
    reply = send_file(api, "products", "sku\nPEN\nPENCIL\n")
    assert (reply.status, reply.body["status"], reply.body["left"], reply.body["created"]) == (200, "incomplete", 2, 0)
    assert api.items() == []
