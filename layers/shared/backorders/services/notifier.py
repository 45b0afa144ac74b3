"""The notifier: pending intents become email, each intent settled exactly once.

A run (every minute, from its schedule) reads the outbox index, and serves each audience
whose earliest pending intent is due:

1. claim the audience (a lease longer than the function's timeout, so a live run is never
   overtaken); an expired claim that was sending leaves its message ``unconfirmed``;
2. re-read its pending intents (the index lags), compose the messages from them and from
   the state as it is now (``domain.notifications``), render them (``backorders.messages``);
3. per message: record what is being sent on the claim, send it through SES, then mark
   its intents sent, in one transaction with clearing the claim's record.

A replayed run, a second run at once or a repeated digest sends nothing twice: intents are
settled only while pending, under the claim. SES failures: throttling and server errors
are retried (a few times in the run, then later with backoff, ``MAX_ATTEMPTS`` in all);
a refusal is recorded as failed; an answer that never came is recorded as unconfirmed
and not sent again (the one window in which a message may be lost rather than doubled,
docs/decisions.md 72). Failed and unconfirmed intents are listed in the next digest.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

from backorders.domain.choice_tokens import CHOICE_DAYS, UNSUBSCRIBE_DAYS, Action, ChoiceToken, choice_id, sign
from backorders.domain.email import Email, Rejected, Retry, SendFailed, Unknown
from backorders.domain.errors import Conflict
from backorders.domain.model import OrderLine, ShipType, ShopSettings
from backorders.domain.notifications import (
    BUYER,
    GRACE,
    OPTIONAL_KINDS,
    CustomerNews,
    Intent,
    Kind,
    LineNews,
    Status,
    address_digest,
    customer_news,
    digest,
    is_low,
    later,
    message_id,
    newest_per_po,
)
from backorders.domain.purchasing import PoStatus
from backorders.services.ports import (
    Backlog,
    Balances,
    CatalogueLists,
    Demand,
    Orders,
    Products,
    Purchasing,
    Settings,
)

LEASE = timedelta(minutes=3)  # longer than the notifier's timeout (60 s in template.yaml)
RUN_BUDGET = 40.0  # seconds a run starts new audiences in
MAX_ATTEMPTS = 8  # SES failures before an intent is failed for good
IN_RUN_TRIES = 3
MAX_INTENTS = 90  # per message (settled in one transaction)
UNSUBSCRIBED = "unsubscribed"  # a suppression reason that stops optional messages only


class NotifierStore(Orders, Settings, Products, CatalogueLists, Balances, Backlog, Demand, Purchasing, Protocol):
    def pending_intents(self) -> Iterator[Intent]: ...
    def intents(self, audience: str, intent_ids: Iterable[str]) -> list[Intent]: ...
    def failed_intents(self, since: str) -> list[Intent]: ...
    def put_intent(self, intent: Intent) -> bool: ...
    def claim(self, audience: str, token: str, *, now: str, until: str) -> tuple[str | None, list[str]] | None: ...
    def mark_sending(self, audience: str, token: str, message_id: str, covers: Sequence[str]) -> None: ...
    def release(self, audience: str, token: str) -> None: ...
    def settle(
        self,
        audience: str,
        token: str | None,
        outcomes: Sequence[tuple[Intent, Status, str | None]],
        *,
        at: str,
        message_id: str | None = None,
    ) -> None: ...
    def postpone(self, intents: Sequence[Intent], *, due_at: str, reason: str) -> None: ...
    def suppressed(self, addresses: Iterable[str], *, shop: str | None = None) -> dict[str, str]: ...
    def suppress(self, address: str, reason: str, *, at: str) -> None: ...


class Mailer(Protocol):
    def send(self, email: Email) -> str: ...


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Where mail comes from and goes, from the deployment's settings."""

    sender: str | None  # None: nothing can be sent (every intent is skipped, and says why)
    buyer_email: str | None = None  # the buyers' address when a supplier names none
    public_url: str = ""  # the HTTP API's address: links in emails
    choice_keys: Callable[[], tuple[bytes, ...]] = tuple  # the keys of choice links: the first signs
    buyer_locale: str = "en"
    buyer_time_zone: str = "UTC"


@dataclass(slots=True)
class SendReport:
    audiences: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    unconfirmed: int = 0
    postponed: int = 0
    busy: int = 0  # audiences another run held

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send (``email``), or intents to skip (``email`` None, ``reason``)."""

    message_id: str
    intents: tuple[Intent, ...]
    email: Email | None = None
    reason: str | None = None


@dataclass
class _Run:
    now: str
    report: SendReport = field(default_factory=SendReport)


def _epoch(at: str) -> int:
    return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp())


class Notifier:
    def __init__(
        self,
        store: NotifierStore,
        mailer: Mailer,
        settings: MailSettings,
        *,
        clock: Callable[[], str],
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.mailer = mailer
        self.settings = settings
        self.clock = clock
        self._sleep = sleep
        self._monotonic = monotonic

    # -------------------------------------------------------------- runs
    def run(self) -> SendReport:
        """Serve every audience with a due intent (until the run's time budget is spent)."""
        started, run = self._monotonic(), _Run(self.clock())
        pending: dict[str, list[str]] = defaultdict(list)
        due: dict[str, str] = {}
        for intent in self.store.pending_intents():
            pending[intent.audience].append(intent.intent_id)
            if intent.due_at <= run.now:
                due[intent.audience] = min(due.get(intent.audience, intent.due_at), intent.due_at)
        for audience in sorted(due, key=lambda a: (due[a], a)):
            if self._monotonic() - started > RUN_BUDGET:
                break
            self._serve(audience, pending[audience], run)
        return run.report

    def write_digest(self, day: str | None = None) -> bool:
        """The buyer's digest of ``day`` (today), once: False when it was written before."""
        at = self.clock()
        return self.store.put_intent(digest(day or at[:10], at))

    def _serve(self, audience: str, intent_ids: Sequence[str], run: _Run) -> None:
        token = uuid.uuid4().hex
        claimed = self.store.claim(audience, token, now=run.now, until=later(run.now, LEASE))
        if claimed is None:
            run.report.busy += 1
            return
        run.report.audiences += 1
        try:
            sending, covers = claimed
            if sending:  # a run stopped between handing SES a message and marking it
                stale = [i for i in self.store.intents(audience, covers) if i.status is Status.PENDING]
                reason = (
                    "the run sending it stopped before SES answered; it may have been sent, so it is not sent again"
                )
                self._settle(audience, None, stale, Status.UNCONFIRMED, reason, run, message=sending)
            pending = [i for i in self.store.intents(audience, intent_ids) if i.status is Status.PENDING]
            for out in self.compose(audience, pending, run.now):
                self._deliver(audience, token, out, run)
        finally:
            self.store.release(audience, token)

    def _deliver(self, audience: str, token: str, out: Outgoing, run: _Run) -> None:
        if out.email is None:
            self._settle(audience, None, out.intents, Status.SKIPPED, out.reason, run)
            return
        self.store.mark_sending(audience, token, out.message_id, [i.intent_id for i in out.intents])
        try:
            ses_id = self._send(out.email)
        except Retry as exc:
            self.store.settle(audience, token, [], at=run.now)  # not sending any more
            self._retry_later(audience, out.intents, f"SES: {exc}", run)
            return
        except Rejected as exc:
            self._settle(audience, token, out.intents, Status.FAILED, f"SES refused it: {exc}", run)
            return
        except Unknown as exc:
            reason = f"SES did not answer ({exc}); it may have been sent, so it is not sent again"
            self._settle(audience, token, out.intents, Status.UNCONFIRMED, reason, run, message=out.message_id)
            return
        self._settle(audience, token, out.intents, Status.SENT, f"SES {ses_id}", run, message=out.message_id)

    def _send(self, email: Email) -> str:
        for attempt in range(1, IN_RUN_TRIES + 1):
            try:
                return self.mailer.send(email)
            except Retry:
                if attempt == IN_RUN_TRIES:
                    raise
                self._sleep(min(2.0, 0.25 * 2**attempt))
        raise AssertionError("unreachable")

    def _retry_later(self, audience: str, intents: Sequence[Intent], reason: str, run: _Run) -> None:
        attempts = max(i.attempts for i in intents) + 1
        if attempts >= MAX_ATTEMPTS:
            self._settle(audience, None, intents, Status.FAILED, f"{reason}, {attempts} times", run)
            return
        self.store.postpone(intents, due_at=later(run.now, timedelta(minutes=2**attempts)), reason=reason)
        run.report.postponed += len(intents)

    def _settle(
        self,
        audience: str,
        token: str | None,
        intents: Sequence[Intent],
        status: Status,
        reason: str | None,
        run: _Run,
        *,
        message: str | None = None,
    ) -> None:
        for start in range(0, max(1, len(intents)), MAX_INTENTS):
            chunk = [(i, status, reason) for i in intents[start : start + MAX_INTENTS]]
            try:
                self.store.settle(audience, token if start == 0 else None, chunk, at=run.now, message_id=message)
            except Conflict:
                continue  # settled meanwhile (index lag on a replay): nothing to do twice
        counter = {
            Status.SENT: "sent",
            Status.SKIPPED: "skipped",
            Status.FAILED: "failed",
            Status.UNCONFIRMED: "unconfirmed",
        }[status]
        if status is Status.SENT:
            run.report.sent += 1
        else:
            setattr(run.report, counter, getattr(run.report, counter) + len(intents))

    # -------------------------------------------------------------- composing
    def compose(self, audience: str, intents: Sequence[Intent], now: str) -> list[Outgoing]:
        """The messages ``intents`` of one audience make, as things stand ``now``."""
        if not intents:
            return []
        if self.settings.sender is None:
            return [Outgoing(message_id(audience, intents), tuple(intents), reason="no sender address is configured")]
        if audience.startswith("c#"):
            return self._customer(audience, list(intents[:MAX_INTENTS]), now)
        send, superseded = newest_per_po(intents)
        out = [Outgoing(message_id(audience, [i]), (i,), reason="a newer update of the PO is sent") for i in superseded]
        for intent in send:
            out.append(self._buyer(audience, intent, now))
        return out

    def _email(
        self,
        to: Sequence[str],
        rendered: Any,
        mid: str,
        *,
        name: str | None = None,
        reply_to: Sequence[str] = (),
        headers: Sequence[tuple[str, str]] = (),
    ) -> Email:
        assert self.settings.sender is not None
        return Email(
            self.settings.sender,
            tuple(to),
            rendered.subject,
            rendered.text,
            rendered.html,
            name,
            tuple(reply_to),
            tuple(headers),
            mid,
        )

    def _recipients(
        self, wanted: Iterable[str | None], *, optional: bool = False, shop: str | None = None
    ) -> tuple[list[str], str | None]:
        """Who of ``wanted`` may be written to, or why nobody."""
        addresses = list(dict.fromkeys(a for a in wanted if a))
        if not addresses:
            return [], "there is no address to send it to"
        blocked = self.store.suppressed(addresses, shop=shop)
        allowed = [a for a in addresses if a not in blocked or (blocked[a] == UNSUBSCRIBED and not optional)]
        if not allowed:
            return [], "the address is suppressed (a bounce, a complaint or an unsubscribe)"
        return allowed, None

    # -------------------------------------------------------------- customers
    def _customer(self, audience: str, intents: list[Intent], now: str) -> list[Outgoing]:
        # a new order is looked at once the allotter had its minute, even when an earlier
        # intent of the same customer makes the message due sooner
        intents = [i for i in intents if i.kind is not Kind.ORDER_ENTERED or later(i.at, GRACE) <= now]
        if not intents:
            return []
        mid = message_id(audience, intents)
        shop = intents[0].shop or ""
        settings = self.store.shop_settings(shop)
        if not settings.notify_customers:
            return [Outgoing(mid, tuple(intents), reason="the shop's customer emails are switched off")]
        views = {}
        for order_id in sorted({i.order_id for i in intents if i.order_id}):
            if (view := self.store.order_view(shop, order_id, with_log=False)) is not None:
                views[order_id] = view
        lines = {(ln.order_id, ln.line_no): ln for v in views.values() for ln in v.lines}
        news = customer_news(intents, lines, settings.customer_messages)
        if news.empty or not views:
            return [Outgoing(mid, tuple(intents), reason="nothing left to tell the customer")]
        latest = max(views.values(), key=lambda v: v.order.entered_at).order
        to, why = self._recipients([latest.customer.email], optional=news.only_optional, shop=shop)
        if why:
            return [Outgoing(mid, tuple(intents), reason=why)]
        context = self._customer_context(settings, views, news, lines, mid, to[0], now)
        rendered = render_email("customer_update", context, locale=settings.locale, time_zone=settings.time_zone)
        headers: list[tuple[str, str]] = []
        if context["unsubscribe_url"]:
            headers = [
                ("List-Unsubscribe", f"<{context['unsubscribe_url']}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ]
        reply = [settings.contact_email] if settings.contact_email else []
        email = self._email(to, rendered, mid, name=settings.name or shop, reply_to=reply, headers=headers)
        return [Outgoing(mid, tuple(intents), email)]

    def _customer_context(
        self,
        settings: ShopSettings,
        views: Mapping[str, Any],
        news: CustomerNews,
        lines: Mapping[tuple[str, int], OrderLine],
        mid: str,
        address: str,
        now: str,
    ) -> dict[str, Any]:
        names = {sku: p.name for sku, p in self.store.products({ln.sku for ln in lines.values()}).items()}

        def shown(part: Sequence[LineNews], order_id: str) -> list[dict[str, Any]]:
            return [{**_line(n), "name": names.get(n.sku)} for n in part if n.order_id == order_id]

        orders = []
        waiting = set(news.waiting_orders)
        for order_id, view in views.items():
            sections = {
                "backordered": shown(news.backordered, order_id),
                "moved": shown(news.moved, order_id),
                "filled": shown(news.filled, order_id),
                "cancelled": shown(news.cancelled, order_id),
            }
            if not any(sections.values()):
                continue
            order = view.order
            choices = self._choices(settings.shop, order_id, mid, order.ship_type, now) if order_id in waiting else None
            number = order.webshop.number if order.webshop else order_id
            orders.append(
                {
                    "order_id": order_id,
                    "number": number,
                    "ship_type": order.ship_type.value,
                    **sections,
                    "choices": choices,
                }
            )
        optional = bool(news.kinds & OPTIONAL_KINDS)
        expires = _epoch(later(now, timedelta(days=UNSUBSCRIBE_DAYS)))
        token = ChoiceToken(settings.shop, "", mid, Action.UNSUBSCRIBE, expires, address_digest(address))
        unsubscribe = self._link("unsubscribe", token) if optional else None
        latest = max(views.values(), key=lambda v: v.order.entered_at).order
        return {
            "shop_name": settings.name or settings.shop,
            "customer_name": latest.customer.name,
            "orders": orders,
            "unsubscribe_url": unsubscribe,
        }

    def _choices(self, shop: str, order_id: str, mid: str, ship_type: ShipType, now: str) -> dict[str, Any] | None:
        if not self.settings.public_url or not self.settings.choice_keys():
            return None
        expires = _epoch(later(now, timedelta(days=CHOICE_DAYS)))
        cid = choice_id(mid, order_id)

        def link(action: Action) -> str | None:
            return self._link("choices", ChoiceToken(shop, order_id, cid, action, expires))

        return {
            "wait": link(Action.WAIT),
            "ship_now": link(Action.SHIP_NOW) if ship_type is ShipType.COMPLETE else None,
            "cancel": link(Action.CANCEL),
        }

    def _link(self, path: str, token: ChoiceToken) -> str | None:
        keys = self.settings.choice_keys() if self.settings.public_url else ()
        if not keys:
            return None
        signed = sign(token, keys[0])
        return f"{self.settings.public_url.rstrip('/')}/{path}/{quote(signed, safe='')}"

    # -------------------------------------------------------------- buyers and shops
    def _buyer(self, audience: str, intent: Intent, now: str) -> Outgoing:
        mid = message_id(audience, [intent])
        built = {
            Kind.PO: self._po,
            Kind.LOW_STOCK: self._low_stock,
            Kind.UNKNOWN_SKU: self._unknown_sku,
            Kind.DIGEST: self._digest,
            Kind.CHOICE: self._choice_made,
        }[intent.kind](intent, now)
        if isinstance(built, str):
            return Outgoing(mid, (intent,), reason=built)
        name, context, wanted, locale, zone = built
        to, why = self._recipients(wanted)
        if why:
            return Outgoing(mid, (intent,), reason=why)
        rendered = render_email(name, context, locale=locale, time_zone=zone)
        return Outgoing(mid, (intent,), self._email(to, rendered, mid, name="Backorders"))

    def _buyers_of(self, supplier_id: str | None) -> list[str | None]:
        supplier = self.store.suppliers([supplier_id]).get(supplier_id) if supplier_id else None
        named = list((supplier.settings.get("buyer_emails") or []) if supplier else [])
        return named or [self.settings.buyer_email]

    def _house(self, name: str, context: dict[str, Any], wanted: list[str | None]) -> tuple[Any, ...]:
        return name, context, wanted, self.settings.buyer_locale, self.settings.buyer_time_zone

    def _po(self, intent: Intent, now: str) -> tuple[Any, ...] | str:
        po = self.store.purchase_order(intent.po_id or "")
        if po is None or po.status is not PoStatus.RECOMMENDED:
            return "the PO was placed, withdrawn or cancelled meanwhile"
        supplier = self.store.suppliers([po.supplier_id]).get(po.supplier_id)
        names = {sku: p.name for sku, p in self.store.products({ln.sku for ln in po.lines}).items()}
        url = f"{self.settings.public_url.rstrip('/')}/v1/purchase-orders/{quote(po.po_id, safe='')}/place"
        context = {
            "event": str(intent.data.get("event") or "recommended"),
            "po": {
                "po_id": po.po_id,
                "kind": po.kind.value,
                "supplier_id": po.supplier_id,
                "supplier_name": supplier.name if supplier else None,
                "lines": [
                    {
                        "sku": ln.sku,
                        "name": names.get(ln.sku),
                        "quantity": ln.quantity,
                        "unit_price": ln.unit_price,
                        "value": ln.value,
                    }
                    for ln in po.lines
                ],
                "value": po.value,
                "threshold": po.threshold,
                "created_at": po.created_at,
            },
            "place": {"method": "POST", "url": url},
            "api_url": self.settings.public_url,
        }
        return self._house("buyer_po", context, self._buyers_of(po.supplier_id))

    def _low_stock(self, intent: Intent, now: str) -> tuple[Any, ...] | str:
        found = self.store.product(intent.sku or "")
        if found is None or not is_low(found[1], found[0]):
            return "the SKU is no longer under its minimum"
        balance, product = found
        supplier = self.store.suppliers([product.supplier_id]).get(product.supplier_id) if product.supplier_id else None
        context = {
            "sku": product.sku,
            "name": product.name,
            "supplier_id": product.supplier_id,
            "supplier_name": supplier.name if supplier else None,
            "projected_position": balance.projected_position,
            "min_stock": product.min_stock,
            "on_hand": balance.on_hand,
            "backordered": balance.backordered,
            "incoming": balance.incoming,
        }
        return self._house("buyer_low_stock", context, self._buyers_of(product.supplier_id))

    def _unknown_sku(self, intent: Intent, now: str) -> tuple[Any, ...] | str:
        found = self.store.product(intent.sku or "")
        if found is not None and found[0].known:
            return "the product was added meanwhile"
        context = {
            "sku": intent.sku,
            "shop": intent.shop or "",
            "cause": str(intent.data.get("cause") or ""),
            "at": intent.at,
        }
        return self._house("buyer_unknown_sku", context, [self.settings.buyer_email])

    def _choice_made(self, intent: Intent, now: str) -> tuple[Any, ...] | str:
        shop = intent.shop or ""
        settings = self.store.shop_settings(shop)
        view = self.store.order_view(shop, intent.order_id or "", with_log=False)
        skus = {ln.line_no: ln.sku for ln in view.lines} if view else {}
        cancelled = [
            {"line_no": int(n), "sku": skus.get(int(n), ""), "units": int(u)}
            for n, u in sorted((intent.data.get("cancelled") or {}).items())
        ]
        number = view.order.webshop.number if view and view.order.webshop else (intent.order_id or "")
        context = {
            "shop": shop,
            "order_id": intent.order_id,
            "number": number,
            "customer_name": view.order.customer.name if view else None,
            "action": str(intent.data.get("action")),
            "at": intent.at,
            "cancelled": cancelled,
        }
        wanted = [settings.contact_email or self.settings.buyer_email]
        return "shop_choice", context, wanted, settings.locale, settings.time_zone

    def _digest(self, intent: Intent, now: str) -> tuple[Any, ...] | str:
        return self._house(
            "buyer_digest",
            self.digest_context(str(intent.data.get("day") or now[:10]), now),
            [self.settings.buyer_email],
        )

    def digest_context(self, day: str, now: str) -> dict[str, Any]:
        """Open backorders by supplier and SKU (units, value, age, defaulting), POs awaiting
        placement, defaulting lines, and notifications that failed since the day before."""
        today = date.fromisoformat(day)
        skus = sorted(self.store.skus_with_backlog())
        balances = self.store.balances(skus)
        products = self.store.products(skus)
        per_supplier: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
        defaulting: list[dict[str, Any]] = []
        totals = {"units": 0, "value": Decimal(0), "lines": 0}
        for sku in skus:
            balance = balances.get(sku)
            if balance is None or balance.backordered <= 0:
                continue
            waiting = [ln for ln in self.store.demand(sku, lambda: 200) if ln.backordered > 0]
            if not waiting:
                continue
            units = sum(ln.backordered for ln in waiting)
            value = sum((ln.unit_price * ln.backordered for ln in waiting), Decimal(0))
            oldest = min(ln.entered_at for ln in waiting)
            late = [ln for ln in waiting if ln.expected_on and date.fromisoformat(ln.expected_on) < today]
            for ln in late:
                defaulting.append(
                    {
                        "shop": ln.shop,
                        "order_id": ln.order_id,
                        "line_no": ln.line_no,
                        "sku": sku,
                        "units": ln.backordered,
                        "expected_on": ln.expected_on,
                        "days_late": (today - date.fromisoformat(str(ln.expected_on))).days,
                    }
                )
            product = products.get(sku)
            age = (today - date.fromisoformat(oldest[:10])).days
            per_supplier[product.supplier_id if product else None].append(
                {
                    "sku": sku,
                    "name": product.name if product else None,
                    "units": units,
                    "value": value,
                    "oldest": oldest,
                    "age_days": age,
                    "defaulting": sum(ln.backordered for ln in late),
                }
            )
            totals["units"] += units  # type: ignore[operator]
            totals["value"] += value  # type: ignore[operator]
            totals["lines"] += len(waiting)  # type: ignore[operator]
        suppliers = self.store.suppliers([s for s in per_supplier if s])
        groups = [
            {
                "supplier_id": sid,
                "name": suppliers[sid].name if sid in suppliers else None,
                "units": sum(r["units"] for r in rows),
                "value": sum((r["value"] for r in rows), Decimal(0)),
                "skus": rows,
            }
            for sid, rows in sorted(per_supplier.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ]
        awaiting = [
            {
                "po_id": po.po_id,
                "kind": po.kind.value,
                "supplier_id": po.supplier_id,
                "value": po.value,
                "created_at": po.created_at,
            }
            for po in self.store.purchase_orders([PoStatus.RECOMMENDED])
        ]
        since = later(now, -timedelta(days=1))
        failed = [
            {
                "kind": i.kind.value,
                "recipient": _recipient_label(i.audience),
                "at": i.at,
                "reason": f"{i.status.value}: {i.reason or ''}",
            }
            for i in self.store.failed_intents(since)
        ]
        return {
            "day": day,
            "suppliers": groups,
            "awaiting": awaiting,
            "defaulting": sorted(defaulting, key=lambda d: -d["days_late"]),
            "failed": failed,
            "totals": totals,
        }

    # -------------------------------------------------------------- SES's events
    def record_event(self, event: Mapping[str, Any]) -> int:
        """A bounce or complaint from the configuration set's event destination (EventBridge):
        the addresses it names receive nothing more. Returns how many were suppressed."""
        detail = event.get("detail") or {}
        kind = str(detail.get("eventType") or event.get("detail-type") or "")
        at = self.clock()
        addresses: list[str] = []
        if kind in ("Bounce", "Email Bounced"):
            bounce = detail.get("bounce") or {}
            if bounce.get("bounceType") != "Permanent":
                return 0  # a transient bounce: SES retries, and the address stays
            addresses = [str(r.get("emailAddress") or "") for r in bounce.get("bouncedRecipients") or []]
            reason = "bounced"
        elif kind in ("Complaint", "Email Complaint Received"):
            complaint = detail.get("complaint") or {}
            addresses = [str(r.get("emailAddress") or "") for r in complaint.get("complainedRecipients") or []]
            reason = "complained"
        else:
            return 0
        done = 0
        for address in filter(None, addresses):
            self.store.suppress(address, reason, at=at)
            done += 1
        return done


def render_email(name: str, context: Mapping[str, Any], *, locale: str, time_zone: str) -> Any:
    """``backorders.messages.render_email``, imported when a message is rendered: Jinja2 and
    Babel cost about 0.13 s to import, which no other function's cold start should pay."""
    from backorders.messages import render_email as render

    return render(name, context, locale=locale, time_zone=time_zone)


def _line(news: LineNews) -> dict[str, Any]:
    return {
        "line_no": news.line_no,
        "sku": news.sku,
        "quantity": news.quantity,
        "backordered": news.backordered,
        "expected_on": news.expected_on,
        "expected_source": news.expected_source,
        "was_expected_on": news.was_expected_on,
        "filled": news.filled,
        "cancelled": news.cancelled,
    }


def _recipient_label(audience: str) -> str:
    """Who an audience is, for the digest (never an address)."""
    if audience == BUYER:
        return "the buyer"
    kind, _, rest = audience.partition("#")
    if kind == "s":
        return f"buyers of supplier {rest}"
    if kind == "shop":
        return f"shop {rest}"
    shop, _, customer = rest.partition("#")
    return f"a customer of shop {shop} ({customer})"


__all__ = ["MailSettings", "Notifier", "Outgoing", "SendFailed", "SendReport"]
