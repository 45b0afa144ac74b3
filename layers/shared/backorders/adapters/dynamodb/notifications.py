"""Notification intents, the notifier's claims, suppressed addresses and customers'
choices in the table (decision 72). Part of ``DynamoStore`` (its base class).

An intent is written by the use case's own transaction (``DynamoUnitOfWork.notify``);
what is here is the notifier's side:

- ``pending_intents`` reads the outbox index (pending intents of every audience);
- ``claim`` gives one run an audience until a lease ends (longer than the function's
  timeout, so a live run is never overtaken), and hands back what an expired claim was
  sending (the one window in which SES may have accepted a message that is not marked);
- ``mark_sending`` records, before SES is called, which message and intents a claim sends;
- ``settle`` marks intents (each only while still pending) and clears ``sending``, in one
  transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from backorders.adapters.dynamodb.models import (
    FAILED,
    OUTBOX_SHARDS,
    ChoiceItem,
    ClaimItem,
    NoteItem,
    SuppressionItem,
    notify_pk,
    outbox_pk,
)
from backorders.adapters.dynamodb.storage import storage
from backorders.domain.errors import Conflict
from backorders.domain.notifications import Intent, Kind, Status, address_digest

SETTLED_DAYS = 90  # sent and skipped intents are kept this long (TTL), failed ones too
_BATCH = 100


def _expires(at: str, days: int = SETTLED_DAYS) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(UTC) + timedelta(days=days)


def note_item(intent: Intent) -> NoteItem:
    return NoteItem(
        pk=notify_pk(intent.audience),
        sk=f"NOTE#{intent.intent_id}",
        audience=intent.audience,
        intent_id=intent.intent_id,
        kind=intent.kind.value,
        at=intent.at,
        due_at=intent.due_at,
        status=intent.status.value,
        attempts=intent.attempts,
        shop=intent.shop,
        order_id=intent.order_id,
        line_no=intent.line_no,
        sku=intent.sku,
        supplier_id=intent.supplier_id,
        po_id=intent.po_id,
        data=dict(intent.data) or None,
        outbox_pk=outbox_pk(intent.audience),
        outbox_sk=f"{intent.due_at}#{intent.intent_id}",
    )


def intent_of(item: NoteItem) -> Intent:
    return Intent(
        audience=item.audience,
        intent_id=item.intent_id,
        kind=Kind(item.kind),
        at=item.at,
        due_at=item.due_at,
        shop=item.shop,
        order_id=item.order_id,
        line_no=None if item.line_no is None else int(item.line_no),
        sku=item.sku,
        supplier_id=item.supplier_id,
        po_id=item.po_id,
        data=item.data or {},
        status=Status(item.status),
        attempts=int(item.attempts or 0),
        message_id=item.message_id,
        reason=item.reason,
    )


def _suppression_pk(digest: str, shop: str | None = None) -> str:
    return f"OPTOUT#{shop}#{digest}" if shop else f"SUPPRESS#{digest}"


class NotificationTables:
    @storage
    def put_intent(self, intent: Intent) -> bool:
        """Write an intent of its own (the digest's); False when it exists already."""
        try:
            note_item(intent).save(condition=NoteItem.pk.does_not_exist())
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    @storage
    def pending_intents(self) -> Iterator[Intent]:
        """Every pending intent, from the outbox index (eventually consistent: re-read an
        audience's intents with ``intents`` before acting on them)."""
        for shard in range(OUTBOX_SHARDS):
            for item in NoteItem.outbox_index.query(f"OUTBOX#{shard}"):
                yield intent_of(item)

    @storage
    def intents(self, audience: str, intent_ids: Iterable[str]) -> list[Intent]:
        keys = [(notify_pk(audience), f"NOTE#{i}") for i in sorted(set(intent_ids))]
        found: list[Intent] = []
        for start in range(0, len(keys), _BATCH):
            found.extend(intent_of(item) for item in NoteItem.batch_get(keys[start : start + _BATCH],
                                                                         consistent_read=True))  # fmt: skip
        return sorted(found, key=lambda i: (i.at, i.intent_id))

    @storage
    def failed_intents(self, since: str) -> list[Intent]:
        """Intents that failed for good (or may not have been sent) since ``since``."""
        query = NoteItem.outbox_index.query(FAILED, NoteItem.outbox_sk >= since)
        return [intent_of(item) for item in query]

    # -------------------------------------------------------------- claims
    @storage
    def claim(self, audience: str, token: str, *, now: str, until: str) -> tuple[str | None, list[str]] | None:
        """Claim ``audience`` for this run until ``until``. None: another run holds it.
        Else what an expired claim was sending when its run stopped (a message id and its
        intents), or (None, [])."""
        pk = notify_pk(audience)
        try:
            old = ClaimItem.get(pk, "CLAIM", consistent_read=True)
        except ClaimItem.DoesNotExist:
            old = None
        if old is not None and old.until > now:
            return None
        condition = ClaimItem.pk.does_not_exist() if old is None else ClaimItem.token == old.token
        try:
            ClaimItem(pk=pk, sk="CLAIM", token=token, until=until).save(condition=condition)
        except PutError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                return None
            raise
        if old is None or not old.sending:
            return None, []
        return old.sending, sorted(old.covers or ())

    @storage
    def mark_sending(self, audience: str, token: str, message_id: str, covers: Sequence[str]) -> None:
        item = ClaimItem(pk=notify_pk(audience), sk="CLAIM")
        try:
            item.update(
                actions=[ClaimItem.sending.set(message_id), ClaimItem.covers.set(set(covers))],
                condition=ClaimItem.token == token,
            )
        except UpdateError as exc:
            if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise Conflict("the claim was taken over") from exc
            raise

    @storage
    def release(self, audience: str, token: str) -> None:
        try:
            ClaimItem(pk=notify_pk(audience), sk="CLAIM").delete(condition=ClaimItem.token == token)
        except Exception as exc:
            if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                raise

    @storage
    def settle(
        self,
        audience: str,
        token: str | None,
        outcomes: Sequence[tuple[Intent, Status, str | None]],
        *,
        at: str,
        message_id: str | None = None,
    ) -> None:
        """Mark each intent (while still pending) with its status and reason, and clear the
        claim's ``sending``, in one transaction (at most 99 intents)."""
        if len(outcomes) > 99:
            raise ValueError("settle at most 99 intents at a time")
        try:
            self._settle(audience, token, outcomes, at=at, message_id=message_id)
        except TransactWriteError as exc:
            if settle_conflict(exc):
                raise Conflict("an intent was settled, or the claim taken over, meanwhile") from exc
            raise

    def _settle(
        self,
        audience: str,
        token: str | None,
        outcomes: Sequence[tuple[Intent, Status, str | None]],
        *,
        at: str,
        message_id: str | None,
    ) -> None:
        with TransactWrite(connection=self.connection) as tx:  # type: ignore[attr-defined]
            for intent, status, reason in outcomes:
                item = NoteItem(pk=notify_pk(audience), sk=f"NOTE#{intent.intent_id}")
                actions: list[Action] = [NoteItem.status.set(status.value), NoteItem.expires_at.set(_expires(at))]
                if message_id is not None and status in (Status.SENT, Status.UNCONFIRMED):
                    actions.append(NoteItem.message_id.set(message_id))
                actions.append(NoteItem.reason.set(reason[:500]) if reason else NoteItem.reason.remove())
                if status in (Status.FAILED, Status.UNCONFIRMED):
                    actions += [NoteItem.outbox_pk.set(FAILED), NoteItem.outbox_sk.set(f"{at}#{intent.intent_id}")]
                else:
                    actions += [NoteItem.outbox_pk.remove(), NoteItem.outbox_sk.remove()]
                tx.update(item, actions=actions, condition=NoteItem.status == Status.PENDING.value)
            if token is not None:
                claim = ClaimItem(pk=notify_pk(audience), sk="CLAIM")
                tx.update(claim, actions=[ClaimItem.sending.remove(), ClaimItem.covers.remove()],
                          condition=ClaimItem.token == token)  # fmt: skip

    @storage
    def postpone(self, intents: Sequence[Intent], *, due_at: str, reason: str) -> None:
        """Try these again at ``due_at`` (SES was busy or failed for a while)."""
        for intent in intents:
            item = NoteItem(pk=notify_pk(intent.audience), sk=f"NOTE#{intent.intent_id}")
            try:
                item.update(
                    actions=[
                        NoteItem.attempts.add(1),
                        NoteItem.outbox_sk.set(f"{due_at}#{intent.intent_id}"),
                        NoteItem.due_at.set(due_at),
                        NoteItem.reason.set(reason[:500]),
                    ],
                    condition=NoteItem.status == Status.PENDING.value,
                )
            except UpdateError as exc:
                if getattr(exc, "cause_response_code", None) != "ConditionalCheckFailedException":
                    raise

    # -------------------------------------------------------------- suppression
    @storage
    def suppressed(self, addresses: Iterable[str], *, shop: str | None = None) -> dict[str, str]:
        """Of ``addresses``, those nothing more goes to (bounced, complained) and, with
        ``shop``, those that unsubscribed from its optional messages; with the reason."""
        wanted: dict[str, str] = {}
        for address in filter(None, addresses):
            digest = address_digest(address)
            wanted[_suppression_pk(digest)] = address
            if shop:
                wanted[_suppression_pk(digest, shop)] = address
        if not wanted:
            return {}
        found = {item.pk: item.reason for item in SuppressionItem.batch_get([(k, "SUPPRESS") for k in wanted])}
        out: dict[str, str] = {}
        for pk in sorted(found, key=lambda k: k.startswith("OPTOUT#")):  # a bounce outranks an unsubscribe
            out.setdefault(wanted[pk], found[pk])
        return out

    @storage
    def suppress(self, address: str, reason: str, *, at: str) -> None:
        """Send nothing more to ``address`` (SES reported a bounce or a complaint)."""
        SuppressionItem(pk=_suppression_pk(address_digest(address)), sk="SUPPRESS", reason=reason[:200], at=at).save()

    @storage
    def opt_out(self, shop: str, digest: str, reason: str, *, at: str) -> None:
        """The address with this digest unsubscribed from ``shop``'s optional messages."""
        SuppressionItem(pk=_suppression_pk(digest, shop), sk="SUPPRESS", reason=reason[:200], at=at).save()

    @storage
    def choice(self, choice_id: str) -> tuple[str, str] | None:
        """The action and time a choice was made with, if it was."""
        try:
            item = ChoiceItem.get(f"CHOICE#{choice_id}", "CHOICE", consistent_read=True)
        except ChoiceItem.DoesNotExist:
            return None
        return item.action, item.at


def settle_conflict(exc: TransactWriteError) -> bool:
    """Whether a settle failed on a condition (an intent settled meanwhile, a claim lost)."""
    codes = [r.code if r else None for r in (exc.cancellation_reasons or [])]
    return "ConditionalCheckFailed" in codes
