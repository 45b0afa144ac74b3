"""Every message and page renders with what a reader needs, in the reader's locale and
time zone, and untrusted text stays text (``backorders.messages``; decision 72)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from backorders.messages import EMAILS, PAGES, render_email, render_page

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def line(**changes: Any) -> dict[str, Any]:
    base = {"line_no": 1, "sku": "TEXTBOOK", "name": HOSTILE, "quantity": 5, "backordered": 3,
            "expected_on": "2026-12-15", "expected_source": "po:PO-7", "was_expected_on": None, "filled": 0,
            "cancelled": 0}  # fmt: skip
    return {**base, **changes}


def order(**sections: Any) -> dict[str, Any]:
    empty: dict[str, Any] = {"backordered": [], "moved": [], "filled": [], "cancelled": [], "choices": None}
    return {"order_id": "812", "number": "#1001", "ship_type": "partial", **empty, **sections}


def update(*orders: dict[str, Any], unsubscribe: str | None = None, **kw: Any) -> Any:
    context = {"shop_name": "Aacme Books", "customer_name": "Alice <Liddell>", "orders": list(orders),
               "unsubscribe_url": unsubscribe}  # fmt: skip
    return render_email("customer_update", context, **kw)


CHOICES = {"wait": "https://x/choices/w", "ship_now": None, "cancel": "https://x/choices/c"}


def test_a_backorder_says_units_date_and_source_and_offers_the_choices() -> None:
    mail = update(order(backordered=[line()], choices=CHOICES), locale="en_GB")
    assert mail.subject == "Order #1001: 1 item on backorder, expected 15 December 2026"
    for part in (mail.text, mail.html):
        assert "15 December 2026" in part and "from a purchase order placed with the supplier" in part
        assert "https://x/choices/w" in part and "https://x/choices/c" in part
        assert "Ship what is in stock now" not in part  # an order that ships partial already does
    assert "3</strong> of 5 on backorder" in mail.html and "3 of 5 on backorder" in mail.text


def test_a_complete_order_is_offered_to_ship_now() -> None:
    mail = update(order(backordered=[line()], ship_type="complete", choices={**CHOICES, "ship_now": "https://x/s"}))
    assert "https://x/s" in mail.html and "Ship what is in stock now" in mail.text


def test_fills_are_complete_or_partly_in_stone_edges_words() -> None:
    complete = update(order(filled=[line(backordered=0, filled=3)]), unsubscribe="https://x/unsubscribe/t")
    assert complete.subject == "Order #1001: your backorder is complete"
    assert "filled completely" in complete.text and "all 5 are on their way" in complete.text
    assert "https://x/unsubscribe/t" in complete.text and "https://x/unsubscribe/t" in complete.html
    partly = update(order(filled=[line(backordered=1, filled=2)]))
    assert partly.subject == "Order #1001: your backorder is partly filled"
    assert "filled partly, 2 more now, 1 still to come" in partly.text
    assert "unsubscribe" not in partly.html


def test_a_moved_date_and_a_cancel_say_from_what_to_what() -> None:
    moved = update(order(moved=[line(was_expected_on="2026-12-10")]), locale="en_GB")
    assert moved.subject == "Order #1001: new expected date"
    assert "now expected 15 December 2026 (was 10 December 2026)" in moved.text
    cancelled = update(order(cancelled=[line(cancelled=3, backordered=0)]))
    assert (
        cancelled.subject == "Order #1001: backordered items cancelled" and "3 backordered cancelled" in cancelled.text
    )


def test_several_orders_are_one_message() -> None:
    mail = update(order(backordered=[line()]), {**order(filled=[line(backordered=0)]), "number": "#1002"})
    assert mail.subject == "Updates on your orders #1001, #1002"


def test_untrusted_text_is_escaped_in_html() -> None:
    mail = update(order(backordered=[line()], choices=CHOICES))
    assert ESCAPED in mail.html and HOSTILE not in mail.html
    assert "Alice &lt;Liddell&gt;" in mail.html
    assert HOSTILE in mail.text  # plain text is shown as text


def test_dates_follow_the_locale_and_times_the_time_zone() -> None:
    dutch = update(order(backordered=[line()]), locale="nl_NL")
    assert "15 december 2026" in dutch.text
    po = {"po_id": "PO-1", "kind": "backorder", "supplier_id": "acme", "supplier_name": "Acme", "lines": [],
          "value": Decimal("1234.5"), "threshold": "mov", "created_at": "2026-12-02T23:30:00.000000Z"}  # fmt: skip
    context = {"event": "recommended", "po": po, "place": {"method": "POST", "url": "https://x/p"}, "api_url": "x"}
    amsterdam = render_email("buyer_po", context, locale="nl_NL", time_zone="Europe/Amsterdam")
    assert "3 dec 2026" in amsterdam.text and "00:30" in amsterdam.text  # the next day there
    assert "1.234,50" in amsterdam.text


def test_an_unknown_locale_or_time_zone_falls_back() -> None:
    mail = update(order(backordered=[line()]), locale="xx_YY", time_zone="Mars/Olympus")
    assert "December 15, 2026" in mail.text


def po_context(event: str = "recommended") -> dict[str, Any]:
    lines = [{"sku": "TEXTBOOK", "name": HOSTILE, "quantity": 40, "unit_price": Decimal("18.5"),
              "value": Decimal("740")}]  # fmt: skip
    po = {"po_id": "PO-20261202-AB12CD34", "kind": "backorder", "supplier_id": "acme-books",
          "supplier_name": "Acme Books", "lines": lines, "value": Decimal("740"), "threshold": "fixed_cost",
          "created_at": "2026-12-02T10:00:00.000000Z"}  # fmt: skip
    url = "https://x/v1/purchase-orders/PO-20261202-AB12CD34/place"
    return {"event": event, "po": po, "place": {"method": "POST", "url": url}, "api_url": "https://x"}


def test_a_recommended_po_says_supplier_lines_value_threshold_and_how_to_place_it() -> None:
    mail = render_email("buyer_po", po_context())
    assert mail.subject == "Recommended backorder PO PO-20261202-AB12CD34 for Acme Books: 1 line, 740.00"
    for part in (mail.text, mail.html):
        assert "40" in part and "18.50" in part and "740.00" in part and "fixed_cost" in part
        assert "POST https://x/v1/purchase-orders/PO-20261202-AB12CD34/place" in part
    assert ESCAPED in mail.html and HOSTILE not in mail.html
    assert render_email("buyer_po", po_context("updated")).subject.startswith("Updated backorder PO")


def test_low_stock_and_an_unknown_sku() -> None:
    low = render_email("buyer_low_stock", {"sku": "PEN", "name": None, "supplier_id": "pen-co", "supplier_name": None,
                                           "projected_position": 3, "min_stock": 10, "on_hand": 5,
                                           "backordered": 2, "incoming": 0})  # fmt: skip
    assert low.subject == "Low stock: PEN at 3 (minimum 10)" and "Backordered: 2" in low.text
    unknown = render_email("buyer_unknown_sku", {"sku": "MYSTERY", "shop": "aacme", "cause": "order 700 created",
                                                 "at": "2026-12-02T10:00:00.000000Z"})  # fmt: skip
    assert unknown.subject == "Unknown SKU MYSTERY ordered (shop aacme)"
    assert "PUT /v1/products/MYSTERY" in unknown.text


def digest_context() -> dict[str, Any]:
    rows = [
        {"sku": "TEXTBOOK", "name": None, "units": 5, "value": Decimal("199.75"), "oldest": "2026-11-22T10:00:00Z",
         "age_days": 10, "defaulting": 2},
        {"sku": "PEN", "name": None, "units": 1, "value": Decimal("1.20"), "oldest": "2026-12-01T10:00:00Z",
         "age_days": 1, "defaulting": 0},
    ]  # fmt: skip
    late = {"shop": "aacme", "order_id": "812", "line_no": 1, "sku": "TEXTBOOK", "units": 2,
            "expected_on": "2026-11-30", "days_late": 2}  # fmt: skip
    failed = {"kind": "filled", "recipient": "a customer of shop aacme (alice)", "at": "2026-12-01T10:00:00Z",
              "reason": "failed: SES refused it: MessageRejected"}  # fmt: skip
    return {
        "day": "2026-12-02",
        "suppliers": [{"supplier_id": "acme", "name": "Acme", "units": 6, "value": Decimal("200.95"), "skus": rows}],
        "awaiting": [
            {
                "po_id": "PO-1",
                "kind": "backorder",
                "supplier_id": "acme",
                "value": Decimal("92.5"),
                "created_at": "2026-12-02T06:00:00Z",
            }
        ],
        "defaulting": [late],
        "failed": [failed],
        "totals": {"units": 6, "value": Decimal("200.95"), "lines": 3},
    }


def test_the_digest_marks_defaulting_backorders_in_red() -> None:
    mail = render_email("buyer_digest", digest_context(), locale="en_GB")
    assert mail.subject == "Backorders digest 2 December 2026: 6 units on backorder, 1 defaulting"
    red_rows = [row for row in re.findall(r"<tr.*?</tr>", mail.html, re.S) if "#b00020" in row]
    assert any("TEXTBOOK" in row for row in red_rows) and not any("PEN" in row for row in red_rows)
    assert "[LATE] aacme order 812 line 1: 2 x TEXTBOOK, expected 30 November 2026, 2 days late" in mail.text
    assert "[LATE] TEXTBOOK" in mail.text and "[LATE] PEN" not in mail.text
    for part in (mail.text, mail.html):
        assert "PO-1" in part and "MessageRejected" in part and "10 days" in part and "199.75" in part


def test_the_shop_hears_of_a_customers_choice() -> None:
    context = {"shop": "aacme", "order_id": "812", "number": "#1001", "customer_name": HOSTILE, "action": "cancel",
               "at": "2026-12-02T10:00:00Z", "cancelled": [{"line_no": 1, "sku": "TEXTBOOK", "units": 3}]}  # fmt: skip
    mail = render_email("shop_choice", context)
    assert mail.subject == "Order #1001: the customer cancelled the backordered items"
    assert "line 1, TEXTBOOK: 3" in mail.text and ESCAPED in mail.html


def test_the_confirmation_page_posts_and_changes_nothing_itself() -> None:
    page = render_page("choice_confirm", {"shop_name": HOSTILE, "number": "#1001", "action": "cancel",
                                          "action_label": "Cancel the backordered items", "explanation": "x",
                                          "form_action": "/choices/tok", "token": "tok"})  # fmt: skip
    assert '<form method="post" action="/choices/tok">' in page and 'name="confirm" value="yes"' in page
    assert '<meta name="robots" content="noindex, nofollow">' in page and ESCAPED in page


@pytest.mark.parametrize("name", EMAILS)
def test_every_email_has_an_html_and_a_text_template(name: str) -> None:
    from backorders.messages import TEMPLATES

    assert (TEMPLATES / f"{name}.html").is_file() and (TEMPLATES / f"{name}.txt").is_file()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_has_a_template(name: str) -> None:
    from backorders.messages import TEMPLATES

    assert (TEMPLATES / f"{name}.html").is_file()
