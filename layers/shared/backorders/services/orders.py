"""Order use cases: intake, cancellation, quantity and priority changes, forced
backorders. Each writes the changed lines and their SKU counters in one conditional
transaction; the allotter picks the change up from the stream."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from backorders.domain import orders as rules
from backorders.domain.allotment import LineChange
from backorders.domain.errors import Conflict, InvalidInput, NotFound
from backorders.domain.model import LinePolicy, Movement, NewLine, Order, OrderLine
from backorders.domain.notifications import order_entered
from backorders.services.commit import customer_intents, retrying
from backorders.services.ports import Balances, ManualShops, Orders, OrderView, Settings, UnitOfWork, Writes

COMMAND_DAYS = 7  # how long a relative command's idempotency key is remembered


def _days_from(now: str, days: int) -> datetime:
    """The moment ``days`` after the service timestamp ``now`` (for TTL attributes)."""
    return datetime.fromisoformat(now.replace("Z", "+00:00")) + timedelta(days=days)


class OrderStore(Writes, Orders, Settings, Balances, ManualShops, Protocol):
    """What order intake and edits read (the order, shop and customer settings) and write."""


@dataclass(frozen=True, slots=True)
class Command:
    """A relative command's idempotency key and the fingerprint of its request."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class Revision:
    """Changes to an order decided from what it is now (``OrderService.revise``): line
    changes, new lines (queued from ``entered_at``), header fields, and record-log notes."""

    changes: tuple[LineChange, ...] = ()
    added: tuple[NewLine, ...] = ()
    entered_at: str | None = None  # when the added lines entered (None: the order's time)
    order_fields: Mapping[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    command: Command | None = None
    returns: tuple[Movement, ...] = ()  # units back on hand (a webshop's restocked refunds)

    @property
    def writes_nothing(self) -> bool:
        return not (self.changes or self.added or self.order_fields or self.command or self.returns)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    status: Literal["created", "duplicate"]
    order_id: str
    lines: int


class OrderService:
    def __init__(self, store: OrderStore, *, clock: Callable[[], str]) -> None:
        self.store = store
        self.clock = clock

    # -------------------------------------------------------------- intake
    def create(self, order: Order) -> IntakeResult:
        """Store an order and its lines; every unit starts on backorder until the
        allotter allots it. Replaying the same order changes nothing; the same id
        with different content is a conflict."""
        rules.validate_order(order)
        existing = self.store.order_fingerprint(order.shop, order.order_id)
        if existing is not None:
            return self._replay(order, existing)
        shop = self.store.shop_settings(order.shop)
        policy = rules.resolve_policy(order, self.store.customer_policy(order.shop, order.customer.id), shop)
        at = self.clock()
        uow = self.store.unit_of_work(writer="api", event=f"order {order.order_id} created", at=at, shop=order.shop)
        uow.add_order(order)
        if shop.notify_customers:  # once the allotter had its pass, the customer hears what waits
            window = timedelta(minutes=shop.combine_minutes)
            uow.notify(order_entered(order.shop, order.order_id, order.customer.id, at, window))
        for line in rules.lines_of(order, policy):
            uow.add_line(line)
            uow.touch_sku(line.sku)
        uow.log(
            f"order {order.order_id} entered with {len(order.lines)} line(s), priority {order.priority}, "
            f"ship type {order.ship_type}, line policy {policy}",
            shop=order.shop,
            order_id=order.order_id,
        )
        try:
            uow.commit()
        except Conflict:
            again = self.store.order_fingerprint(order.shop, order.order_id)
            if again is None:
                raise
            return self._replay(order, again)  # a concurrent delivery of the same order
        return IntakeResult("created", order.order_id, len(order.lines))

    def _replay(self, order: Order, stored_fingerprint: str) -> IntakeResult:
        if stored_fingerprint != order.fingerprint:
            raise Conflict(
                f"order {order.order_id} already exists with different content; change it with the order edit routes",
                field="id",
            )
        return IntakeResult("duplicate", order.order_id, len(order.lines))

    # -------------------------------------------------------------- edits
    def view(self, shop: str, order_id: str) -> OrderView:
        view = self.store.order_view(shop, order_id, with_log=False)
        if view is None:
            raise NotFound(f"order {order_id} not found", field="order_id")
        return view

    def edit_lines(
        self,
        shop: str,
        order_id: str,
        edit: Callable[[OrderLine], OrderLine],
        *,
        event: str,
        line_nos: set[int] | None = None,
        order_fields: dict[str, object] | None = None,
        command: Command | None = None,
        also: Callable[[UnitOfWork, list[LineChange]], None] | None = None,
    ) -> list[LineChange]:
        """Apply ``edit`` to the chosen lines (all when ``line_nos`` is None) and write
        the result with the SKU counters, re-reading on a concurrent change. With a
        ``command`` key the edit is applied at most once: the key is stored in the same
        transaction, and a retry that finds it changes nothing. ``also`` adds writes of
        the caller's to the same transaction (a customer's choice)."""

        def attempt() -> list[LineChange]:
            view = self.view(shop, order_id)
            if command is not None and command.key in view.commands:
                if view.commands[command.key] != command.fingerprint:
                    raise Conflict("this Idempotency-Key was used with a different request", field="idempotency-key")
                return []
            chosen = [ln for ln in view.lines if line_nos is None or ln.line_no in line_nos]
            if line_nos is not None:
                missing = line_nos - {ln.line_no for ln in chosen}
                if missing:
                    raise NotFound(f"order {order_id} has no line {min(missing)}", field="line")
            changes = [LineChange(ln, after) for ln in chosen if (after := edit(ln)) != ln]
            header = {k: v for k, v in (order_fields or {}).items() if getattr(view.order, k) != v}
            if not changes and not header:
                return []  # nothing to change: nothing is written
            at = self.clock()
            uow = self.store.unit_of_work(writer="api", event=event, at=at, shop=shop)
            for change in changes:
                uow.change_line(change)
                uow.log(
                    f"line {change.after.line_no} ({change.after.sku}): {event}",
                    sku=change.after.sku,
                    shop=shop,
                    order_id=order_id,
                    line_no=change.after.line_no,
                    delta=change.delta,
                )
            self._notify(uow, changes, at)
            if header:
                uow.update_order(shop, order_id, view.order.version, **header)
            if command is not None:
                expires = _days_from(self.clock(), COMMAND_DAYS)
                uow.add_command(shop, order_id, command.key, command.fingerprint, expires=expires)
            if also is not None:
                also(uow, changes)
            uow.commit()
            return changes

        return retrying(attempt)

    def revise(self, shop: str, order_id: str, plan: Callable[[OrderView], Revision], *, event: str) -> Revision:
        """Write what ``plan`` decides from the order as stored, in one transaction pinned
        to the order's version (a concurrent revision makes it read and decide again).
        Added lines take the order's priority and line policy and queue from the
        revision's ``entered_at``, like any new demand."""

        def attempt() -> Revision:
            view = self.view(shop, order_id)
            revision = plan(view)
            if revision.writes_nothing:
                return revision
            at = self.clock()
            uow = self.store.unit_of_work(writer="api", event=event, at=at, shop=shop)
            for change in revision.changes:
                uow.change_line(change)
                uow.log(
                    f"line {change.after.line_no} ({change.after.sku}): {event}",
                    sku=change.after.sku,
                    shop=shop,
                    order_id=order_id,
                    line_no=change.after.line_no,
                    delta=change.delta,
                )
            self._notify(uow, revision.changes, at)
            if revision.added:
                policy = view.lines[0].policy if view.lines else self._policy(view.order)
                entered = replace(view.order, entered_at=revision.entered_at or view.order.entered_at)
                for line in rules.lines_of(replace(entered, lines=revision.added), policy):
                    uow.add_line(line)
                    uow.touch_sku(line.sku)
                    uow.log(
                        f"line {line.line_no} ({line.sku}) added with {line.quantity} unit(s): {event}",
                        sku=line.sku,
                        shop=shop,
                        order_id=order_id,
                        line_no=line.line_no,
                    )
            for note in revision.notes:
                uow.log(note, shop=shop, order_id=order_id)
            on_hand = {sku: b.on_hand for sku, b in self.store.balances({m.sku for m in revision.returns}).items()}
            for movement in revision.returns:
                on_hand[movement.sku] = on_hand.get(movement.sku, 0) + movement.quantity
                uow.add_ledger(movement, movement.quantity, on_hand[movement.sku])
                uow.touch_sku(movement.sku, on_hand=movement.quantity)
            uow.update_order(shop, order_id, view.order.version, **revision.order_fields)
            if revision.command is not None:
                expires = _days_from(self.clock(), COMMAND_DAYS)
                uow.add_command(shop, order_id, revision.command.key, revision.command.fingerprint, expires=expires)
            uow.commit()
            return revision

        return retrying(attempt)

    def _notify(self, uow: UnitOfWork, changes: Sequence[LineChange], at: str) -> None:
        """The intents of an edit's line changes (a cancel of backordered units, units
        forced back on backorder), for a shop that notifies its customers."""
        if changes:
            for intent in customer_intents(changes, at, self.store.shop_modes().notifying):
                uow.notify(intent)

    def _policy(self, order: Order) -> LinePolicy:
        shop = self.store.shop_settings(order.shop)
        return rules.resolve_policy(order, self.store.customer_policy(order.shop, order.customer.id), shop)

    def cancel(
        self,
        shop: str,
        order_id: str,
        line_no: int | None = None,
        units: int | None = None,
        *,
        command: Command | None = None,
    ) -> list[LineChange]:
        """Cancel every open unit of the order or of one line (absolute: a replay
        changes nothing), or ``units`` of one line (relative: pass a ``command`` key)."""
        if units is None:
            return self.edit_lines(
                shop,
                order_id,
                lambda ln: rules.cancel(ln) if rules.open_units(ln) > 0 else ln,
                event=f"order {order_id} cancelled"
                if line_no is None
                else f"order {order_id} line {line_no} cancelled",
                line_nos=None if line_no is None else {line_no},
            )
        if line_no is None:
            raise InvalidInput("units can only be cancelled on one line", field="line")
        if command is None:
            raise InvalidInput("cancelling some units needs an Idempotency-Key header", field="idempotency-key")
        return self.edit_lines(
            shop,
            order_id,
            lambda ln: rules.cancel(ln, units),
            event=f"order {order_id} line {line_no}: {units} unit(s) cancelled",
            line_nos={line_no},
            command=command,
        )

    def change_quantity(self, shop: str, order_id: str, line_no: int, quantity: int) -> list[LineChange]:
        return self.edit_lines(
            shop,
            order_id,
            lambda ln: rules.change_quantity(ln, quantity),
            event=f"order {order_id} line {line_no} quantity changed to {quantity}",
            line_nos={line_no},
        )

    def change_priority(self, shop: str, order_id: str, priority: int) -> list[LineChange]:
        """Every line takes the order's new priority, closed ones too: a quantity
        increase can reopen a closed line, and it must then queue at the order's priority."""
        return self.edit_lines(
            shop,
            order_id,
            lambda ln: rules.reprioritize(ln, priority),
            event=f"order {order_id} priority changed to {priority}",
            order_fields={"priority": priority},
        )

    def force_backorder(self, shop: str, order_id: str, line_no: int, units: int | None) -> list[LineChange]:
        def force(line: OrderLine) -> OrderLine:
            room = line.quantity - line.shipped - line.cancelled - line.locked
            return rules.force_backorder(line, room if units is None else units)

        return self.edit_lines(
            shop,
            order_id,
            force,
            event=f"order {order_id} line {line_no} forced onto backorder",
            line_nos={line_no},
        )

    def mark_fill(self, shop: str, order_id: str, line_nos: set[int], *, event: str) -> list[LineChange]:
        return self.edit_lines(shop, order_id, rules.request_fill, event=event, line_nos=line_nos)
