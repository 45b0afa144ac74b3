"""Notifications end to end in one process: the API writes intents with its changes, the
real allotter applies the stream, and the notifier (its clock moved past the window) sends
through SES on moto (PRODUCT.md "Notifications", docs/decisions.md 72-73).

Every test reads what SES accepted; nothing is mocked in between."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

import choices_handler
import notifier_handler
from backorders.adapters.ses import SesSender
from backorders.domain.email import Email, Rejected, Retry, Unknown
from backorders.services.notifier import MailSettings, Notifier
from tests.api.conftest import REGION, Api, lambda_context
from tests.support.events import http_event, movement_body, order_body

SENDER = "backorders@example.com"
BUYER = "buyer@example.com"
KEY = b"choice-key-" + b"x" * 32
ALICE = {"id": "alice", "email": "alice@example.com", "name": "Alice <Liddell>"}


def sent() -> list[EmailMessage]:
    """What SES accepted, parsed."""
    messages = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [message_from_bytes(m.raw_data.encode(), policy=policy.default) for m in messages]  # type: ignore[misc]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    return "" if part is None else str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return "" if part is None else str(part.get_content())


class Clock:
    """The notifier's clock: now, moved on by the test."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> str:
        return self.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def move(self, minutes: float) -> None:
        """``minutes`` after now (the API and the allotter write with the real clock)."""
        self.at = max(self.at, datetime.now(UTC)) + timedelta(minutes=minutes)


class Flaky:
    """SES that fails the way ``failures`` says first, then sends."""

    def __init__(self, mailer: SesSender, *failures: Exception) -> None:
        self.mailer, self.failures, self.calls = mailer, list(failures), 0

    def send(self, email: Email) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.mailer.send(email)


@pytest.fixture
def mail(api: Api) -> Iterator[None]:
    ses = boto3.client("ses", region_name=REGION)
    ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages.clear()
    ses.verify_email_identity(EmailAddress=SENDER)
    yield
    ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages.clear()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def notifier(api: Api, mail: None, clock: Clock) -> Callable[..., Notifier]:
    def make(mailer: Any = None) -> Notifier:
        settings = MailSettings(SENDER, BUYER, "https://shop.example", lambda: (KEY,))
        return Notifier(api.svc.store, mailer or SesSender(region=REGION), settings, clock=clock, sleep=lambda s: None)

    return make


def shop_notifies(api: Api, **settings: Any) -> None:
    body = {"notify_customers": True, "name": "Aacme Books", "contact_email": "shop@aacme.example", **settings}
    assert api("PUT", "/v1/shop", body).status == 200


def product(api: Api, sku: str = "TEXTBOOK", **settings: Any) -> None:
    assert api("PUT", f"/v1/products/{sku}", {"name": "Textbook", **settings}).status == 200


def order(api: Api, order_id: str = "812", quantity: int = 3, customer: dict[str, Any] = ALICE, **kw: Any) -> None:
    line = {"line": 1, "sku": "TEXTBOOK", "quantity": quantity, "unit_price": "12.50"}
    assert api("POST", "/v1/orders", order_body(order_id, line, customer=customer, **kw)).status in (200, 201)


def receipt(api: Api, units: int, movement_id: str = "rc-1") -> None:
    assert api("POST", "/v1/stock/movements", movement_body(movement_id, "TEXTBOOK", units)).status in (200, 201)


def links(message: EmailMessage) -> dict[str, str]:
    """The choice links of a message, by action."""
    found = re.findall(r'href="(https://shop\.example/choices/[^"]+)"', html_of(message))
    out: dict[str, str] = {}
    for link in found:
        token = urlsplit(link).path.rsplit("/", 1)[1]
        payload = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
        out[re.search(r'"a":"(\w+)"', payload).group(1)] = urlsplit(link).path  # type: ignore[union-attr]
    return out


def page(method: str, path: str, form: str | None = None) -> dict[str, Any]:
    headers = {"content-type": "application/x-www-form-urlencoded"} if form is not None else None
    event = http_event(method, path, form, headers=headers, api_key=None)
    return choices_handler.lambda_handler(event, lambda_context("ChoicesFunction"))


# ------------------------------------------------------------------ customers


def test_a_backorder_and_its_fill_reach_the_customer_once_each(api: Api, notifier: Any, clock: Clock) -> None:
    shop_notifies(api)
    product(api)
    order(api)
    api.deliver_stream()
    clock.move(11)
    first = notifier().run()
    assert first.sent == 1
    (backorder,) = sent()
    assert backorder["To"] == "alice@example.com" and backorder["Reply-To"] == "shop@aacme.example"
    assert "backorder" in backorder["Subject"].lower() and "812" in backorder["Subject"]
    assert "3" in text_of(backorder) and "Alice &lt;Liddell&gt;" in html_of(backorder)
    assert set(links(backorder)) == {"wait", "cancel"}  # a partial order: no "ship now" to offer
    assert "List-Unsubscribe" not in backorder  # the backorder notice is not optional

    receipt(api, 3)
    api.deliver_stream()
    clock.at = datetime.now(UTC)
    assert notifier().run().sent == 0  # the fill waits for the window
    clock.move(11)
    assert notifier().run().sent == 1
    filled = sent()[1]
    assert "complete" in filled["Subject"].lower()
    assert filled["List-Unsubscribe"].startswith("<https://shop.example/unsubscribe/")
    assert filled["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    api.deliver_stream()  # nothing new on the stream, nothing new to say
    clock.move(30)
    assert notifier().run().sent == 0 and len(sent()) == 2


def test_a_replayed_batch_sends_nothing_new(api: Api, notifier: Any, clock: Clock) -> None:
    shop_notifies(api)
    product(api)
    order(api)
    api.deliver_stream()
    api.stream_position = None  # the whole stream again, as a retried batch would
    api.deliver_stream()
    receipt(api, 1)
    api.deliver_stream()
    api.stream_position = None
    api.deliver_stream()
    clock.move(11)
    assert notifier().run().sent == 1
    assert notifier().run().sent == 0  # a second run, or the schedule delivered twice
    assert len(sent()) == 1


def test_an_ses_failure_followed_by_success_sends_exactly_one_message(api: Api, notifier: Any, clock: Clock) -> None:
    shop_notifies(api)
    product(api)
    order(api)
    api.deliver_stream()
    clock.move(11)
    flaky = Flaky(SesSender(region=REGION), Retry("ThrottlingException"))
    assert notifier(flaky).run().sent == 1  # retried within the run
    assert flaky.calls == 2 and len(sent()) == 1

    order(api, "813")
    api.deliver_stream()
    clock.move(11)
    down = Flaky(SesSender(region=REGION), *[Retry("ServiceUnavailable")] * 3)
    report = notifier(down).run()
    assert (report.sent, report.postponed) == (0, 1) and len(sent()) == 1
    clock.move(3)  # the backoff after the first failed run
    assert notifier().run().sent == 1
    assert notifier().run().sent == 0 and len(sent()) == 2


def test_an_answer_that_never_came_is_not_sent_again_and_is_in_the_digest(
    api: Api, notifier: Any, clock: Clock
) -> None:
    shop_notifies(api)
    product(api)
    order(api)
    api.deliver_stream()
    clock.move(11)
    report = notifier(Flaky(SesSender(region=REGION), Unknown("ReadTimeoutError"))).run()
    assert report.unconfirmed == 1
    clock.move(60)
    assert notifier().run().sent == 0 and sent() == []
    notifier().write_digest()
    assert notifier().run().sent == 1
    (digest,) = sent()
    assert digest["To"] == BUYER and "may have been sent" in text_of(digest)


def test_a_refused_message_is_failed_for_good(api: Api, notifier: Any, clock: Clock) -> None:
    shop_notifies(api)
    product(api)
    order(api)
    api.deliver_stream()
    clock.move(11)
    assert notifier(Flaky(SesSender(region=REGION), Rejected("MessageRejected"))).run().failed == 1
    clock.move(120)
    assert notifier().run().sent == 0 and sent() == []


def test_customer_emails_switched_off_send_nothing(api: Api, notifier: Any, clock: Clock) -> None:
    product(api)
    order(api, "811")  # the shop does not notify: no intent is even written
    api.deliver_stream()
    assert not [i for i in api.items() if i["sk"]["S"].startswith("NOTE#")]

    shop_notifies(api, customer_messages=["cancelled"])  # on, but not for backorders and fills
    order(api, "812")
    receipt(api, 3)
    api.deliver_stream()
    clock.move(11)
    report = notifier().run()
    assert report.sent == 0 and report.skipped >= 1 and sent() == []

    shop_notifies(api)
    order(api, "813")
    api.deliver_stream()
    shop_notifies(api, notify_customers=False)  # switched off with an intent pending
    clock.move(11)
    assert notifier().run().sent == 0 and sent() == []


def test_messages_to_one_customer_within_the_window_are_combined(api: Api, notifier: Any, clock: Clock) -> None:
    shop_notifies(api)
    product(api)
    order(api, "812")
    api.deliver_stream()
    clock.move(5)
    order(api, "813", 2)
    api.deliver_stream()
    order(api, "900", 1, customer={"id": "bob", "email": "bob@example.com"})
    api.deliver_stream()
    clock.move(6)  # the first order's window is over
    assert notifier().run().sent == 2  # Alice's two orders in one message, Bob's in his own
    alice = next(m for m in sent() if m["To"] == "alice@example.com")
    assert "812" in text_of(alice) and "813" in text_of(alice)


def test_a_bounced_address_gets_nothing_more(api: Api, notifier: Any, clock: Clock) -> None:
    event = {
        "source": "aws.ses",
        "detail-type": "Email Bounced",
        "detail": {
            "eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": "alice@example.com"}]},
            "mail": {"tags": {"ses:configuration-set": ["backorders-mail"]}},
        },
    }
    assert notifier_handler.lambda_handler(event, lambda_context("NotifierFunction")) == {"suppressed": 1}
    shop_notifies(api)
    product(api)
    order(api)
    api.deliver_stream()
    clock.move(11)
    report = notifier().run()
    assert report.sent == 0 and report.skipped == 1 and sent() == []


# ------------------------------------------------------------------ the customer's choice


def backorder_email(api: Api, notifier: Any, clock: Clock, **order_fields: Any) -> dict[str, str]:
    shop_notifies(api)
    product(api)
    order(api, **order_fields)
    api.deliver_stream()
    clock.move(11)
    assert notifier().run().sent == 1
    return links(sent()[-1])


@pytest.fixture
def choice_key(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The choices function's key: the one the notifier fixture signs with."""
    monkeypatch.setattr(api.svc.choices, "keys", lambda: (KEY,))


def test_cancel_acts_only_after_confirmation_and_only_once(
    api: Api, notifier: Any, clock: Clock, choice_key: None
) -> None:
    cancel = backorder_email(api, notifier, clock)["cancel"]
    shown = page("GET", cancel)
    assert shown["statusCode"] == 200 and 'method="post"' in shown["body"].lower()
    assert api("GET", "/v1/orders/812").body["lines"][0]["cancelled"] == 0  # a link scanner changes nothing

    done = page("POST", cancel, "confirm=yes")
    assert done["statusCode"] == 200 and "cancelled" in done["body"]
    line = api("GET", "/v1/orders/812").body["lines"][0]
    assert (line["cancelled"], line["backordered"]) == (3, 0)

    again = page("POST", cancel, "confirm=yes")
    assert again["statusCode"] == 409
    assert api("GET", "/v1/orders/812").body["lines"][0]["cancelled"] == 3

    api.deliver_stream()
    clock.move(11)
    notifier().run()
    to_shop = [m for m in sent() if m["To"] == "shop@aacme.example"]
    assert len(to_shop) == 1 and "cancel" in to_shop[0]["Subject"].lower()


def test_ship_now_turns_a_complete_order_partial(api: Api, notifier: Any, clock: Clock, choice_key: None) -> None:
    ship_now = backorder_email(api, notifier, clock, ship_type="complete")["ship_now"]
    assert page("POST", ship_now, "confirm=yes")["statusCode"] == 200
    assert api("GET", "/v1/orders/812").body["ship_type"] == "partial"


def test_a_forged_or_expired_link_changes_nothing(api: Api, notifier: Any, clock: Clock, choice_key: None) -> None:
    cancel = backorder_email(api, notifier, clock)["cancel"]
    payload, signature = cancel.rsplit("/", 1)[1].split(".")
    forged = cancel.rsplit("/", 1)[0] + "/" + payload + "." + signature[::-1]
    assert page("POST", forged, "confirm=yes")["statusCode"] == 400
    assert page("GET", "/choices/nonsense")["statusCode"] == 400
    monkey_clock = api.svc.choices.clock
    try:
        api.svc.choices.clock = lambda: (datetime.now(UTC) + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # type: ignore[misc]
        assert page("POST", cancel, "confirm=yes")["statusCode"] == 410
    finally:
        api.svc.choices.clock = monkey_clock  # type: ignore[misc]
    assert api("GET", "/v1/orders/812").body["lines"][0]["cancelled"] == 0


# ------------------------------------------------------------------ buyers


def test_a_planner_run_recommending_a_po_writes_to_the_suppliers_buyers(api: Api, notifier: Any, clock: Clock) -> None:
    supplier = {"name": "Acme", "backorders_enabled": True, "buyer_emails": ["purchasing@acme.example"]}
    assert api("PUT", "/v1/suppliers/acme", supplier).status == 200
    product(api, supplier_id="acme", purchase_price="7.50")
    order(api)
    api.deliver_stream()
    api.svc.planner.run()
    clock.move(1)
    notifier().run()
    (po,) = [m for m in sent() if m["To"] == "purchasing@acme.example"]
    assert "Acme" in po["Subject"] and "3" in text_of(po) and "/place" in text_of(po)
    api.svc.planner.run()  # nothing changed: no update, no second message
    clock.move(1)
    notifier().run()
    assert len([m for m in sent() if m["To"] == "purchasing@acme.example"]) == 1


def test_an_unknown_sku_and_low_stock_reach_the_buyer(api: Api, notifier: Any, clock: Clock) -> None:
    line = {"line": 1, "sku": "MYSTERY", "quantity": 1, "unit_price": "1.00"}
    assert api("POST", "/v1/orders", order_body("700", line)).status in (200, 201)
    product(api, min_stock=5)
    receipt(api, 6)
    api.deliver_stream()
    order(api, "701", 2)
    api.deliver_stream()
    clock.move(1)
    notifier().run()
    subjects = sorted(m["Subject"] for m in sent() if m["To"] == BUYER)
    assert any("MYSTERY" in s for s in subjects) and any("TEXTBOOK" in s and "Low stock" in s for s in subjects)


def test_one_click_unsubscribe_stops_the_optional_messages_only(
    api: Api, notifier: Any, clock: Clock, choice_key: None
) -> None:
    shop_notifies(api)
    product(api)
    order(api, quantity=2)
    api.deliver_stream()
    clock.move(11)
    notifier().run()
    cancel = links(sent()[0])["cancel"]
    assert page("POST", cancel.replace("/choices/", "/unsubscribe/"), "")["statusCode"] == 400  # not its link
    receipt(api, 1)
    api.deliver_stream()
    clock.move(11)
    notifier().run()
    partly = sent()[1]
    unsubscribe = urlsplit(partly["List-Unsubscribe"].strip("<>")).path
    assert page("GET", unsubscribe)["statusCode"] == 200  # a page, nothing done yet
    assert page("POST", unsubscribe, "List-Unsubscribe=One-Click")["statusCode"] == 200  # RFC 8058
    receipt(api, 1, "rc-2")
    api.deliver_stream()
    clock.move(11)
    assert notifier().run().skipped == 1 and len(sent()) == 2  # the fill is optional: not sent
    order(api, "813")
    api.deliver_stream()
    clock.move(11)
    assert notifier().run().sent == 1  # a backorder notice still goes


def test_the_notifiers_logs_carry_no_address_or_name(
    api: Api, mail: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from tests.api.conftest import clear_caches
    from tests.api.test_personal_data import _everything_logged

    monkeypatch.setenv("SENDER_EMAIL", SENDER)
    clear_caches()
    caplog.set_level(logging.INFO)
    shop_notifies(api, combine_minutes=0)
    product(api)
    order(api)
    api.deliver_stream()
    receipt(api, 3)
    api.deliver_stream()
    answer = notifier_handler.lambda_handler({"job": "send"}, lambda_context("NotifierFunction"))
    assert answer["sent"] == 1 and sent()[0]["To"] == "alice@example.com"
    logged = _everything_logged(caplog, capsys)
    assert "alice@example.com" not in logged and "Liddell" not in logged and "shop@aacme.example" not in logged
    clear_caches()
