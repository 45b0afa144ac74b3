"""The tokens in a customer's links: signed, expiring, each naming one action.

A token is ``<payload>.<signature>``, both base64url: the payload is compact JSON (shop,
order, choice id, action, audience, expiry), the signature HMAC-SHA256 over the payload
with the service's key. It is not an API key: it can do exactly one thing, to one order,
until it expires. A choice's three links share one choice id, and the first one confirmed
uses it up (the adapter writes the choice once). Pure: the key and the clock come in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    WAIT = "wait"  # keep waiting for everything
    SHIP_NOW = "ship_now"  # ship what is in stock: a complete order becomes partial
    CANCEL = "cancel"  # cancel the backordered units
    UNSUBSCRIBE = "unsubscribe"  # no more optional messages (dates moved, fills)


CHOICE_DAYS = 30  # a choice link works this long
UNSUBSCRIBE_DAYS = 365
MAX_TOKEN = 1024


class BadToken(Exception):
    """A token that is not one of ours, was changed, or has expired (``reason``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "malformed" | "forged" | "expired"


@dataclass(frozen=True, slots=True)
class ChoiceToken:
    shop: str
    order_id: str
    choice_id: str
    action: Action
    expires: int  # seconds since the epoch
    address: str = ""  # for unsubscribe: the digest of the address whose optional messages stop


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(payload: str, key: bytes) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def sign(token: ChoiceToken, key: bytes) -> str:
    body = {"s": token.shop, "o": token.order_id, "c": token.choice_id, "a": token.action.value, "e": token.expires}
    if token.address:
        body["u"] = token.address
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_signature(payload, key)}"


def verify(text: str, keys: tuple[bytes, ...], *, now: int) -> ChoiceToken:
    """The token ``text`` says, if one of ``keys`` signed it and it has not expired."""
    if not text or len(text) > MAX_TOKEN or text.count(".") != 1:
        raise BadToken("malformed")
    payload, signature = text.split(".")
    if not any(hmac.compare_digest(_signature(payload, key), signature) for key in keys):
        raise BadToken("forged")
    try:
        body = json.loads(_unb64(payload))
        token = ChoiceToken(str(body["s"]), str(body["o"]), str(body["c"]), Action(body["a"]), int(body["e"]),
                            str(body.get("u") or ""))  # fmt: skip
    except (ValueError, KeyError, TypeError) as exc:
        raise BadToken("malformed") from exc
    if token.expires <= now:
        raise BadToken("expired")
    return token


def choice_id(message_id: str, order_id: str) -> str:
    """The id the three links of one order in one message share."""
    return hashlib.sha256(f"{message_id}\n{order_id}".encode()).hexdigest()[:32]
