"""A customer's answer to a backorder email: wait, ship what is in stock now, or cancel
the backordered units; and unsubscribing from the optional messages.

A link opens a confirmation page (``open``: reads only, so a mail system's link scanner
changes nothing); only the confirming POST acts (``confirm``). The three links of one
order in one email share a choice id, written once in the same transaction as the
effect: the first confirmed choice uses them up. "Ship now" turns a ``complete`` order
``partial``; "cancel" cancels the backordered units through the order edit path (the
customer then hears of the cancel like of any other); every choice is told to the shop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from backorders.domain import orders as rules
from backorders.domain.allotment import LineChange
from backorders.domain.choice_tokens import Action, BadToken, ChoiceToken, verify
from backorders.domain.model import ShipType
from backorders.domain.notifications import choice_made
from backorders.services.commit import retrying
from backorders.services.orders import OrderService
from backorders.services.ports import Orders, Settings, UnitOfWork, Writes
from backorders.services.shipments import ShipmentService

KEEP_DAYS = 60  # a used choice is remembered this long (longer than a link works)

LABELS = {
    Action.WAIT: "Wait for everything",
    Action.SHIP_NOW: "Ship what is in stock now",
    Action.CANCEL: "Cancel the backordered items",
    Action.UNSUBSCRIBE: "Stop updates about dates and fills",
}
EXPLAIN = {
    Action.WAIT: "Your order ships as planned, once everything is in stock.",
    Action.SHIP_NOW: "What is in stock ships now; the rest follows when it arrives.",
    Action.CANCEL: "The items still on backorder are cancelled; what is in stock ships as planned.",
    Action.UNSUBSCRIBE: "You will no longer hear when an expected date moves or a backorder is filled. "
    "You will still hear when items go on backorder or are cancelled.",
}
REFUSED = {
    "malformed": "This link is not valid. Please use the link from your email as it is.",
    "forged": "This link is not valid. Please use the link from your email as it is.",
    "expired": "This link has expired. Please contact the shop if you still want to change your order.",
    "used": "This choice was already made for this order; nothing was changed again.",
    "gone": "This order cannot be found any more.",
}


class ChoiceStore(Orders, Settings, Writes, Protocol):
    def choice(self, choice_id: str) -> tuple[str, str] | None: ...
    def opt_out(self, shop: str, digest: str, reason: str, *, at: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Page:
    """What the customer sees: a page of ``backorders.messages`` and its HTTP status."""

    name: str
    status: int
    context: Mapping[str, Any] = field(default_factory=dict)
    locale: str = "en"
    time_zone: str = "UTC"


def _epoch(at: str) -> int:
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())


def refused(reason: str) -> Page:
    status = {"expired": 410, "used": 409, "gone": 404}.get(reason, 400)
    return Page("choice_refused", status, {"reason": reason, "message": REFUSED[reason]})


class Choices:
    def __init__(
        self,
        store: ChoiceStore,
        orders: OrderService,
        shipments: ShipmentService,
        keys: Callable[[], tuple[bytes, ...]],
        *,
        clock: Callable[[], str],
    ) -> None:
        self.store = store
        self.orders = orders
        self.shipments = shipments
        self.keys = keys
        self.clock = clock

    def _token(self, text: str, unsubscribe: bool) -> ChoiceToken:
        keys = self.keys()
        if not keys:
            raise BadToken("forged")
        token = verify(text, keys, now=_epoch(self.clock()))
        if (token.action is Action.UNSUBSCRIBE) is not unsubscribe:  # each kind of link has its own address
            raise BadToken("malformed")
        return token

    def open(self, text: str, form_action: str, *, unsubscribe: bool = False) -> Page:
        """The confirmation page of a link; changes nothing."""
        try:
            token = self._token(text, unsubscribe)
        except BadToken as exc:
            return refused(exc.reason)
        settings = self.store.shop_settings(token.shop)
        base = {"shop_name": settings.name or token.shop, "action": token.action.value,
                "action_label": LABELS[token.action], "explanation": EXPLAIN[token.action]}  # fmt: skip
        if token.action is Action.UNSUBSCRIBE:
            return Page("choice_confirm", 200, {**base, "number": "", "form_action": form_action, "token": text},
                        settings.locale, settings.time_zone)  # fmt: skip
        if self.store.choice(token.choice_id) is not None:
            return refused("used")
        view = self.store.order_view(token.shop, token.order_id, with_log=False)
        if view is None:
            return refused("gone")
        number = view.order.webshop.number if view.order.webshop else token.order_id
        context = {**base, "number": number, "form_action": form_action, "token": text}
        return Page("choice_confirm", 200, context, settings.locale, settings.time_zone)

    def confirm(self, text: str, *, unsubscribe: bool = False) -> Page:
        """Act on a confirmed link, once (an unsubscribe any number of times)."""
        try:
            token = self._token(text, unsubscribe)
        except BadToken as exc:
            return refused(exc.reason)
        settings = self.store.shop_settings(token.shop)
        at = self.clock()
        if token.action is Action.UNSUBSCRIBE:
            self.store.opt_out(token.shop, token.address, "unsubscribed", at=at)
            return Page("unsubscribed", 200, {"shop_name": settings.name or token.shop}, settings.locale,
                        settings.time_zone)  # fmt: skip
        outcome = retrying(lambda: self._act(token))
        if isinstance(outcome, str):
            return refused(outcome)
        number, message = outcome
        context = {"shop_name": settings.name or token.shop, "number": number, "action": token.action.value,
                   "action_label": LABELS[token.action], "message": message}  # fmt: skip
        return Page("choice_done", 200, context, settings.locale, settings.time_zone)

    def _act(self, token: ChoiceToken) -> tuple[str, str] | str:
        """One attempt (``retrying`` runs it again on a concurrent change): the order's
        number and what was done, or why nothing was."""
        if self.store.choice(token.choice_id) is not None:
            return "used"
        view = self.store.order_view(token.shop, token.order_id, with_log=False)
        if view is None:
            return "gone"
        number = view.order.webshop.number if view.order.webshop else token.order_id
        at = self.clock()
        expires = datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC) + timedelta(days=KEEP_DAYS)

        def record(uow: UnitOfWork, cancelled: Mapping[int, int]) -> None:
            uow.add_choice(token.choice_id, token.shop, token.order_id, token.action.value, expires=expires)
            uow.notify(choice_made(token.shop, token.order_id, token.choice_id, token.action.value, cancelled, at))

        if token.action is Action.CANCEL:
            waiting = {ln.line_no for ln in view.lines if ln.backordered > 0 and ln.is_open}
            if not waiting:
                return number, "Nothing of this order is on backorder any more, so nothing was cancelled."

            def also(uow: UnitOfWork, changes: list[LineChange]) -> None:
                record(uow, {c.after.line_no: c.after.cancelled - c.before.cancelled for c in changes})

            changes = self.orders.edit_lines(
                token.shop,
                token.order_id,
                lambda ln: rules.cancel(ln, ln.backordered) if ln.backordered > 0 and ln.is_open else ln,
                event=f"order {token.order_id}: the customer cancelled the backordered units",
                line_nos=waiting,
                also=also,
            )
            units = sum(c.after.cancelled - c.before.cancelled for c in changes)
            return number, f"{units} backordered unit(s) were cancelled. What is in stock ships as planned."
        uow = self.store.unit_of_work(writer="api", event=f"order {token.order_id}: the customer chose "
                                      f"{token.action.value}", at=at, shop=token.shop)  # fmt: skip
        ship_now = token.action is Action.SHIP_NOW and view.order.ship_type is ShipType.COMPLETE
        if ship_now:
            uow.update_order(token.shop, token.order_id, view.order.version, ship_type=ShipType.PARTIAL.value)
        record(uow, {})
        uow.commit()
        if ship_now:  # what is allotted now goes into the pending shipment at once
            self.shipments.sync_pending(token.shop, token.order_id)
        return number, EXPLAIN[token.action]
